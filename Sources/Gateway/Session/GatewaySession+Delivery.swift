import GatewayWire
import Logging
package import NIOCore
import Presence
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// Delivery (docs/GATEWAY_SPEC.md §5): Welcomes, the backlog of every conversation from the
/// device's cursors, `CaughtUp`, then live entries — with no gap and no repeat.
///
/// One rule makes the hand-over safe: each conversation has a `lastSent` seq, and an entry goes
/// out only when it is `lastSent + 1`. Live entries arrive from the fan-out (``offer(_:frame:)``);
/// anything else — the backlog, a gap, entries offered while the backlog was read — is read from
/// the database by the delivery task, which is the only reader.
extension GatewaySession {
    /// Page size of backlog reads.
    static let pageSize = 500

    /// Queues work for the delivery worker — the only reader of the database for this session —
    /// and starts the worker when none runs. The worker is a task of its own that ends when no
    /// work is left: an idle connection holds no delivery task, and none of the memory its last
    /// backlog read needed (a task keeps its allocator's slabs until it ends).
    func schedule(_ work: Work) {
        let start = self.state.withLock { state -> Bool in
            guard !state.machine.isClosed else { return false }
            state.work.append(work)
            guard !state.working else { return false }
            state.working = true
            return true
        }
        if start { Task { await self.runWork() } }
    }

    /// The delivery worker: does the queued work in order, then ends.
    private func runWork() async {
        while true {
            let next = self.state.withLock { state -> Work? in
                guard !state.machine.isClosed, !state.work.isEmpty else {
                    state.work = []
                    state.working = false
                    return nil
                }
                return state.work.removeFirst()
            }
            guard let work = next else { return }
            guard let identity = self.identity else { continue }
            do {
                switch work {
                case .catchUp:
                    try await self.catchUp(identity)
                case .refresh:
                    try await self.refresh(identity)
                case .pull(let conv):
                    try await self.pull(conv, identity)
                }
            } catch {
                if !self.isClosed {
                    self.logger.warning("delivery read failed; the client must resume", metadata: ["error": "\(error)"])
                    self.close(code: CloseCode.overloaded, reason: "the database did not answer", after: .seconds(5))
                }
                self.state.withLock { state in
                    state.work = []
                    state.working = false
                }
                return
            }
        }
    }

    /// After authentication: Welcomes, every backlog, `CaughtUp`; then the session is live.
    private func catchUp(_ identity: Identity) async throws {
        await self.context.presence.authenticated(self, user: identity.userID, device: identity.deviceID)
        try await self.refresh(identity)
        while true {
            // Entries offered while the backlog was read may lie beyond what was read: read on
            // until nothing is wanted, then go live and say so, atomically.
            await self.outbox.waitForRoom(bytes: Self.caughtUp.readableBytes)
            let pending = self.state.withLock { state -> [ConversationID] in
                let behind = state.rule.goLiveUnlessBehind()
                if behind.isEmpty {
                    // CaughtUp goes out before any live entry can; like the backlog, it waited
                    // for room rather than overflow.
                    _ = self.outbox.pushUnbounded(Self.caughtUp)
                }
                return behind
            }
            if pending.isEmpty { break }
            for conv in pending { try await self.read(conv, identity) }
        }
        self.logger.debug("caught up")
    }

    static let caughtUp: ByteBuffer = {
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.caughtUp = Polygate_Gateway_V1_CaughtUp()
        return GatewaySession.serialize(frame)
    }()

    /// Reads the conversations and Welcomes of the device again: new Welcomes go out, new
    /// conversations are subscribed to and read.
    private func refresh(_ identity: Identity) async throws {
        let repository = self.context.repository
        let welcomes = try await repository.welcomes(deviceID: identity.deviceID)
        let positions = try await repository.readPositions(deviceID: identity.deviceID, userID: identity.userID)
        for welcome in welcomes {
            let key = welcome.convID.bytes + Array("\(welcome.seq)".utf8)
            let fresh = self.state.withLock { $0.welcomesSent.insert(key).inserted }
            guard fresh else { continue }
            var notice = Polygate_Gateway_V1_WelcomeNotice()
            notice.convID = .init(welcome.convID)
            notice.seq = welcome.seq
            notice.welcome = .init(welcome.welcome)
            var frame = Polygate_Gateway_V1_ServerFrame()
            frame.welcome = notice
            self.push(frame)
        }
        let added = self.state.withLock { $0.rule.merge(positions) }
        guard !added.isEmpty else { return }
        // Subscribe first, read after: an entry committed in between is offered and read.
        self.context.hub.subscribe(self, to: added)
        // Closed meanwhile: the hub's leave may have run before this subscription.
        if self.isClosed { self.context.hub.leave(self.id) }
        let live = self.state.withLock { $0.rule.live }
        for conv in added {
            // Before the session is live, the catch-up loop reads what was offered meanwhile.
            if live { try await self.pull(conv, identity) } else { try await self.read(conv, identity) }
        }
    }

