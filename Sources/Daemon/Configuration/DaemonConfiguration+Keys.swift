import Gateway
import HTTPFront
import Logging
import Presence
import Primitives
import TOMLKit

/// The one table of polygated.conf's keys (see ``ConfigurationKey``): sections in the order of
/// the shipped file, each key with its type, bounds, description, reader and printer.
extension DaemonConfiguration {
    /// A `[section]` of the file: its keys, and the comment under its heading.
    struct Section: Sendable {
        var name: String
        var doc: [String]
        var keys: [ConfigurationKey]

        init(_ name: String, doc: [String] = [], _ keys: [ConfigurationKey]) {
            self.name = name
            self.doc = doc
            self.keys = keys.map { key in
                var key = key
                key.section = name
                return key
            }
        }
    }

    /// Every key, section by section.
    static var keys: [ConfigurationKey] { Self.sections.flatMap(\.keys) }

    /// The comment at the top of the shipped file.
    static let fileHeader = [
        "/etc/polygate/polygated.conf — configuration of polygated(8), in TOML.",
        "",
        "Every key is shown commented out with its default value; uncomment and edit to change it.",
        "Unknown sections or keys are an error (with the line number), so typos never pass silently.",
        "Check a file with:   polygated check-config --config /etc/polygate/polygated.conf",
        "Durations are strings with a unit (\"500ms\", \"10s\", \"2m\", \"1h\", \"30d\") or integers of seconds.",
        "Rates are \"<count>/<period>\", such as \"20/1m\".",
        "See polygated.conf(5) for the full description of each key. This file is generated:",
        "`polygated default-config` prints it (`make conf` in the source tree).",
    ]

    static let sections: [Section] = [
        Section("daemon", Self.daemonKeys),
        Section("http", Self.httpKeys),
        Section("database", Self.databaseKeys),
        Section(
            "metrics",
            [
                ConfigurationKey(
                    section: "",
                    name: "token",
                    kind: "string",
                    bounds: "empty, or at least 16 printable ASCII characters without spaces",
                    doc: [
                        "When set (at least 16 characters), GET /metrics requires \"Authorization: Bearer <token>\".",
                        "Empty: /metrics is open to anyone who can reach the HTTP listener.",
                    ],
                    apply: { value, configuration throws(ConfigurationKey.Problem) in
                        let token = try ConfigurationKey.readString(value)
                        // The value is secret: never echo it.
                        guard token.isEmpty || (token.count >= 16 && token.allSatisfy({ $0.isASCII && !$0.isWhitespace }))
                        else {
                            throw ConfigurationKey.Problem(
                                code: .invalidValue,
                                message: "must be empty or at least 16 printable ASCII characters without spaces"
                            )
                        }
                        configuration.metrics.token = token.isEmpty ? nil : token
                    },
                    render: { configuration in tomlString(configuration.metrics.token == nil ? "" : "********") }
                )
            ]
        ),
        Section(
            "gateway",
            doc: [
                "Limits of the realtime gateway (docs/GATEWAY_SPEC.md section 7). The gateway is served at",
                "GET /v1/gateway (WebSocket) and GET /v1/stream + POST /v1/send (SSE) on the [http] listener.",
            ],
            Self.gatewayKeys
        ),
        Section(
            "presence",
            doc: [
                "Presence is soft state: a connected device holds a lease, renewed by its Pings (or",
                "RenewLease); a user is online while a device of theirs holds one, on any daemon. Only mutual",
                "contacts see each other; last-seen is shown as a coarse bucket.",
            ],
            Self.presenceKeys
        ),
        Section(
            "blobs",
            doc: [
                "Encrypted attachments (docs/GATEWAY_SPEC.md section 13): ciphertext only, uploaded with",
                "POST /v1/blobs and served by GET /v1/blobs/ID, content-addressed and cacheable.",
            ],
            Self.blobKeys
        ),
        Section(
            "control",
            doc: [
                "The control sockets of gwctl(8) (docs/CONTROL_PROTOCOL.md). Under systemd the read-write",
                "socket comes from polygated-control.socket (named \"control\"; a read-only one needs a socket",
                "unit of its own named \"control-readonly\"); these paths apply when the daemon binds them.",
                "A socket is mode 0660: its group may administer the daemon (root always can). When the",
                "directory does not exist the daemon runs without that socket and logs a warning; \"\"",
                "disables a socket.",
            ],
            Self.controlKeys
        ),
        Section(
            "web",
            doc: [
                "The web client (the social feed in a browser) at /app/ on the [http] listener: plain files",
                "read at startup, served with a strict Content-Security-Policy; hashed assets are cacheable.",
            ],
            Self.webKeys
        ),
    ]

