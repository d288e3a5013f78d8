import GatewayWire
import Logging
import Presence
import Synchronization

/// This daemon's fan-out: which sessions (as ``SessionOutlet``s) read which conversations, and the ordered stream of
/// committed entries of each conversation that has local readers.
///
/// Every append — from this daemon or another — is announced by `NOTIFY polygate_conv`. For a
/// conversation with local readers the hub reads the new entries once (one query for all
/// readers), serializes each `Delivery` frame once, and offers it to every reader in seq order.
/// An append made on this daemon that is the next entry of its conversation is offered at once,
/// without the read (``publish(_:)``).
/// Lost or merged notifications lose nothing: the next announcement, or the periodic
/// reconciliation, reads from the last entry the hub offered; and each session reads any gap it
/// sees from the database itself.
final class DeliveryHub: Sendable {
    struct Topic {
        var sessions: [UInt64: any SessionOutlet] = [:]
        /// The last seq offered to the readers (nil until the first announcement).
        var lastSeq: UInt64?
        /// The highest seq announced.
        var target: UInt64 = 0
        /// A fetch task runs for this topic.
        var fetching = false
    }

    struct State {
        var topics: [ConversationID: Topic] = [:]
        /// The conversations each session reads.
        var subscriptions: [UInt64: Set<ConversationID>] = [:]
    }

    let repository: DeliveryRepository
    let logger: Logger
    private let state = Mutex(State())

    init(repository: DeliveryRepository, logger: Logger) {
        self.repository = repository
        self.logger = logger
    }

    // MARK: Readers

    /// A session reads `convs` from now on.
    func subscribe(_ session: any SessionOutlet, to convs: [ConversationID]) {
        self.state.withLock { state in
            for conv in convs {
                state.topics[conv, default: Topic()].sessions[session.id] = session
                state.subscriptions[session.id, default: []].insert(conv)
            }
        }
    }

    /// The session no longer reads `conv`.
    func unsubscribe(_ session: UInt64, from conv: ConversationID) {
        self.state.withLock { state in
            state.subscriptions[session]?.remove(conv)
            state.topics[conv]?.sessions[session] = nil
            if state.topics[conv]?.sessions.isEmpty == true, state.topics[conv]?.fetching == false { state.topics[conv] = nil }
        }
    }

    /// A session ended: it leaves every topic.
    func leave(_ session: UInt64) {
        self.state.withLock { state in
            for conv in state.subscriptions.removeValue(forKey: session) ?? [] {
                state.topics[conv]?.sessions[session] = nil
                if state.topics[conv]?.sessions.isEmpty == true, state.topics[conv]?.fetching == false {
                    state.topics[conv] = nil
                }
            }
        }
    }

    /// Conversations with local readers.
    var conversations: [ConversationID] { self.state.withLock { Array($0.topics.keys) } }

    /// Readers of a conversation on this daemon.
    func readers(of conv: ConversationID) -> Int { self.state.withLock { $0.topics[conv]?.sessions.count ?? 0 } }

    // MARK: Appends

    /// An append was committed at `seq`. True when the caller must start ``fetch(_:)`` for the
    /// conversation (one fetch runs per conversation at a time).
    func announce(_ conv: ConversationID, seq: UInt64) -> Bool {
        self.state.withLock { state in
            guard seq > 0, var topic = state.topics[conv] else { return false }
            defer { state.topics[conv] = topic }
            let last = topic.lastSeq ?? (seq - 1)
            topic.lastSeq = last
            guard seq > last else { return false }
            topic.target = max(topic.target, seq)
            guard !topic.fetching else { return false }
            topic.fetching = true
            return true
        }
    }

    /// An append this daemon just committed: offered to the readers at once when it is the next
    /// entry of its conversation and no read of the conversation runs — the common case, which
    /// then costs no query. Anything else is left to the announcement (NOTIFY) path.
    func publish(_ entry: LogEntry) {
        let readers = self.state.withLock { state -> [any SessionOutlet]? in
            guard var topic = state.topics[entry.convID], !topic.fetching, let last = topic.lastSeq, entry.seq == last + 1 else {
                return nil
            }
            topic.lastSeq = entry.seq
            state.topics[entry.convID] = topic
            return Array(topic.sessions.values)
        }
        guard let readers else { return }
        let frame = GatewaySession.serialize(entry.frame(gatewayID: self.repository.gatewayID))
        for reader in readers { reader.offer(entry, frame: frame) }
    }

    /// Reads the announced entries of a conversation and offers them to its readers, in order,
    /// until the topic has caught up with every announcement.
    func fetch(_ conv: ConversationID) async {
        while true {
            let after = self.state.withLock { state -> UInt64? in
                guard let topic = state.topics[conv] else { return nil }
                guard !topic.sessions.isEmpty, let last = topic.lastSeq, last < topic.target else {
                    state.topics[conv]?.fetching = false
                    if topic.sessions.isEmpty { state.topics[conv] = nil }
                    return nil
                }
                return last
            }
            guard let after else { return }
            let entries: [LogEntry]
            do {
                entries = try await self.repository.entries(convID: conv, after: after, limit: 500)
            } catch {
                self.logger.warning("fan-out read failed; retrying at the next reconciliation", metadata: ["error": "\(error)"])
                self.state.withLock { $0.topics[conv]?.fetching = false }
                return
            }
            for entry in entries {
                let frame = GatewaySession.serialize(entry.frame(gatewayID: self.repository.gatewayID))
                let readers = self.state.withLock { state -> [any SessionOutlet] in
                    state.topics[conv]?.lastSeq = entry.seq
                    return Array((state.topics[conv]?.sessions ?? [:]).values)
                }
                for reader in readers { reader.offer(entry, frame: frame) }
            }
            if entries.isEmpty {
                // Announced but not readable (pruned, or a stale target): do not spin.
                self.state.withLock { state in
                    if let target = state.topics[conv]?.target { state.topics[conv]?.lastSeq = target }
                }
            }
        }
    }

    /// Announcements for every local conversation whose newest seq is past what the hub
    /// offered (after a listener reconnect, and periodically).
    func behind(newest: [ConversationID: UInt64]) -> [ConversationID] {
        newest.compactMap { conv, seq in self.announce(conv, seq: seq) ? conv : nil }
    }
}
