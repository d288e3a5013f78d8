import Synchronization

/// Where the daemon is in its life, as `/readyz` and `STATUS=` report it.
public final class Readiness: Sendable {
    public enum Phase: Sendable, Hashable {
        /// Not serving yet; the text says what it waits for.
        case starting(String)
        /// Start-up finished (database reachable, migrations applied, listeners bound).
        case ready
        /// Graceful shutdown has begun.
        case draining
    }

    private let phase = Mutex<Phase>(.starting("starting"))

    public init() {}

    public var current: Phase { self.phase.withLock { $0 } }

    public func set(_ phase: Phase) {
        self.phase.withLock { $0 = phase }
    }
}