    private static let daemonKeys: [ConfigurationKey] = [
        .string(
            "gateway_id",
            \.daemon.gatewayID,
            bounds: "1 to 64 characters of A-Z a-z 0-9 _ . -",
            doc: [
                "Stable name of this deployment, reported as gateway_id / conv_home / origin_gateway in",
                "realtime responses. 1-64 characters of A-Z a-z 0-9 _ . -",
            ],
            check: { id throws(ConfigurationKey.Problem) in
                guard (1...64).contains(id.count),
                    id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
                else {
                    throw ConfigurationKey.Problem(
                        code: .invalidValue,
                        message: "must be 1-64 characters of A-Z a-z 0-9 _ . - (got \"\(id)\")"
                    )
                }
                return id
            }
        ),
        .choice(
            "log_level",
            \.daemon.logLevel,
            doc: [
                "Lowest level that is logged: trace, debug, info, notice, warning, error, critical.",
                "Under systemd, logs go to the journal with structured fields; otherwise to stderr.",
            ]
        ),
        .duration(
            "drain_timeout",
            \.daemon.drainTimeout,
            maximum: .seconds(3600),
            doc: ["On SIGTERM or SIGINT: how long to let requests in flight finish before closing them."]
        ),
        .boolean(
            "audit_to_log",
            \.daemon.auditToLog,
            doc: [
                "Also log every audit ledger event (device registered/revoked, authentication failures,",
                "KeyPackage claims, conversations, membership changes, rate-limit penalties) at \"notice\";",
                "under systemd that mirrors the ledger into the journal. The ledger table is always written.",
            ]
        ),
        .string(
            "state_directory",
            \.daemon.stateDirectory,
            bounds: "an absolute path",
            doc: [
                "Where polygated keeps files of its own: gateway-keys, the static keys of sealed sessions",
                "(created mode 0700 when missing; the file is 0600). Daemons sharing a database share the file.",
            ],
            check: { path throws(ConfigurationKey.Problem) in try directoryPath(path) }
        ),
    ]

