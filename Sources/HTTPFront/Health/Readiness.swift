import Synchronization

/// Where the daemon is in its life, as `/readyz` and `STATUS=` report it.
package final class Readiness: Sendable {
    package enum Phase: Sendable, Hashable {
        /// Not serving yet; the text says what it waits for.
        case starting(String)
        /// Start-up finished (database reachable, migrations applied, listeners bound).
        case ready
        /// Graceful shutdown has begun.
        case draining
    }

    private let phase = Mutex<Phase>(.starting("starting"))

    package init() {}

    package var current: Phase { self.phase.withLock { $0 } }

    package func set(_ phase: Phase) {
        self.phase.withLock { $0 = phase }
    }
}
