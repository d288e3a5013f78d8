import GatewayWire
import Synchronization

/// Group commit of a daemon's Sends (ADR 0019): concurrent Sends share one `gw_append_batch`
/// statement, one transaction and one WAL flush. Conversations are spread over `lanes` by a
/// hash of their id; each lane has at most one batch in flight, and what arrives meanwhile forms
/// its next batch (``GroupCommitQueue``). A conversation always uses the same lane, so its
/// Sends are applied in arrival order; lanes let batches of different conversations commit in
/// parallel on several database connections.
final class AppendBatcher: Sendable {
    typealias Outcome = Result<Appended, GatewayWireError>

    private struct Waiter {
        var submission: Submission
        var continuation: CheckedContinuation<Outcome, any Error>
    }

    private final class Lane: Sendable {
        let queue: Mutex<GroupCommitQueue<Waiter>>

        init(maxItems: Int, maxBytes: Int) { self.queue = Mutex(GroupCommitQueue(maxItems: maxItems, maxBytes: maxBytes)) }
    }

    private let lanes: [Lane]
    let repository: DeliveryRepository

    /// - Parameters:
    ///   - lanes: batches in flight at once at most (database connections used for appends).
    ///   - maxItems, maxBytes: the bounds of one batch.
    init(repository: DeliveryRepository, lanes: Int, maxItems: Int = 256, maxBytes: Int = 4 << 20) {
        precondition(lanes >= 1)
        self.repository = repository
        self.lanes = (0..<lanes).map { _ in Lane(maxItems: maxItems, maxBytes: maxBytes) }
    }

    /// Appends `submission` with the next batch of its lane. Durable when it returns.
    ///
    /// - Throws: ``GatewayWireError`` when the item is refused; the database's error when its
    ///   batch failed.
    func append(_ submission: Submission) async throws -> Appended {
        let lane = self.lanes[Self.lane(of: submission.convID, among: self.lanes.count)]
        let bytes = submission.message.count + submission.welcome.count + submission.groupInfo.count
        let outcome = try await withCheckedThrowingContinuation { continuation in
            let start = lane.queue.withLock {
                $0.submit(Waiter(submission: submission, continuation: continuation), bytes: bytes)
            }
            if start { Task { await self.run(lane) } }
        }
        return try outcome.get()
    }

    /// FNV-1a of the conversation id, modulo `count`.
    static func lane(of convID: ConversationID, among count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in convID.bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }

    private func run(_ lane: Lane) async {
        while let batch = lane.queue.withLock({ $0.next() }) {
            do {
                let outcomes = try await self.repository.append(batch: batch.map { $0.submission })
                for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
