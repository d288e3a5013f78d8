import Control
package import Gateway
package import HTTPFront
package import Logging
package import Presence
import Primitives

/// Everything `polygated` reads from its configuration file, with the defaults that apply when a
/// key is absent. Every key is documented in `etc/polygate/polygated.conf` and polygated.conf(5).
package struct DaemonConfiguration: Sendable, Hashable {
    /// `[daemon]`
    package struct Daemon: Sendable, Hashable {
        /// `gateway_id`: this deployment's stable name, reported in every realtime response.
        package var gatewayID = "gw_local"
        /// `log_level`: trace, debug, info, notice, warning, error or critical.
        package var logLevel = Logger.Level.info
        /// `drain_timeout`: how long a graceful shutdown waits for requests in flight.
        package var drainTimeout = Duration.seconds(10)
        /// `audit_to_log`: also log every audit ledger event (at `notice`; under systemd, to the journal).
        package var auditToLog = true
        /// `state_directory`: where polygated keeps files of its own (the sealed-session keys).
        package var stateDirectory = "/var/lib/polygate"
        package init() {}
    }

    /// `[http]`
    package struct HTTP: Sendable, Hashable {
        /// `listen`: address to bind when systemd did not pass a socket named `http`.
        package var listen = ListenAddress(host: "127.0.0.1", port: 8080)
        /// `idle_timeout`: keep-alive connections idle this long are closed.
        package var idleTimeout = Duration.seconds(60)
        /// `header_timeout`: a connection that owes a request head (a new one, or a keep-alive
        /// one after a response) and has not sent one complete (or a WebSocket upgrade) this
        /// long is closed.
        package var headerTimeout = Duration.seconds(10)
        /// `max_waiting_connections`: connections that may wait for their first request head
        /// at once; more are closed on accept.
        package var maxWaitingConnections = 1024
        /// `trusted_proxies` and `client_address_header`: whose word about the client's
        /// address is taken (none by default: the TCP peer is the client).
        package var clientAddresses = ClientAddressPolicy()
        /// `tls_certificate` and `tls_private_key`: serve HTTPS on the listener with these PEM
        /// files (none: plain HTTP, for a proxy in front).
        package var tls: ServerTLS.Files?
        package init() {}

        /// `tls_certificate` ("" when none).
        var tlsCertificate: String {
            get { self.tls?.certificate ?? "" }
            set { self.setTLS(certificate: newValue, privateKey: self.tlsPrivateKey) }
        }

        /// `tls_private_key` ("" when none).
        var tlsPrivateKey: String {
            get { self.tls?.privateKey ?? "" }
            set { self.setTLS(certificate: self.tlsCertificate, privateKey: newValue) }
        }

        private mutating func setTLS(certificate: String, privateKey: String) {
            self.tls =
                certificate.isEmpty && privateKey.isEmpty
                ? nil : ServerTLS.Files(certificate: certificate, privateKey: privateKey)
        }
    }

    /// `[database]`
    package struct Database: Sendable, Hashable {
        /// `url`: libpq connection URL or key=value string. The default reaches database
        /// `polygate` over the local Unix socket as the daemon's own user (peer authentication).
        package var url = "postgresql:///polygate"
        /// `pool_size`: most connections the daemon opens.
        package var poolSize = 10
        /// `connect_timeout`: limit for opening one connection.
        package var connectTimeout = Duration.seconds(10)
        /// `migrate_on_start`: apply pending migrations before becoming ready.
        package var migrateOnStart = true
        /// `ready_timeout`: how long `/readyz` waits for the database.
        package var readyTimeout = Duration.seconds(2)
        package init() {}
    }

    /// `[metrics]`
    package struct Metrics: Sendable, Hashable {
        /// `token`: when set, `/metrics` requires `Authorization: Bearer <token>`.
        package var token: String?
        package init() {}
    }

    /// `[control]`
    package struct Control: Sendable, Hashable {
        /// `listen`: the read-write control socket's path when systemd did not pass one named
        /// `control` ("" disables it).
        package var listen = "/run/polygate/control.sock"
        /// `group`: the group that may use it (mode 0660).
        package var group = "polygate-admin"
        /// `readonly_listen`: an optional read-only control socket ("" for none).
        package var readOnlyListen = ""
        /// `readonly_group`: the group of the read-only socket ("": the same as `group`).
        package var readOnlyGroup = ""
        package init() {}
    }

    package var daemon = Daemon()
    package var http = HTTP()
    package var database = Database()
    package var metrics = Metrics()
    /// `[gateway]`: the realtime gateway's limits (docs/GATEWAY_SPEC.md §7).
    package var gateway = GatewayLimits()
    /// `[presence]`: leases, coalescing and watchlists (docs/GATEWAY_SPEC.md §10).
    package var presence = PresenceLimits()
    /// `[blobs]`: encrypted attachments (docs/GATEWAY_SPEC.md §13).
    package var blobs = BlobLimits()
    /// `[control]`: the control sockets gwctl uses (docs/CONTROL_PROTOCOL.md).
    package var control = Control()
    /// `[web]`: the web client under /app/ (ADR 0028).
    package var web = Web()

    /// `[web]`.
    package struct Web: Sendable, Hashable {
        /// Whether polygated serves the web client.
        package var enabled = true
        /// Its files: index.html and assets/.
        package var root = "/usr/share/polygate/web"

        package init() {}
    }

    /// The defaults.
    package init() {}

    /// The default location of the configuration file.
    package static let defaultPath = "/etc/polygate/polygated.conf"
}

