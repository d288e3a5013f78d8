import Control
public import Gateway
public import HTTPFront
public import Logging
public import Presence

/// Everything `polygated` reads from its configuration file, with the defaults that apply when a
/// key is absent. Every key is documented in `etc/polygate/polygated.conf` and polygated.conf(5).
public struct DaemonConfiguration: Sendable, Hashable {
    /// `[daemon]`
    public struct Daemon: Sendable, Hashable {
        /// `gateway_id`: this deployment's stable name, reported in every realtime response.
        public var gatewayID = "gw_local"
        /// `log_level`: trace, debug, info, notice, warning, error or critical.
        public var logLevel = Logger.Level.info
        /// `drain_timeout`: how long a graceful shutdown waits for requests in flight.
        public var drainTimeout = Duration.seconds(10)
        /// `audit_to_log`: also log every audit ledger event (at `notice`; under systemd, to the journal).
        public var auditToLog = true
        public init() {}
    }

    /// `[http]`
    public struct HTTP: Sendable, Hashable {
        /// `listen`: address to bind when systemd did not pass a socket named `http`.
        public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
        /// `idle_timeout`: keep-alive connections idle this long are closed.
        public var idleTimeout = Duration.seconds(60)
        /// `header_timeout`: a connection that owes a request head (a new one, or a keep-alive
        /// one after a response) and has not sent one complete (or a WebSocket upgrade) this
        /// long is closed.
        public var headerTimeout = Duration.seconds(10)
        /// `max_waiting_connections`: connections that may wait for their first request head
        /// at once; more are closed on accept.
        public var maxWaitingConnections = 1024
        /// `trusted_proxies` and `client_address_header`: whose word about the client's
        /// address is taken (none by default: the TCP peer is the client).
        public var clientAddresses = ClientAddressPolicy()
        /// `tls_certificate` and `tls_private_key`: serve HTTPS on the listener with these PEM
        /// files (none: plain HTTP, for a proxy in front).
        public var tls: ServerTLS.Files?
        public init() {}
    }

    /// `[database]`
    public struct Database: Sendable, Hashable {
        /// `url`: libpq connection URL or key=value string. The default reaches database
        /// `polygate` over the local Unix socket as the daemon's own user (peer authentication).
        public var url = "postgresql:///polygate"
        /// `pool_size`: most connections the daemon opens.
        public var poolSize = 10
        /// `connect_timeout`: limit for opening one connection.
        public var connectTimeout = Duration.seconds(10)
        /// `migrate_on_start`: apply pending migrations before becoming ready.
        public var migrateOnStart = true
        /// `ready_timeout`: how long `/readyz` waits for the database.
        public var readyTimeout = Duration.seconds(2)
        public init() {}
    }

    /// `[metrics]`
    public struct Metrics: Sendable, Hashable {
        /// `token`: when set, `/metrics` requires `Authorization: Bearer <token>`.
        public var token: String?
        public init() {}
    }

    /// `[control]`
    public struct Control: Sendable, Hashable {
        /// `listen`: the read-write control socket's path when systemd did not pass one named
        /// `control` ("" disables it).
        public var listen = "/run/polygate/control.sock"
        /// `group`: the group that may use it (mode 0660).
        public var group = "polygate-admin"
        /// `readonly_listen`: an optional read-only control socket ("" for none).
        public var readOnlyListen = ""
        /// `readonly_group`: the group of the read-only socket ("": the same as `group`).
        public var readOnlyGroup = ""
        public init() {}
    }

    public var daemon = Daemon()
    public var http = HTTP()
    public var database = Database()
    public var metrics = Metrics()
    /// `[gateway]`: the realtime gateway's limits (docs/GATEWAY_SPEC.md §7).
    public var gateway = GatewayLimits()
    /// `[presence]`: leases, coalescing and watchlists (docs/GATEWAY_SPEC.md §10).
    public var presence = PresenceLimits()
    /// `[control]`: the control sockets gwctl uses (docs/CONTROL_PROTOCOL.md).
    public var control = Control()

    /// The defaults.
    public init() {}

    /// The default location of the configuration file.
    public static let defaultPath = "/etc/polygate/polygated.conf"
}

