import GatewayWire
import Logging
import Synchronization

/// Tells every daemon (`LISTEN polygate_conv`) of this daemon's appends once they have committed
/// (ADR 0019). The announcement is not part of the append's transaction — PostgreSQL
/// serializes the commits of transactions that notify, so appends could not share fsyncs —
/// and what is appended while one announcement is in flight goes out in the next, one
/// statement for all. An announcement that fails, or that a crash prevents, is covered by every
/// daemon's reconciliation (every 2 s).
final class AppendAnnouncer: Sendable {
    /// What waits for the next announcement: one runner at a time, what arrives meanwhile goes
    /// out in the next statement (at most 1,000 payloads of ~70 bytes each).
    private let queue = Mutex(GroupCommitQueue<String>(maxItems: 1000, maxBytes: 1 << 20))
    let repository: DeliveryRepository
    let logger: Logger

    init(repository: DeliveryRepository, logger: Logger) {
        self.repository = repository
        self.logger = logger
    }

    /// `seq` of `conv` committed.
    func announce(conv: ConversationID, seq: UInt64) {
        let payload = AppendSignal(convID: conv, seq: seq).payload
        if self.queue.withLock({ $0.submit(payload, bytes: payload.utf8.count) }) {
            Task { await self.flush() }
        }
    }

    private func flush() async {
        while let batch = self.queue.withLock({ $0.next() }) {
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