    private static let httpKeys: [ConfigurationKey] = [
        .parsed(
            "listen",
            \.http.listen,
            bounds: "host:port or [ipv6]:port",
            doc: [
                "Address to bind when systemd did not pass a socket named \"http\" (socket activation).",
                "host:port, or [ipv6]:port. Port 0 picks a free port.",
            ],
            parse: { text throws(ConfigurationKey.Problem) in
                guard let address = ListenAddress(parsing: text) else {
                    throw ConfigurationKey.Problem(
                        code: .invalidValue,
                        message: "must be host:port or [ipv6]:port, e.g. \"127.0.0.1:8080\" (got \"\(text)\")"
                    )
                }
                return address
            },
            render: { "\($0)" }
        ),
        .duration(
            "idle_timeout",
            \.http.idleTimeout,
            maximum: .seconds(86400),
            doc: ["Keep-alive connections idle this long are closed."]
        ),
        .duration(
            "header_timeout",
            \.http.headerTimeout,
            maximum: .seconds(300),
            doc: [
                "A new connection that has sent no complete request head (or WebSocket upgrade) this long",
                "after it was accepted is closed, as is a keep-alive connection that has not sent its next",
                "request's head this long after a response (a client that sends nothing, or a header at a",
                "time, holds nothing for long).",
            ]
        ),
        .integer(
            "max_waiting_connections",
            \.http.maxWaitingConnections,
            1...1_000_000,
            doc: ["Connections that may wait for their first request head at once; more are closed on accept."]
        ),
        ConfigurationKey(
            section: "",
            name: "trusted_proxies",
            kind: "array of strings",
            bounds: "addresses and CIDR blocks",
            doc: [
                "Reverse proxies and CDN edges whose word about the client's address is taken (addresses and",
                "CIDR blocks, IPv4 and IPv6). When the TCP peer is one of them, the client's address is read",
                "from client_address_header; otherwise the header is ignored. The client's address is what",
                "the per-address limits, the audit ledger's \"ip\", gwctl conn list and ratelimit show use.",
                "Behind a proxy that is not listed here, every client shares the proxy's address.",
                "Example for nginx on this machine:  trusted_proxies = [\"127.0.0.1\", \"::1\"]",
            ],
            apply: { value, configuration throws(ConfigurationKey.Problem) in
                guard value.type == .array, let array = value.array else {
                    throw ConfigurationKey.wrongType(
                        "an array of addresses or CIDR blocks, e.g. [\"127.0.0.1/32\", \"::1\"]",
                        value
                    )
                }
                var networks: [IPNetwork] = []
                for element in array {
                    let text = try ConfigurationKey.readString(element)
                    guard let network = IPNetwork(text) else {
                        throw ConfigurationKey.Problem(
                            code: .invalidValue,
                            message:
                                "\"\(text)\" is not an IPv4 or IPv6 address or CIDR block such as \"10.0.0.0/8\" or \"2001:db8::/32\" (no host names; no bits set past the prefix length)"
                        )
                    }
                    networks.append(network)
                }
                configuration.http.clientAddresses.trustedProxies = networks
            },
            render: { configuration in
                "[" + configuration.http.clientAddresses.trustedProxies.map { tomlString("\($0)") }.joined(separator: ", ") + "]"
            }
        ),
        .parsed(
            "client_address_header",
            \.http.clientAddresses.header,
            bounds: ClientAddressPolicy.Header.allCases.map(\.rawValue).joined(separator: ", "),
            doc: [
                "\"X-Forwarded-For\" (read from the right: the first address that is not a trusted proxy),",
                "\"Forwarded\" (RFC 7239), \"CF-Connecting-IP\" (Cloudflare) or \"X-Real-IP\".",
            ],
            parse: { text throws(ConfigurationKey.Problem) in
                guard let header = ClientAddressPolicy.Header(named: text) else {
                    throw ConfigurationKey.Problem(
                        code: .invalidValue,
                        message:
                            "must be one of \(ClientAddressPolicy.Header.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) (got \"\(text)\")"
                    )
                }
                return header
            },
            render: { $0.rawValue }
        ),
        .parsed(
            "tls_certificate",
            \.http.tlsCertificate,
            bounds: "an absolute path, or empty",
            doc: [
                "Serve HTTPS instead of HTTP, for a deployment without a TLS proxy in front: the certificate",
                "chain (PEM, the server's own first) and its private key (PEM, not readable by other users:",
                "mode 0600, or 0640 with a group such as ssl-cert). Both or neither. Read again on SIGHUP",
                "(systemctl reload polygated) without dropping connections.",
            ],
            parse: { path throws(ConfigurationKey.Problem) in try filePath(path) },
            render: { $0 }
        ),
        .parsed(
            "tls_private_key",
            \.http.tlsPrivateKey,
            bounds: "an absolute path, or empty",
            doc: [],
            parse: { path throws(ConfigurationKey.Problem) in try filePath(path) },
            render: { $0 }
        ),
    ]

    private static let databaseKeys: [ConfigurationKey] = [
        .string(
            "url",
            \.database.url,
            doc: [
                "libpq connection URL or key=value string. The default reaches database \"polygate\" over the",
                "local Unix socket as the daemon's own system user (peer authentication).",
            ],
            check: { url throws(ConfigurationKey.Problem) in
                guard !url.isEmpty else { throw ConfigurationKey.Problem(code: .invalidValue, message: "must not be empty") }
                return url
            },
            render: { maskPassword(inURL: $0) }
        ),
        .integer(
            "pool_size",
            \.database.poolSize,
            1...1000,
            doc: ["Most connections the daemon opens. Requests beyond it are pipelined or wait."]
        ),
        .duration(
            "connect_timeout",
            \.database.connectTimeout,
            maximum: .seconds(600),
            doc: ["Limit for opening one connection."]
        ),
        .boolean(
            "migrate_on_start",
            \.database.migrateOnStart,
            doc: [
                "Apply pending schema migrations before becoming ready. When false, the daemon refuses to",
                "start while migrations are pending; run \"polygated migrate\" first.",
            ]
        ),
        .duration(
            "ready_timeout",
            \.database.readyTimeout,
            maximum: .seconds(60),
            doc: ["How long GET /readyz waits for the database before answering 503."]
        ),
    ]

