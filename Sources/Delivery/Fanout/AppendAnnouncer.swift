import Logging
import Synchronization

/// Tells every daemon (`LISTEN polygate_conv`) of this daemon's appends once they have committed
/// (ADR 0019). The announcement is not part of the append's transaction — PostgreSQL
/// serializes the commits of transactions that notify, so appends could not share fsyncs —
/// and what is appended while one announcement is in flight goes out in the next, one
/// statement for all. An announcement that fails, or that a crash prevents, is covered by every
/// daemon's reconciliation (every 2 s).
final class AppendAnnouncer: Sendable {
    private struct State {
        var pending: [String] = []
        var flushing = false
    }

    private let state = Mutex(State())
    let repository: DeliveryRepository
    let logger: Logger

    init(repository: DeliveryRepository, logger: Logger) {
        self.repository = repository
        self.logger = logger
    }

    /// `seq` of `conv` committed.
    func announce(conv: [UInt8], seq: UInt64) {
        let start = self.state.withLock { state -> Bool in
            state.pending.append(AppendSignal(convID: conv, seq: seq).payload)
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        if start { Task { await self.flush() } }
    }

    private func flush() async {
        while true {
            let batch = self.state.withLock { state -> [String]? in
                guard !state.pending.isEmpty else {
                    state.flushing = false
                    return nil
                }
                defer { state.pending = [] }
                return state.pending
            }
            guard let batch else { return }
            do {
                try await self.repository.announce(appends: batch)
            } catch {
                self.logger.debug(
                    "append announcement failed; other daemons catch up at their reconciliation",
                    metadata: ["gw.appends": "\(batch.count)", "error": "\(error)"]
                )
            }
        }
    }
}