extension DaemonConfiguration: CustomStringConvertible {
    /// The effective settings as TOML, with secrets masked (the database URL's password and the
    /// metrics token).
    public var description: String {
        """
        [daemon]
        gateway_id = "\(self.daemon.gatewayID)"
        log_level = "\(self.daemon.logLevel)"
        drain_timeout = "\(formatDuration(self.daemon.drainTimeout))"
        audit_to_log = \(self.daemon.auditToLog)

        [http]
        listen = "\(self.http.listen)"
        idle_timeout = "\(formatDuration(self.http.idleTimeout))"
        header_timeout = "\(formatDuration(self.http.headerTimeout))"
        max_waiting_connections = \(self.http.maxWaitingConnections)
        trusted_proxies = [\(self.http.clientAddresses.trustedProxies.map { "\"\($0)\"" }.joined(separator: ", "))]
        client_address_header = "\(self.http.clientAddresses.header.rawValue)"
        tls_certificate = "\(self.http.tls?.certificate ?? "")"
        tls_private_key = "\(self.http.tls?.privateKey ?? "")"

        [database]
        url = "\(maskPassword(inURL: self.database.url))"
        pool_size = \(self.database.poolSize)
        connect_timeout = "\(formatDuration(self.database.connectTimeout))"
        migrate_on_start = \(self.database.migrateOnStart)
        ready_timeout = "\(formatDuration(self.database.readyTimeout))"

        [metrics]
        token = "\(self.metrics.token == nil ? "" : "********")"

        [gateway]
        max_frame_bytes = \(self.gateway.maxFrameBytes)
        max_message_bytes = \(self.gateway.maxMessageBytes)
        send_queue_frames = \(self.gateway.sendQueueFrames)
        send_queue_bytes = \(self.gateway.sendQueueBytes)
        connect_rate_per_ip = "\(formatRate(self.gateway.connectPerIP))"
        connect_burst_per_ip = \(Int(self.gateway.connectPerIP.burst))
        send_rate_per_device = "\(formatRate(self.gateway.sendPerDevice))"
        send_burst_per_device = \(Int(self.gateway.sendPerDevice.burst))
        claim_rate_per_device = "\(formatRate(self.gateway.claimPerDevice))"
        claim_burst_per_device = \(Int(self.gateway.claimPerDevice.burst))
        auth_failures_per_ip = "\(formatRate(self.gateway.authFailuresPerIP))"
        penalty_after_limits = \(self.gateway.penaltyAfterLimits)
        ping_interval = "\(formatDuration(self.gateway.pingInterval))"
        auth_timeout = "\(formatDuration(self.gateway.authTimeout))"
        max_unauthenticated = \(self.gateway.maxUnauthenticated)
        resume_ttl = "\(formatDuration(self.gateway.resumeTTL))"
        key_packages_per_upload = \(self.gateway.keyPackagesPerUpload)
        key_packages_per_device = \(self.gateway.keyPackagesPerDevice)
        key_packages_low = \(self.gateway.keyPackagesLow)
        past_epochs = \(self.gateway.pastEpochs)
        retention = "\(formatDuration(self.gateway.retention))"
        key_package_max_lifetime = "\(formatDuration(self.gateway.keyPackageMaxLifetime))"
        max_members = \(self.gateway.maxMembers)
        max_added_per_commit = \(self.gateway.maxAddedPerCommit)

        [presence]
        lease_ttl = "\(formatDuration(self.presence.leaseTTL))"
        coalesce = "\(formatDuration(self.presence.coalesce))"
        max_watched = \(self.presence.maxWatched)
        watch_rate = "\(formatRate(GatewayLimits.Rate(self.presence.watchRate, per: self.presence.watchPeriod, burst: self.presence.watchBurst)))"
        watch_burst = \(Int(self.presence.watchBurst))

        [control]
        listen = "\(self.control.listen)"
        group = "\(self.control.group)"
        readonly_listen = "\(self.control.readOnlyListen)"
        readonly_group = "\(self.control.readOnlyGroup)"

        """
    }
}

extension DaemonConfiguration {
    /// The settings as `config show` returns them: sections of keys, secrets masked (read back
    /// from ``description``, so the two cannot differ).
    var controlValue: ControlValue {
        var sections: [String: ControlValue] = [:]
        var section = ""
        var keys: [String: ControlValue] = [:]
        for line in self.description.split(separator: "\n") {
            if line.hasPrefix("[") {
                if !section.isEmpty { sections[section] = .object(keys) }
                section = String(line.dropFirst().dropLast())
                keys = [:]
            } else if let equals = line.firstRange(of: " = ") {
                let key = String(line[..<equals.lowerBound])
                let raw = String(line[equals.upperBound...])
                keys[key] =
                    if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 {
                        .string(String(raw.dropFirst().dropLast()))
                    } else if raw == "true" || raw == "false" { .bool(raw == "true") } else if let number = Int64(raw) {
                        .int(number)
                    } else { .string(raw) }
            }
        }
        if !section.isEmpty { sections[section] = .object(keys) }
        return .object(sections)
    }
}

/// `postgresql://user:secret@host/db` → `postgresql://user:********@host/db`; `password=x` in a
/// key=value string likewise.
func maskPassword(inURL url: String) -> String {
    if let scheme = url.firstRange(of: "://") {
        let rest = url[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return url }
        let userinfo = rest[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":********" + String(url[at...])
    }
    return url.split(separator: " ", omittingEmptySubsequences: false).map { part in
        part.hasPrefix("password=") ? "password=********" : String(part)
    }.joined(separator: " ")
}

/// A rate as `"<count>/<period>"`, e.g. `"20/1m"`.
func formatRate(_ rate: GatewayLimits.Rate) -> String {
    let count = rate.rate == rate.rate.rounded() ? String(Int(rate.rate)) : String(rate.rate)
    return "\(count)/\(formatDuration(rate.per))"
}

/// `Duration` as the shortest of `500ms`, `10s`, `2m`, `1h`.
func formatDuration(_ duration: Duration) -> String {
    let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    if ms % 86_400_000 == 0 { return "\(ms / 86_400_000)d" }
    if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
    if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
    if ms % 1000 == 0 { return "\(ms / 1000)s" }
    return "\(ms)ms"
}