extension DaemonConfiguration: CustomStringConvertible {
    /// The effective settings as TOML, every key in the order of the shipped file, with
    /// secrets masked (the database URL's password and the metrics token).
    package var description: String {
        Self.sections.map { section in
            "[\(section.name)]\n" + section.keys.map { "\($0.name) = \($0.render(self))\n" }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// The shipped configuration file: every key commented out with its default and its
    /// description (`polygated default-config`; etc/polygate/polygated.conf is this text).
    package static var defaultFile: String {
        var lines = Self.fileHeader.map { $0.isEmpty ? "#" : "# \($0)" }
        for section in Self.sections {
            lines.append("")
            lines.append("[\(section.name)]")
            lines += section.doc.map { "# \($0)" }
            for (index, key) in section.keys.enumerated() {
                // A key with a description of its own starts a paragraph; one without
                // belongs with the key above it.
                if !key.doc.isEmpty, index > 0 || !section.doc.isEmpty { lines.append("") }
                lines += key.doc.map { "# \($0)" }
                lines.append("# \(key.name) = \(key.defaultValue)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension DaemonConfiguration {
    /// The settings as `config show` returns them: sections of keys, secrets masked — each
    /// value as the key prints it (so `config show` and the printed file cannot differ): a
    /// quoted string as a string, `true`/`false` as a boolean, an integer as an integer, an
    /// array as its TOML text.
    var controlValue: ControlValue {
        var sections: [String: ControlValue] = [:]
        for section in Self.sections {
            var keys: [String: ControlValue] = [:]
            for key in section.keys { keys[key.name] = Self.controlValue(ofTOML: key.render(self)) }
            sections[section.name] = .object(keys)
        }
        return .object(sections)
    }

    private static func controlValue(ofTOML raw: String) -> ControlValue {
        if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 {
            var text = ""
            var escaped = false
            for character in raw.dropFirst().dropLast() {
                if escaped || character != "\\" {
                    text.append(character)
                    escaped = false
                } else {
                    escaped = true
                }
            }
            return .string(text)
        }
        if raw == "true" || raw == "false" { return .bool(raw == "true") }
        if let number = Int64(raw) { return .int(number) }
        return .string(raw)
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
func formatRate(_ rate: TokenRate) -> String {
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