    private static let gatewayKeys: [ConfigurationKey] = [
        .integer(
            "max_frame_bytes",
            \.gateway.maxFrameBytes,
            1024...(64 << 20),
            doc: ["Largest WebSocket frame; larger frames close the connection with 1009."]
        ),
        .integer(
            "max_message_bytes",
            \.gateway.maxMessageBytes,
            1024...(16 << 20),
            doc: ["Largest MLS message, Welcome or GroupInfo in one Send."]
        ),
        .integer(
            "send_queue_frames",
            \.gateway.sendQueueFrames,
            16...1_000_000,
            doc: ["Frames and bytes queued to one connection before it is closed as a slow consumer (4008)."]
        ),
        .integer("send_queue_bytes", \.gateway.sendQueueBytes, 65536...(1 << 30), doc: []),
        .rate(
            "connect_rate_per_ip",
            \.gateway.connectPerIP,
            doc: [
                "New connections per client IP. Every polychat command is a connection, and everyone behind",
                "one NAT address shares the bucket: the default is meant never to be met in normal use.",
            ]
        ),
        .integer("connect_burst_per_ip", \.gateway.connectPerIP.wholeBurst, 1...1_000_000, doc: []),
        .rate("send_rate_per_device", \.gateway.sendPerDevice, doc: ["Send requests per device."]),
        .integer("send_burst_per_device", \.gateway.sendPerDevice.wholeBurst, 1...1_000_000, doc: []),
        .rate("claim_rate_per_device", \.gateway.claimPerDevice, doc: ["KeyPackage claims per device."]),
        .integer("claim_burst_per_device", \.gateway.claimPerDevice.wholeBurst, 1...1_000_000, doc: []),
        .rate(
            "auth_failures_per_ip",
            \.gateway.authFailuresPerIP,
            burstIsCount: true,
            doc: ["Failed authentications per IP before the IP is refused for the rest of the period."]
        ),
        .duration(
            "pairing_ttl",
            \.gateway.pairingTTL,
            minimum: .seconds(1),
            maximum: .seconds(3600),
            doc: ["How long a pairing code (polychat devices link) works, from its making to the transfer."]
        ),
        .rate("pairing_rate_per_user", \.gateway.pairingsPerUser, doc: ["Pairing codes one user may make."]),
        .integer("pairing_burst_per_user", \.gateway.pairingsPerUser.wholeBurst, 1...1_000_000, doc: []),
        .rate(
            "pairing_attempts_per_ip",
            \.gateway.pairingAttemptsPerIP,
            doc: ["Reads and claims of pairing codes per client IP: each guess at a code is one."]
        ),
        .integer("pairing_attempts_burst_per_ip", \.gateway.pairingAttemptsPerIP.wholeBurst, 1...1_000_000, doc: []),
        .integer(
            "penalty_after_limits",
            \.gateway.penaltyAfterLimits,
            1...1000,
            doc: ["Rate-limit refusals within a minute before the connection is closed (4029)."]
        ),
        .duration(
            "ping_interval",
            \.gateway.pingInterval,
            maximum: .seconds(25),
            doc: ["Interval of the client's application ping."]
        ),
        .duration(
            "auth_timeout",
            \.gateway.authTimeout,
            maximum: .seconds(120),
            doc: ["Time a new connection has to authenticate (else close 4002)."]
        ),
        .integer(
            "max_unauthenticated",
            \.gateway.maxUnauthenticated,
            1...1_000_000,
            doc: ["Connections that may wait to authenticate at once; more are answered 503 (Retry-After: 1)."]
        ),
        .duration("resume_ttl", \.gateway.resumeTTL, maximum: .seconds(86400), doc: ["How long a resume token is valid."]),
        .integer(
            "key_packages_per_upload",
            \.gateway.keyPackagesPerUpload,
            1...10_000,
            doc: ["KeyPackages per upload request, stored per device and suite, and the low-pool warning level."]
        ),
        .integer("key_packages_per_device", \.gateway.keyPackagesPerDevice, 1...100_000, doc: []),
        .integer("key_packages_low", \.gateway.keyPackagesLow, 0...100_000, doc: []),
        .integer("past_epochs", \.gateway.pastEpochs, 0...100, doc: ["Epochs back an application message may be from."]),
        .duration(
            "retention",
            \.gateway.retention,
            maximum: .seconds(10 * 365 * 86400),
            doc: ["How long conversation logs are kept."]
        ),
        .duration(
            "key_package_max_lifetime",
            \.gateway.keyPackageMaxLifetime,
            minimum: .seconds(3600),
            maximum: .seconds(10 * 365 * 86400),
            doc: [
                "The longest total lifetime (not_after - not_before) of an uploaded KeyPackage (RFC 9420",
                "section 7.2); longer ones are refused, and expired ones are deleted.",
            ]
        ),
        .integer(
            "max_members",
            \.gateway.maxMembers,
            2...1_000_000,
            doc: [
                "Members a conversation may have, and users one Commit may add (only users with an active",
                "device can be added).",
            ]
        ),
        .integer("max_added_per_commit", \.gateway.maxAddedPerCommit, 1...10_000, doc: []),
        .choice(
            "sealed",
            \.gateway.sealed,
            doc: [
                "Sealed sessions (docs/GATEWAY_SPEC.md section 14): a Noise channel inside the WebSocket",
                "(GET /v1/sealed) or SSE stream (GET /v1/sealed/stream), so that a proxy or CDN terminating",
                "TLS sees no ids, keys or messages.",
                "\"required\": only sealed sessions; \"optional\": clients choose; \"off\": only plain ones.",
            ]
        ),
        .parsed(
            "sealed_padding",
            \.gateway.sealedPadding,
            bounds: "increasing sizes from 64 to 1048576, separated by commas",
            doc: [
                "The sizes (bytes) the gateway pads its sealed frames to; past the last, a multiple of it.",
                "Fewer, larger buckets hide more about sizes and cost more bytes. Clients pick their own.",
            ],
            parse: { text throws(ConfigurationKey.Problem) in
                let sizes = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil && (64...(1 << 20)).contains($0!) }),
                    zip(sizes, sizes.dropFirst()).allSatisfy({ $0! < $1! })
                else {
                    throw ConfigurationKey.Problem(
                        code: .invalidValue,
                        message:
                            "must be increasing sizes from 64 to 1048576, separated by commas, like \"256,1024,4096\" (got \"\(text)\")"
                    )
                }
                return sizes.compactMap { $0 }
            },
            render: { $0.map(String.init).joined(separator: ",") }
        ),
        .duration(
            "sealed_key_overlap",
            \.gateway.sealedKeyOverlap,
            maximum: .seconds(365 * 86400),
            doc: [
                "After polygated rotate-keys: how long the replaced sealed-session key is still accepted",
                "(and listed by GET /v1/info and polygated show-key).",
            ]
        ),
    ]

    private static let presenceKeys: [ConfigurationKey] = [
        .duration(
            "lease_ttl",
            \.presence.leaseTTL,
            minimum: .seconds(1),
            maximum: .seconds(3600),
            doc: [
                "A lease not renewed for this long ends (the user looks offline within it, even if the",
                "connection seems alive). Also how long another daemon's announcements last without its",
                "heartbeat.",
            ]
        ),
        .duration(
            "coalesce",
            \.presence.coalesce,
            maximum: .seconds(60),
            doc: ["Changes of one user within this window reach watchers as one notification (or none)."]
        ),
        .integer(
            "max_watched",
            \.presence.maxWatched,
            1...10_000,
            doc: ["Users one connection may watch at once; more is refused with watch_limit."]
        ),
        .rate("watch_rate", \.presence.watch, doc: ["Watch requests per device."]),
        .integer("watch_burst", \.presence.watch.wholeBurst, 1...1_000_000, doc: []),
    ]

    private static let blobKeys: [ConfigurationKey] = [
        .string(
            "directory",
            \.blobs.directory,
            bounds: "an absolute path",
            doc: ["Where blobs are stored (created mode 0750 when missing)."],
            check: { path throws(ConfigurationKey.Problem) in try directoryPath(path) }
        ),
        .integer("max_size", \.blobs.maxSize, 1024...(1 << 40), doc: ["The largest blob, in bytes."]),
        .integer(
            "quota_per_user",
            \.blobs.quotaPerUser,
            1024...(1 << 50),
            doc: ["What one user's blobs may add up to, in bytes."]
        ),
        .duration(
            "retention",
            \.blobs.retention,
            minimum: .seconds(1),
            maximum: .seconds(3650 * 24 * 3600),
            doc: ["How long a blob is kept after its upload; then it is deleted."]
        ),
    ]

    private static let controlKeys: [ConfigurationKey] = [
        .string(
            "listen",
            \.control.listen,
            bounds: "a socket path shorter than 108 bytes, or empty",
            doc: [],
            check: { path throws(ConfigurationKey.Problem) in try socketPath(path) }
        ),
        .string(
            "group",
            \.control.group,
            bounds: "a group name",
            doc: [],
            check: { name throws(ConfigurationKey.Problem) in try groupName(name) }
        ),
        .string(
            "readonly_listen",
            \.control.readOnlyListen,
            bounds: "a socket path shorter than 108 bytes, or empty",
            doc: ["A second socket on which only commands that change nothing are accepted (\"\" for none)."],
            check: { path throws(ConfigurationKey.Problem) in try socketPath(path) }
        ),
        .string(
            "readonly_group",
            \.control.readOnlyGroup,
            bounds: "a group name, or empty",
            doc: ["Its group (\"\" for the same as group)."],
            check: { name throws(ConfigurationKey.Problem) in try groupName(name) }
        ),
    ]

    private static let webKeys: [ConfigurationKey] = [
        .boolean("enabled", \.web.enabled, doc: ["Serve the web client at /app/ (and redirect / to it)."]),
        .string(
            "root",
            \.web.root,
            bounds: "an absolute path",
            doc: ["Its files: index.html and assets/ (the package installs them here)."],
            check: { path throws(ConfigurationKey.Problem) in try directoryPath(path) }
        ),
    ]

    // MARK: - Checks of string values

    /// A Unix socket path ("" disables the socket).
    private static func socketPath(_ path: String) throws(ConfigurationKey.Problem) -> String {
        guard path.utf8.count < 108 else {
            throw ConfigurationKey.Problem(code: .invalidValue, message: "must be shorter than 108 bytes (a socket path)")
        }
        guard !path.contains("\0") else { throw ConfigurationKey.Problem(code: .invalidValue, message: "must not contain NUL") }
        return path
    }

    /// An absolute directory path.
    private static func directoryPath(_ path: String) throws(ConfigurationKey.Problem) -> String {
        guard path.hasPrefix("/") else {
            throw ConfigurationKey.Problem(code: .invalidValue, message: "must be an absolute path")
        }
        return path
    }

    /// An absolute file path, or "" for none.
    private static func filePath(_ path: String) throws(ConfigurationKey.Problem) -> String {
        guard path.isEmpty || path.hasPrefix("/") else {
            throw ConfigurationKey.Problem(
                code: .invalidValue,
                message: "must be an absolute path such as \"/etc/polygate/tls/fullchain.pem\" (got \"\(path)\")"
            )
        }
        return path
    }

    /// A group name ("" keeps the daemon's own group).
    private static func groupName(_ name: String) throws(ConfigurationKey.Problem) -> String {
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw ConfigurationKey.Problem(code: .invalidValue, message: "must be a group name (letters, digits, '-', '_', '.')")
        }
        return name
    }
}
