import FaultInjection
import Testing

/// The judge of the fault suite, without I/O: it must see every way of breaking the promise.
@Suite struct DeliveryAuditTests {
    let conv: [UInt8] = [1]
    let alice: [UInt8] = [0xA]
    let bob: [UInt8] = [0xB]

    func started() -> DeliveryAudit {
        var audit = DeliveryAudit()
        audit.member(self.alice, of: self.conv, fromSeq: 1)
        audit.member(self.bob, of: self.conv, fromSeq: 1)
        audit.acknowledged(self.conv, msgID: [0], seq: 1, duplicate: false)
        return audit
    }

    @Test func aCleanRunHoldsAndRedeliveriesAreOnlyCounted() {
        var audit = self.started()
        audit.acknowledged(self.conv, msgID: [2], seq: 2, duplicate: false)
        audit.retried()
        audit.acknowledged(self.conv, msgID: [2], seq: 2, duplicate: true)
        for device in [self.alice, self.bob] {
            audit.delivered(self.conv, seq: 1, msgID: [0], to: device, connection: device[0] == 0xA ? 1 : 2)
            audit.delivered(self.conv, seq: 2, msgID: [2], to: device, connection: device[0] == 0xA ? 1 : 2)
        }
        // Bob reconnects before acking: seq 2 again, on a new connection.
        audit.delivered(self.conv, seq: 2, msgID: [2], to: self.bob, connection: 3)
        let report = audit.report
        #expect(report.holds, "\(report)")
        #expect(report.redeliveries == 1)
        #expect(report.duplicatesSuppressed == 1)
        #expect(report.retries == 1)
        #expect(report.acknowledged == 3)
        #expect(audit.missing == 0)
    }

    @Test func aMessageOneDeviceNeverGotIsLost() {
        var audit = self.started()
        audit.acknowledged(self.conv, msgID: [2], seq: 2, duplicate: false)
        for device in [self.alice, self.bob] {
            audit.delivered(self.conv, seq: 1, msgID: [0], to: device, connection: Int(device[0]))
        }
        audit.delivered(self.conv, seq: 2, msgID: [2], to: self.alice, connection: 0xA)
        #expect(audit.missing == 1)
        #expect(audit.report.lost == 1)
        #expect(!audit.report.holds)
    }

    @Test func aMessageStoredTwiceOutOfOrderOrConflictingIsCaught() {
        var twice = self.started()
        twice.delivered(self.conv, seq: 2, msgID: [7], to: self.alice, connection: 1)
        twice.delivered(self.conv, seq: 3, msgID: [7], to: self.alice, connection: 1)
        #expect(twice.report.storedTwice == 1)
        #expect(!twice.report.holds)

        var disorder = self.started()
        disorder.delivered(self.conv, seq: 3, msgID: [3], to: self.alice, connection: 1)
        disorder.delivered(self.conv, seq: 2, msgID: [2], to: self.alice, connection: 1)
        #expect(disorder.report.outOfOrder == 1)
        #expect(!disorder.report.holds)

        var conflict = self.started()
        conflict.delivered(self.conv, seq: 1, msgID: [9], to: self.alice, connection: 1)
        #expect(conflict.report.conflicts >= 1)
        #expect(!conflict.report.holds)
    }
}

extension DeliveryAuditTests {
    /// A device added later is owed only what came after it joined.
    @Test func aLaterMemberIsOwedOnlyWhatFollowsItsJoining() {
        var audit = DeliveryAudit()
        audit.member(self.alice, of: self.conv, fromSeq: 1)
        audit.member(self.bob, of: self.conv, fromSeq: 3)
        for seq in UInt64(1)...3 { audit.acknowledged(self.conv, msgID: [UInt8(seq)], seq: seq, duplicate: false) }
        for seq in UInt64(1)...3 { audit.delivered(self.conv, seq: seq, msgID: [UInt8(seq)], to: self.alice, connection: 1) }
        #expect(audit.missing == 1)
        audit.delivered(self.conv, seq: 3, msgID: [3], to: self.bob, connection: 2)
        #expect(audit.missing == 0)
        #expect(audit.report.holds)
    }
}
