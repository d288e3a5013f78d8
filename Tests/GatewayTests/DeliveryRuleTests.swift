import GatewayWire
import Testing

@testable import Gateway

/// The delivery rule without I/O: backlog then live, no gap, no repeat, `lastSent + 1`.
@Suite struct DeliveryRuleTests {
    let a = ConversationID(Array(repeating: 0xA, count: 16))
    let b = ConversationID(Array(repeating: 0xB, count: 16))

    /// Plays what the session does with each decision: queue and record on `.send`.
    func deliver(
        _ rule: inout DeliveryRule,
        _ conv: ConversationID,
        _ seq: UInt64,
        fromRead: Bool,
        removes: Bool = false
    )
        -> DeliveryRule.Decision
    {
        let decision = rule.offer(conv: conv, seq: seq, fromRead: fromRead)
        if decision == .send, rule.sent(conv: conv, seq: seq, removesReader: removes) { return .ended }
        return decision
    }

    @Test func theBacklogThenLiveWithoutGapOrRepeat() {
        var rule = DeliveryRule()
        let result1 = rule.merge([ReadPosition(convID: self.a, after: 3)])
        #expect(result1 == [self.a])
        // Before the connection is live, live entries are only remembered.
        #expect(self.deliver(&rule, self.a, 6, fromRead: false) == .skip)
        #expect(rule.reading(self.a)?.wanted == 6)
        // The backlog read: 4 and 5, then 6 (committed while the backlog was read).
        for seq: UInt64 in [4, 5] { #expect(self.deliver(&rule, self.a, seq, fromRead: true) == .send) }
        // Not caught up while 6 is wanted and unsent.
        let result2 = rule.goLiveUnlessBehind()
        #expect(result2 == [self.a])
        #expect(!rule.live)
        #expect(self.deliver(&rule, self.a, 6, fromRead: true) == .send)
        let result3 = rule.goLiveUnlessBehind().isEmpty
        #expect(result3)
        #expect(rule.live)
        // Live: a repeat is skipped, the next one goes out.
        #expect(self.deliver(&rule, self.a, 6, fromRead: false) == .skip)
        #expect(self.deliver(&rule, self.a, 7, fromRead: false) == .send)
        #expect(rule.reading(self.a)?.lastSent == 7)
        // Conversations this connection does not read are skipped.
        #expect(self.deliver(&rule, self.b, 1, fromRead: false) == .skip)
    }

    @Test func aGapIsPulledAndLiveEntriesWaitForThePull() {
        var rule = DeliveryRule()
        _ = rule.merge([ReadPosition(convID: self.a, after: 0)])
        _ = rule.goLiveUnlessBehind()
        #expect(self.deliver(&rule, self.a, 1, fromRead: false) == .send)
        // 3 without 2: a gap, and from now on live entries only raise what is wanted.
        #expect(self.deliver(&rule, self.a, 3, fromRead: false) == .gap)
        #expect(self.deliver(&rule, self.a, 4, fromRead: false) == .skip)
        #expect(rule.reading(self.a)?.wanted == 4)
        // The pull reads 2 and 3; 4 was offered beyond that: read again.
        for seq: UInt64 in [2, 3] { #expect(self.deliver(&rule, self.a, seq, fromRead: true) == .send) }
        let result4 = rule.pullAgain(self.a)
        #expect(result4)
        #expect(self.deliver(&rule, self.a, 4, fromRead: true) == .send)
        let result5 = rule.pullAgain(self.a)
        #expect(!result5)
        // The pull is over: live again.
        #expect(self.deliver(&rule, self.a, 5, fromRead: false) == .send)
        #expect(rule.reading(self.a)?.lastSent == 5)
    }

    @Test func theCommitThatRemovesTheReaderIsTheLastEntryItReads() {
        var rule = DeliveryRule()
        _ = rule.merge([ReadPosition(convID: self.a, after: 0)])
        _ = rule.goLiveUnlessBehind()
        #expect(self.deliver(&rule, self.a, 1, fromRead: false) == .send)
        #expect(self.deliver(&rule, self.a, 2, fromRead: false, removes: true) == .ended)
        #expect(rule.reading(self.a)?.until == 2)
        #expect(rule.readEnded(self.a))
        #expect(self.deliver(&rule, self.a, 3, fromRead: false) == .ended)
        rule.remove(self.a)
        #expect(self.deliver(&rule, self.a, 3, fromRead: false) == .skip)
        #expect(rule.readEnded(self.a))
    }

    @Test func aRemovedReaderReadsUpToItsRemovalAndOnWhenAddedAgain() {
        var rule = DeliveryRule()
        // Removed by the Commit at 5 while offline: read up to 5, nothing after.
        _ = rule.merge([ReadPosition(convID: self.a, after: 2, until: 5)])
        for seq: UInt64 in [3, 4, 5] { #expect(self.deliver(&rule, self.a, seq, fromRead: true) == .send) }
        #expect(self.deliver(&rule, self.a, 6, fromRead: true) == .ended)
        #expect(rule.readEnded(self.a))
        // Added again before the removal was read to its end: the positions say so; read on.
        let result6 = rule.merge([ReadPosition(convID: self.a, after: 5)])
        #expect(result6.isEmpty)
        #expect(!rule.readEnded(self.a))
        #expect(self.deliver(&rule, self.a, 6, fromRead: true) == .send)
    }

    @Test func aWelcomeMovesTheStartForwardAndPrunedEntriesAreSkipped() {
        var rule = DeliveryRule()
        _ = rule.merge([ReadPosition(convID: self.a, after: 1)])
        // A Welcome for this device at the Commit at 9: what lies before it is not read.
        _ = rule.merge([ReadPosition(convID: self.a, after: 9)])
        #expect(rule.reading(self.a)?.lastSent == 9)
        #expect(self.deliver(&rule, self.a, 5, fromRead: true) == .skip)
        #expect(self.deliver(&rule, self.a, 10, fromRead: true) == .send)
        // A read that finds 11–19 pruned goes on from 20, unless something went out meanwhile.
        rule.skipPruned(self.a, expected: 9, first: 20)
        #expect(rule.reading(self.a)?.lastSent == 10)
        rule.skipPruned(self.a, expected: 10, first: 20)
        #expect(self.deliver(&rule, self.a, 20, fromRead: true) == .send)
    }

    /// Any interleaving of live offers and reads of a log of 200 entries: every entry goes out
    /// once, in order.
    @Test func noGapNoRepeatUnderAnyInterleaving() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var rule = DeliveryRule()
            _ = rule.merge([ReadPosition(convID: self.a, after: 0)])
            var sent: [UInt64] = []
            var committed: UInt64 = 0
            var live = false
            while sent.last != 200 {
                if committed < 200, Bool.random(using: &generator) {
                    committed += 1
                    let decision = rule.offer(conv: self.a, seq: committed, fromRead: false)
                    if decision == .send {
                        _ = rule.sent(conv: self.a, seq: committed, removesReader: false)
                        sent.append(committed)
                    }
                } else {
                    // The worker reads what is committed after lastSent, then checks again.
                    let from = (rule.reading(self.a)?.lastSent ?? 0) + 1
                    if from <= committed {
                        for seq in from...committed where rule.offer(conv: self.a, seq: seq, fromRead: true) == .send {
                            _ = rule.sent(conv: self.a, seq: seq, removesReader: false)
                            sent.append(seq)
                        }
                    }
                    if !live { live = rule.goLiveUnlessBehind().isEmpty } else { _ = rule.pullAgain(self.a) }
                }
            }
            #expect(sent == Array(1...200))
        }
    }
}
