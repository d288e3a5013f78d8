import Gateway
import HTTPFront
import Logging
import Presence
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

extension DaemonConfiguration {
    /// Reads and validates the TOML file at `path`. Absent keys keep their defaults.
    ///
    /// - Throws: ``ConfigurationError`` naming the file, line and key of the first problem.
    public static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        guard let text = readTextFile(path) else {
            throw ConfigurationError(
                code: .unreadable,
                file: path,
                message: "cannot read the configuration file (\(errnoText()))"
            )
        }
        return try Self.parse(text, file: path)
    }

    /// Parses and validates configuration text; `file` is used in error messages.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        if let (line, message) = TOMLPrecheck.problem(in: text) {
            throw ConfigurationError(code: .syntax, file: file, line: line, message: "TOML syntax error: \(message)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                code: .syntax,
                file: file,
                line: error.source.begin.line,
                message: "TOML syntax error: \(error.description)"
            )
        } catch {
            throw ConfigurationError(code: .syntax, file: file, message: "TOML syntax error: \(error)")
        }
        let locator = TOMLKeyLocator(source: text)
        var configuration = DaemonConfiguration()
        for (sectionName, sectionValue) in table {
            guard let keys = Self.schema[sectionName] else {
                throw ConfigurationError(
                    code: .unknownSection,
                    file: file,
                    line: locator.line(of: [sectionName]) ?? locator.line(of: [sectionName, ""]),
                    key: sectionName,
                    message:
                        "unknown section [\(sectionName)]; known sections are \(Self.schema.keys.sorted().map { "[\($0)]" }.joined(separator: ", "))"
                )
            }
            guard let section = sectionValue.table else {
                throw ConfigurationError(
                    code: .wrongType,
                    file: file,
                    line: locator.line(of: [sectionName]),
                    key: sectionName,
                    message: "'\(sectionName)' must be a table ([\(sectionName)]), not a \(sectionValue.type)"
                )
            }
            for (keyName, value) in section {
                let dotted = "\(sectionName).\(keyName)"
                let line = locator.line(of: [sectionName, keyName])
                guard let spec = keys.first(where: { $0.name == keyName }) else {
                    let known = keys.map { "\(sectionName).\($0.name)" }.joined(separator: ", ")
                    throw ConfigurationError(
                        code: .unknownKey,
                        file: file,
                        line: line,
                        key: dotted,
                        message: "unknown key '\(dotted)'; [\(sectionName)] accepts \(known)"
                    )
                }
                do {
                    try spec.apply(value, &configuration)
                } catch {
                    throw ConfigurationError(
                        code: error.code,
                        file: file,
                        line: line,
                        key: dotted,
                        message: "\(dotted): \(error.message)"
                    )
                }
            }
        }
        if let tls = configuration.http.tls, tls.certificate.isEmpty || tls.privateKey.isEmpty {
            let (set, missing) =
                tls.certificate.isEmpty ? ("tls_private_key", "tls_certificate") : ("tls_certificate", "tls_private_key")
            throw ConfigurationError(
                code: .invalidValue,
                file: file,
                line: locator.line(of: ["http", set]),
                key: "http.\(missing)",
                message:
                    "http.\(set) is set but http.\(missing) is not: give both PEM files (the certificate chain and its key) or neither"
            )
        }
        return configuration
    }

    // MARK: - Schema

    /// Every key the file accepts, as `section.key`, in schema order within sorted sections.
    static var knownKeys: [String] {
        Self.schema.keys.sorted().flatMap { section in Self.schema[section, default: []].map { "\(section).\($0.name)" } }
    }

    private struct Problem: Error {
        var code: ConfigurationError.Code
        var message: String
    }

    private struct KeySpec: Sendable {
        var name: String
        var apply: @Sendable (any TOMLValueConvertible, inout DaemonConfiguration) throws(Problem) -> Void
    }

    private static let schema: [String: [KeySpec]] = [
        "daemon": [
            KeySpec(name: "gateway_id") { value, configuration throws(Problem) in
                let id = try string(value)
                guard (1...64).contains(id.count),
                    id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
                else {
                    throw Problem(code: .invalidValue, message: "must be 1-64 characters of A-Z a-z 0-9 _ . - (got \"\(id)\")")
                }
                configuration.daemon.gatewayID = id
            },
            KeySpec(name: "log_level") { value, configuration throws(Problem) in
                let text = try string(value)
                guard let level = Logger.Level(rawValue: text) else {
                    throw Problem(
                        code: .invalidValue,
                        message:
                            "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(text)\")"
                    )
                }
                configuration.daemon.logLevel = level
            },
            KeySpec(name: "drain_timeout") { value, configuration throws(Problem) in
                configuration.daemon.drainTimeout = try duration(value, maximum: .seconds(3600))
            },
            KeySpec(name: "audit_to_log") { value, configuration throws(Problem) in
                configuration.daemon.auditToLog = try boolean(value)
            },
        ],
        "http": [
            KeySpec(name: "listen") { value, configuration throws(Problem) in
                let text = try string(value)
                guard let address = ListenAddress(parsing: text) else {
                    throw Problem(
                        code: .invalidValue,
                        message: "must be host:port or [ipv6]:port, e.g. \"127.0.0.1:8080\" (got \"\(text)\")"
                    )
                }
                configuration.http.listen = address
            },
            KeySpec(name: "idle_timeout") { value, configuration throws(Problem) in
                configuration.http.idleTimeout = try duration(value, maximum: .seconds(86400))
            },
            KeySpec(name: "header_timeout") { value, configuration throws(Problem) in
                configuration.http.headerTimeout = try duration(value, maximum: .seconds(300))
            },
            KeySpec(name: "max_waiting_connections") { value, configuration throws(Problem) in
                configuration.http.maxWaitingConnections = try integer(value, in: 1...1_000_000)
            },
            KeySpec(name: "trusted_proxies") { value, configuration throws(Problem) in
                guard value.type == .array, let array = value.array else {
                    throw wrongType("an array of addresses or CIDR blocks, e.g. [\"127.0.0.1/32\", \"::1\"]", value)
                }
                var networks: [IPNetwork] = []
                for element in array {
                    let text = try string(element)
                    guard let network = IPNetwork(text) else {
                        throw Problem(
                            code: .invalidValue,
                            message:
                                "\"\(text)\" is not an IPv4 or IPv6 address or CIDR block such as \"10.0.0.0/8\" or \"2001:db8::/32\" (no host names; no bits set past the prefix length)"
                        )
                    }
                    networks.append(network)
                }
                configuration.http.clientAddresses.trustedProxies = networks
            },
            KeySpec(name: "client_address_header") { value, configuration throws(Problem) in
                let text = try string(value)
                guard let header = ClientAddressPolicy.Header(named: text) else {
                    throw Problem(
                        code: .invalidValue,
                        message:
                            "must be one of \(ClientAddressPolicy.Header.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) (got \"\(text)\")"
                    )
                }
                configuration.http.clientAddresses.header = header
            },
            KeySpec(name: "tls_certificate") { value, configuration throws(Problem) in
                let path = try filePath(value)
                var files = configuration.http.tls ?? ServerTLS.Files(certificate: "", privateKey: "")
                files.certificate = path
                configuration.http.tls = files.certificate.isEmpty && files.privateKey.isEmpty ? nil : files
            },
            KeySpec(name: "tls_private_key") { value, configuration throws(Problem) in
                let path = try filePath(value)
                var files = configuration.http.tls ?? ServerTLS.Files(certificate: "", privateKey: "")
                files.privateKey = path
                configuration.http.tls = files.certificate.isEmpty && files.privateKey.isEmpty ? nil : files
            },
        ],
        "database": [
            KeySpec(name: "url") { value, configuration throws(Problem) in
                let url = try string(value)
                guard !url.isEmpty else { throw Problem(code: .invalidValue, message: "must not be empty") }
                configuration.database.url = url
            },
            KeySpec(name: "pool_size") { value, configuration throws(Problem) in
                configuration.database.poolSize = try integer(value, in: 1...1000)
            },
            KeySpec(name: "connect_timeout") { value, configuration throws(Problem) in
                configuration.database.connectTimeout = try duration(value, maximum: .seconds(600))
            },
            KeySpec(name: "migrate_on_start") { value, configuration throws(Problem) in
                configuration.database.migrateOnStart = try boolean(value)
            },
            KeySpec(name: "ready_timeout") { value, configuration throws(Problem) in
                configuration.database.readyTimeout = try duration(value, maximum: .seconds(60))
            },
        ],
        "metrics": [
            KeySpec(name: "token") { value, configuration throws(Problem) in
                let token = try string(value)
                if token.isEmpty {
                    configuration.metrics.token = nil
                    return
                }
                // The value is secret: never echo it.
                guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                    throw Problem(
                        code: .invalidValue,
                        message: "must be empty or at least 16 printable ASCII characters without spaces"
                    )
                }
                configuration.metrics.token = token
            }
        ],
        "gateway": [
            KeySpec(name: "max_frame_bytes") { value, configuration throws(Problem) in
                configuration.gateway.maxFrameBytes = try integer(value, in: 1024...(64 << 20))
            },
            KeySpec(name: "max_message_bytes") { value, configuration throws(Problem) in
                configuration.gateway.maxMessageBytes = try integer(value, in: 1024...(16 << 20))
            },
            KeySpec(name: "send_queue_frames") { value, configuration throws(Problem) in
                configuration.gateway.sendQueueFrames = try integer(value, in: 16...1_000_000)
            },
            KeySpec(name: "send_queue_bytes") { value, configuration throws(Problem) in
                configuration.gateway.sendQueueBytes = try integer(value, in: 65536...(1 << 30))
            },
            KeySpec(name: "connect_rate_per_ip") { value, configuration throws(Problem) in
                try rate(value, into: &configuration.gateway.connectPerIP)
            },
            KeySpec(name: "connect_burst_per_ip") { value, configuration throws(Problem) in
                configuration.gateway.connectPerIP.burst = Double(try integer(value, in: 1...1_000_000))
            },
            KeySpec(name: "send_rate_per_device") { value, configuration throws(Problem) in
                try rate(value, into: &configuration.gateway.sendPerDevice)
            },
            KeySpec(name: "send_burst_per_device") { value, configuration throws(Problem) in
                configuration.gateway.sendPerDevice.burst = Double(try integer(value, in: 1...1_000_000))
            },
            KeySpec(name: "claim_rate_per_device") { value, configuration throws(Problem) in
                try rate(value, into: &configuration.gateway.claimPerDevice)
            },
            KeySpec(name: "claim_burst_per_device") { value, configuration throws(Problem) in
                configuration.gateway.claimPerDevice.burst = Double(try integer(value, in: 1...1_000_000))
            },
            KeySpec(name: "auth_failures_per_ip") { value, configuration throws(Problem) in
                // Failures allowed per period: the burst is the count.
                try rate(value, into: &configuration.gateway.authFailuresPerIP)
                configuration.gateway.authFailuresPerIP.burst = configuration.gateway.authFailuresPerIP.rate
            },
            KeySpec(name: "penalty_after_limits") { value, configuration throws(Problem) in
                configuration.gateway.penaltyAfterLimits = try integer(value, in: 1...1000)
            },
            KeySpec(name: "ping_interval") { value, configuration throws(Problem) in
                configuration.gateway.pingInterval = try duration(value, maximum: .seconds(25))
            },
            KeySpec(name: "auth_timeout") { value, configuration throws(Problem) in
                configuration.gateway.authTimeout = try duration(value, maximum: .seconds(120))
            },
            KeySpec(name: "max_unauthenticated") { value, configuration throws(Problem) in
                configuration.gateway.maxUnauthenticated = try integer(value, in: 1...1_000_000)
            },
            KeySpec(name: "resume_ttl") { value, configuration throws(Problem) in
                configuration.gateway.resumeTTL = try duration(value, maximum: .seconds(86400))
            },
            KeySpec(name: "key_packages_per_upload") { value, configuration throws(Problem) in
                configuration.gateway.keyPackagesPerUpload = try integer(value, in: 1...10_000)
            },
            KeySpec(name: "key_packages_per_device") { value, configuration throws(Problem) in
                configuration.gateway.keyPackagesPerDevice = try integer(value, in: 1...100_000)
            },
            KeySpec(name: "key_packages_low") { value, configuration throws(Problem) in
                configuration.gateway.keyPackagesLow = try integer(value, in: 0...100_000)
            },
            KeySpec(name: "past_epochs") { value, configuration throws(Problem) in
                configuration.gateway.pastEpochs = UInt64(try integer(value, in: 0...100))
            },
            KeySpec(name: "retention") { value, configuration throws(Problem) in
                configuration.gateway.retention = try duration(value, maximum: .seconds(10 * 365 * 86400))
            },
            KeySpec(name: "max_members") { value, configuration throws(Problem) in
                configuration.gateway.maxMembers = try integer(value, in: 2...1_000_000)
            },
            KeySpec(name: "max_added_per_commit") { value, configuration throws(Problem) in
                configuration.gateway.maxAddedPerCommit = try integer(value, in: 1...10_000)
            },
            KeySpec(name: "key_package_max_lifetime") { value, configuration throws(Problem) in
                let lifetime = try duration(value, maximum: .seconds(10 * 365 * 86400))
                guard lifetime >= .seconds(3600) else { throw Problem(code: .invalidValue, message: "must be at least 1h") }
                configuration.gateway.keyPackageMaxLifetime = lifetime
            },
        ],
        "presence": [
            KeySpec(name: "lease_ttl") { value, configuration throws(Problem) in
                let ttl = try duration(value, maximum: .seconds(3600))
                guard ttl >= .seconds(1) else { throw Problem(code: .invalidValue, message: "must be at least 1s") }
                configuration.presence.leaseTTL = ttl
            },
            KeySpec(name: "coalesce") { value, configuration throws(Problem) in
                configuration.presence.coalesce = try duration(value, maximum: .seconds(60))
            },
            KeySpec(name: "max_watched") { value, configuration throws(Problem) in
                configuration.presence.maxWatched = try integer(value, in: 1...10_000)
            },
            KeySpec(name: "watch_rate") { value, configuration throws(Problem) in
                var shape = GatewayLimits.Rate(
                    configuration.presence.watchRate,
                    per: configuration.presence.watchPeriod,
                    burst: 0
                )
                try rate(value, into: &shape)
                configuration.presence.watchRate = shape.rate
                configuration.presence.watchPeriod = shape.per
            },
            KeySpec(name: "watch_burst") { value, configuration throws(Problem) in
                configuration.presence.watchBurst = Double(try integer(value, in: 1...1_000_000))
            },
        ],
        "control": [
            KeySpec(name: "listen") { value, configuration throws(Problem) in
                configuration.control.listen = try socketPath(value)
            },
            KeySpec(name: "group") { value, configuration throws(Problem) in
                configuration.control.group = try groupName(value)
            },
            KeySpec(name: "readonly_listen") { value, configuration throws(Problem) in
                configuration.control.readOnlyListen = try socketPath(value)
            },
            KeySpec(name: "readonly_group") { value, configuration throws(Problem) in
                configuration.control.readOnlyGroup = try groupName(value)
            },
        ],
    ]

    // MARK: - Value parsers

    /// A Unix socket path ("" disables the socket).
    private static func socketPath(_ value: any TOMLValueConvertible) throws(Problem) -> String {
        let path = try string(value)
        guard path.utf8.count < 108 else {
            throw Problem(code: .invalidValue, message: "must be shorter than 108 bytes (a socket path)")
        }
        guard !path.contains("\0") else { throw Problem(code: .invalidValue, message: "must not contain NUL") }
        return path
    }

    /// An absolute file path, or "" for none.
    private static func filePath(_ value: any TOMLValueConvertible) throws(Problem) -> String {
        let path = try string(value)
        guard path.isEmpty || path.hasPrefix("/") else {
            throw Problem(
                code: .invalidValue,
                message: "must be an absolute path such as \"/etc/polygate/tls/fullchain.pem\" (got \"\(path)\")"
            )
        }
        return path
    }

    /// A group name ("" keeps the daemon's own group).
    private static func groupName(_ value: any TOMLValueConvertible) throws(Problem) -> String {
        let name = try string(value)
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw Problem(code: .invalidValue, message: "must be a group name (letters, digits, '-', '_', '.')")
        }
        return name
    }

    private static func string(_ value: any TOMLValueConvertible) throws(Problem) -> String {
        guard value.type == .string, let text = value.string else { throw wrongType("a string", value) }
        return text
    }

    private static func integer(_ value: any TOMLValueConvertible, in range: ClosedRange<Int>) throws(Problem) -> Int {
        guard value.type == .int, let number = value.int else { throw wrongType("an integer", value) }
        guard range.contains(number) else {
            throw Problem(
                code: .invalidValue,
                message: "must be between \(range.lowerBound) and \(range.upperBound) (got \(number))"
            )
        }
        return number
    }

    private static func boolean(_ value: any TOMLValueConvertible) throws(Problem) -> Bool {
        guard value.type == .bool, let flag = value.bool else { throw wrongType("true or false", value) }
        return flag
    }

    /// A duration: a string with a unit (`"500ms"`, `"10s"`, `"2m"`, `"1h"`) or an integer of seconds.
    private static func duration(_ value: any TOMLValueConvertible, maximum: Duration) throws(Problem) -> Duration {
        let result: Duration
        if value.type == .int, let seconds = value.int {
            result = .seconds(seconds)
        } else if value.type == .string, let text = value.string, let parsed = parseDuration(text) {
            result = parsed
        } else if value.type == .string {
            throw Problem(
                code: .invalidValue,
                message:
                    "must be a duration such as \"500ms\", \"10s\", \"2m\", \"1h\" or \"30d\" (got \"\(value.string ?? "")\")"
            )
        } else {
            throw wrongType("a duration such as \"10s\"", value)
        }
        guard result > .zero, result <= maximum else {
            throw Problem(code: .invalidValue, message: "must be more than 0 and at most \(formatDuration(maximum))")
        }
        return result
    }

    /// A rate: `"<count>/<period>"` such as `"20/1m"` or `"50/1s"`; the count must be positive.
    private static func rate(_ value: any TOMLValueConvertible, into shape: inout GatewayLimits.Rate) throws(Problem) {
        let text = try string(value)
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let count = Int(parts[0]), count > 0, let period = parseDuration(String(parts[1])), period > .zero
        else {
            throw Problem(code: .invalidValue, message: "must be \"<count>/<period>\" such as \"20/1m\" (got \"\(text)\")")
        }
        shape.rate = Double(count)
        shape.per = period
    }

    private static func wrongType(_ expected: String, _ value: any TOMLValueConvertible) -> Problem {
        Problem(code: .wrongType, message: "must be \(expected), not a TOML \(value.type)")
    }
}

/// `"250ms"`, `"10s"`, `"2m"`, `"1h"` → Duration.
func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Int64(number), value >= 0,
            value <= Int64.max / milliseconds
        else { continue }
        return .milliseconds(value * milliseconds)
    }
    return nil
}

/// Reads a whole file as UTF-8, or nil (errno set) when it cannot be read.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count > 0 { bytes.append(contentsOf: buffer[0..<count]) }
        if count < buffer.count {
            if ferror(file) != 0 { return nil }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
