import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Sends service state to systemd (`sd_notify`): readiness, status lines, watchdog pings and
/// shutdown. Does nothing when the process was not started with `NOTIFY_SOCKET`.
public struct SystemdNotifier: Sendable {
    /// One assignment of the notify protocol.
    public enum State: Sendable, Hashable {
        /// `READY=1`: start-up is complete.
        case ready
        /// `STATUS=…`: a one-line human-readable status (newlines are replaced by spaces).
        case status(String)
        /// `WATCHDOG=1`: the service is alive.
        case watchdog
        /// `STOPPING=1`: shutdown has begun.
        case stopping
        /// `RELOADING=1`.
        case reloading
        /// `EXTEND_TIMEOUT_USEC=…`: ask for more time for the current start-up or shutdown step.
        case extendTimeout(microseconds: UInt64)
        /// `ERRNO=…`: the errno-style reason for a failure.
        case errno(Int32)
    }

    public init() {}

    /// Whether systemd listens (`NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends the states in one datagram.
    ///
    /// - Returns: whether a message was sent (false outside systemd or on failure).
    @discardableResult
    public func notify(_ states: State...) -> Bool {
        self.notify(states)
    }

    /// Sends the states in one datagram.
    @discardableResult
    public func notify(_ states: [State]) -> Bool {
        sd_notify(0, Self.render(states)) > 0
    }

    /// The notify-protocol text for `states`: newline-separated `KEY=value` assignments.
    public static func render(_ states: [State]) -> String {
        states.map { state in
            switch state {
            case .ready: "READY=1"
            case .status(let text): "STATUS=" + String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
            case .watchdog: "WATCHDOG=1"
            case .stopping: "STOPPING=1"
            case .reloading: "RELOADING=1"
            case .extendTimeout(let usec): "EXTEND_TIMEOUT_USEC=\(usec)"
            case .errno(let code): "ERRNO=\(code)"
            }
        }.joined(separator: "\n")
    }
}
