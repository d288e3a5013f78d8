import Foundation
import Polycentric
import Testing

@testable import Social

/// Upstream's batch rules, decided without a database.
@Suite struct IngestPlanTests {
    @Test func laterEventsReplaceEarlierOnesWithTheSameSlot() throws {
        let key = SystemKeyPair.generate()
        let process = Userpackage_Process.random()
        var first = ProcessLog(key: key, process: process)
        var second = ProcessLog(key: key, process: process)
        let a = try first.post("first at clock 1")
        let b = try second.post("second at clock 1")
        let c = try first.post("clock 2")
        let plan = try IngestPlan([a, c, b])
        #expect(plan.items.map(\.event) == [c, b])
    }

    @Test func aDeleteInTheBatchDropsItsTarget() throws {
        var log = ProcessLog(key: .generate())
        let post = try log.post("gone")
        let keep = try log.post("kept")
        let delete = try log.delete(post)
        let plan = try IngestPlan([post, keep, delete])
        #expect(plan.items.map(\.event) == [keep, delete])
        let deletion = try #require(plan.items.last?.deletion)
        #expect(deletion.process == post.process)
        #expect(deletion.logicalClock == 1)
        #expect(deletion.contentType == 3)
        #expect(deletion.unixMilliseconds == Int64(post.unixMilliseconds!))
    }

    @Test func derivedRows() throws {
        var log = ProcessLog(key: .generate())
        let post = try log.post("hello #swift", topic: Array("https://example.org/video".utf8))
        let reply = try log.post("a reply", replyTo: post.pointer)
        let like = try log.opinion(Opinion.like, on: post.pointer, at: 42)
        let name = try log.set(.username, value: Array("alice".utf8))
        var claim = Userpackage_Claim()
        claim.claimType = 10
        var field = Userpackage_ClaimFieldEntry()
        field.key = 0
        field.value = "alice-gh"
        claim.claimFields = [field]
        let claimEvent = try log.append(.claim, content: claim.serialized)
        let plan = try IngestPlan([post, reply, like, name, claimEvent])
        let subject = IngestPlan.subject(system: post.systemKey, process: post.process, clock: 1)
        #expect(subject.count == 56)
        #expect(plan.items[0].references == [.init(type: 3, subject: Array("https://example.org/video".utf8))])
        #expect(plan.items[0].searchText == "hello #swift")
        #expect(plan.items[1].references == [.init(type: 2, subject: subject)])
        #expect(plan.items[2].lww == .init(reference: .init(type: 2, subject: subject), value: [1], unixMilliseconds: 42))
        #expect(plan.items[2].searchText == nil)
        #expect(plan.items[3].searchText == "alice")
        #expect(plan.items[3].lww == nil)  // no subject: profile LWW elements are per system
        #expect(plan.items[4].claim == .init(claimType: 10, fields: [(0, "alice-gh")]))
    }

    @Test func valuesBeyondBigintAreRefused() throws {
        var log = ProcessLog(key: .generate())
        let huge = try log.append(.post, content: Userpackage_Post().serialized, unixMilliseconds: 1 << 63)
        let error = #expect(throws: PolycentricError.self) { try IngestPlan([huge]) }
        #expect(error?.code == .badParameter)
        #expect(throws: PolycentricError.self) { try IngestPlan.int64(UInt64.max, "x") }
        #expect(try IngestPlan.int64(1 << 62, "x") == 1 << 62)
    }
}