    /// A live gap (or an entry offered during a read): read until nothing is wanted.
    private func pull(_ conv: ConversationID, _ identity: Identity) async throws {
        while true {
            try await self.read(conv, identity)
            if !self.state.withLock({ $0.rule.pullAgain(conv) }) { return }
        }
    }

    /// Reads a conversation's log from `lastSent` to its end (or to `until`) and queues it.
    private func read(_ conv: ConversationID, _ identity: Identity) async throws {
        while true {
            let (reading, over) = self.state.withLock { ($0.rule.reading(conv), $0.rule.readEnded(conv)) }
            guard let reading else { return }
            if over {
                self.finish(conv)
                return
            }
            guard
                let page = try await self.context.repository.page(
                    convID: conv,
                    after: reading.lastSent,
                    until: reading.until,
                    limit: Self.pageSize
                )
            else {
                self.finish(conv)
                return
            }
            let first = page.entries.first?.seq ?? page.oldest
            if first > reading.lastSent + 1, page.newest > reading.lastSent {
                // Entries the device never read were pruned: say so, then go on from the oldest.
                var behind = Polygate_Gateway_V1_BehindRetention()
                behind.convID = .init(conv)
                behind.oldestSeq = page.oldest
                var frame = Polygate_Gateway_V1_ServerFrame()
                frame.behind = behind
                self.push(frame)
                self.state.withLock { $0.rule.skipPruned(conv, expected: reading.lastSent, first: first) }
            }
            var ended = false
            for entry in page.entries {
                let frame = Self.serialize(entry.frame(gatewayID: self.context.gatewayID))
                // The backlog waits for the client to read; only live traffic overflows.
                await self.outbox.waitForRoom(bytes: frame.readableBytes)
                ended = self.deliver(entry, frame: frame, identity: identity, fromRead: true) == .ended
                if ended || self.isClosed { break }
            }
            if ended {
                self.finish(conv)
                return
            }
            if page.entries.count < Self.pageSize || self.isClosed { return }
        }
    }

    /// The fan-out offers a live entry (in seq order per conversation, from any thread).
    package func offer(_ entry: LogEntry, frame: ByteBuffer) {
        guard let identity = self.identity else { return }
        switch self.deliver(entry, frame: frame, identity: identity, fromRead: false) {
        case .ended: self.finish(entry.convID)
        case .gap: self.schedule(.pull(entry.convID))
        case .sent, .skipped: break
        }
    }

    enum DeliveryOutcome { case sent, skipped, gap, ended }

    /// Queues `entry` if the delivery rule says so. An overflowing queue closes the connection
    /// as a slow consumer.
    private func deliver(_ entry: LogEntry, frame: ByteBuffer, identity: Identity, fromRead: Bool) -> DeliveryOutcome {
        var overflow = false
        let outcome = self.state.withLock { state -> DeliveryOutcome in
            switch state.rule.offer(conv: entry.convID, seq: entry.seq, fromRead: fromRead) {
            case .skip: return .skipped
            case .gap: return .gap
            case .ended: return .ended
            case .send: break
            }
            guard self.outbox.push(frame) else {
                overflow = true
                return .skipped
            }
            self.context.counters.add(.deliveries)
            let removed = entry.removedUsers.contains(identity.userID)
            return state.rule.sent(conv: entry.convID, seq: entry.seq, removesReader: removed) ? .ended : .sent
        }
        if overflow { self.closeSlowConsumer() }
        return outcome
    }

    /// The user no longer reads `conv` (removed, or it is gone).
    private func finish(_ conv: ConversationID) {
        self.state.withLock { $0.rule.remove(conv) }
        self.context.hub.unsubscribe(self.id, from: conv)
    }

    /// A signal from another daemon (or this one) about this device or user.
    package func signal(_ signal: SessionSignal) {
        switch signal {
        case .membership:
            self.schedule(.refresh)
        case .revoked:
            self.close(code: CloseCode.deviceRevoked, reason: "device revoked", after: .zero)
        case .keyPackagesLow(_, let suite, let count):
            var low = Polygate_Gateway_V1_KeyPackagesLow()
            low.cipherSuite = suite
            low.count = count
            var frame = Polygate_Gateway_V1_ServerFrame()
            frame.keyPackagesLow = low
            self.push(frame)
        case .contact(_, let other, let state):
            var event = Polygate_Gateway_V1_ContactEvent()
            event.userID = .init(other)
            event.state = Polygate_Gateway_V1_ContactState(rawValue: state) ?? .unspecified
            var frame = Polygate_Gateway_V1_ServerFrame()
            frame.contact = event
            self.push(frame)
            if event.state == .none { self.context.presence.contactEnded(self, user: other) }
        }
    }
}
