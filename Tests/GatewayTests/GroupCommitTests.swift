import GatewayWire
import Logging
import Primitives
import Store
import TestSupport
import Testing

@testable import Gateway

/// Group commit's decisions, without I/O (ADR 0019).
@Suite struct GroupCommitQueueTests {
    func submit(_ queue: inout GroupCommitQueue<Int>, _ item: Int, bytes: Int) -> Bool { queue.submit(item, bytes: bytes) }
    func next(_ queue: inout GroupCommitQueue<Int>) -> [Int]? { queue.next() }

    @Test func anIdleQueueStartsAtOnceAndABusyOneGathersTheNextBatch() {
        var queue = GroupCommitQueue<Int>(maxItems: 100, maxBytes: 1000)
        #expect(submit(&queue, 1, bytes: 10))
        #expect(queue.running)
        // Arrivals while the first batch is taken and in flight: no second runner.
        #expect(next(&queue) == [1])
        #expect(!submit(&queue, 2, bytes: 10))
        #expect(!submit(&queue, 3, bytes: 10))
        #expect(queue.waiting == 2)
        #expect(next(&queue) == [2, 3])
        // Nothing left: the run ends, and the next arrival starts a new one.
        #expect(next(&queue) == nil)
        #expect(!queue.running)
        #expect(submit(&queue, 4, bytes: 10))
        #expect(next(&queue) == [4])
        #expect(next(&queue) == nil)
    }

    @Test func batchesAreBoundedByItemsAndBytesButAlwaysTakeOneItem() {
        var queue = GroupCommitQueue<Int>(maxItems: 3, maxBytes: 100)
        #expect(submit(&queue, 0, bytes: 1))
        for n in 1..<7 { #expect(!submit(&queue, n, bytes: 1)) }
        #expect(next(&queue) == [0, 1, 2])
        #expect(next(&queue) == [3, 4, 5])
        #expect(next(&queue) == [6])
        #expect(next(&queue) == nil)
        // An item larger than the byte bound goes alone; smaller ones fill up to the bound.
        #expect(submit(&queue, 10, bytes: 500))
        #expect(!submit(&queue, 11, bytes: 60))
        #expect(!submit(&queue, 12, bytes: 40))
        #expect(!submit(&queue, 13, bytes: 1))
        #expect(next(&queue) == [10])
        #expect(next(&queue) == [11, 12])
        #expect(next(&queue) == [13])
        #expect(next(&queue) == nil)
    }

    @Test func arrivalOrderIsKeptAcrossManyBatches() {
        var queue = GroupCommitQueue<Int>(maxItems: 7, maxBytes: 1 << 20)
        var taken: [Int] = []
        var next = 0
        #expect(submit(&queue, next, bytes: 1))
        next += 1
        while let batch = queue.next() {
            taken += batch
            // More arrives while each batch is in flight, for a while.
            if next < 5000 {
                for _ in 0..<(next % 13) {
                    #expect(!submit(&queue, next, bytes: 1))
                    next += 1
                }
            }
        }
        #expect(taken == Array(0..<next))
    }
}

/// `gw_append_batch` and the batcher against a real PostgreSQL.
@Suite struct GroupCommitTests {
    typealias Device = DeliveryRepositoryTests.Device

    /// One batch of eleven items over four conversations: each refusal ends only its own item,
    /// the rest commit together, and the answers come in the order given.
    @Test func eachItemOfABatchIsCheckedOnItsOwn() async throws {
        try await DeliveryRepositoryTests.withRepository { repository, client in
            let alice = try await DeliveryRepositoryTests.device(repository)
            let bob = try await DeliveryRepositoryTests.device(repository)
            let carol = try await DeliveryRepositoryTests.device(repository)
            let (a, b, c) = (
                ConversationID(SecureRandom.bytes(count: 16)), ConversationID(SecureRandom.bytes(count: 16)),
                ConversationID(SecureRandom.bytes(count: 16))
            )
            for conv in [a, b, c] { try await repository.createConversation(convID: conv, creator: alice.user, groupInfo: [0]) }

            let first = DeliveryRepositoryTests.submission(a, alice, .application, epoch: 0, "a1")
            var addBob = DeliveryRepositoryTests.submission(b, alice, .commit, epoch: 0, "b: add bob")
            addBob.addedUsers = [bob.user]
            addBob.welcomeDevices = [bob.id]
            addBob.welcome = Array("welcome bob".utf8)
            addBob.groupInfo = [1]
            var rival = DeliveryRepositoryTests.submission(b, alice, .commit, epoch: 0, "b: a rival commit")
            rival.groupInfo = [2]
            var addCarol = DeliveryRepositoryTests.submission(c, alice, .commit, epoch: 0, "c: add carol")
            addCarol.addedUsers = [carol.user]
            addCarol.welcomeDevices = [carol.id]
            addCarol.welcome = Array("welcome carol".utf8)
            addCarol.groupInfo = [3]
            var badWelcome = DeliveryRepositoryTests.submission(c, alice, .commit, epoch: 1, "c: welcome a stranger")
            badWelcome.welcomeDevices = [bob.id]
            badWelcome.welcome = [9]
            badWelcome.groupInfo = [4]
            let batch = [
                first,
                DeliveryRepositoryTests.submission(a, bob, .application, epoch: 0, "a: bob is no member"),
                addBob,
                DeliveryRepositoryTests.submission(a, alice, .application, epoch: 5, "a: a future epoch"),
                first,  // the same msg_id again, in the same batch
                rival,
                DeliveryRepositoryTests.submission(b, bob, .application, epoch: 1, "b: bob, just added"),
                addCarol,
                badWelcome,
                DeliveryRepositoryTests.submission(c, carol, .application, epoch: 1, "c: carol, just added"),
                DeliveryRepositoryTests.submission(a, alice, .application, epoch: 0, "a2"),
            ]
            let results = try await repository.append(batch: batch)
            func code(_ index: Int) -> ErrorCode? {
                if case .failure(let error) = results[index] { return error.code }
                return nil
            }
            func appended(_ index: Int) -> Appended? { try? results[index].get() }
            #expect(results.count == 11)
            #expect(appended(0) == Appended(seq: 1, epoch: 0, duplicate: false, convHome: "gw_test"))
            #expect(code(1) == .notMember)
            #expect(appended(2) == Appended(seq: 1, epoch: 1, duplicate: false, convHome: "gw_test"))
            #expect(code(3) == .staleEpoch)
            #expect(appended(4) == Appended(seq: 1, epoch: 0, duplicate: true, convHome: "gw_test"))
            #expect(code(5) == .staleEpoch)
            if case .failure(let error) = results[5] { #expect(error.currentEpoch == 1) }
            #expect(appended(6) == Appended(seq: 2, epoch: 1, duplicate: false, convHome: "gw_test"))
            #expect(appended(7) == Appended(seq: 1, epoch: 1, duplicate: false, convHome: "gw_test"))
            #expect(code(8) == .badWelcome)
            #expect(appended(9) == Appended(seq: 2, epoch: 1, duplicate: false, convHome: "gw_test"))
            #expect(appended(10) == Appended(seq: 2, epoch: 0, duplicate: false, convHome: "gw_test"))

            // The logs: gap-free, in the order given, refused items left no trace.
            #expect(
                try await repository.entries(convID: a, after: 0).map { String(decoding: $0.message, as: UTF8.self) } == [
                    "a1", "a2",
                ]
            )
            #expect(
                try await repository.entries(convID: b, after: 0).map { String(decoding: $0.message, as: UTF8.self) }
                    == ["b: add bob", "b: bob, just added"]
            )
            #expect(
                try await repository.entries(convID: c, after: 0).map { String(decoding: $0.message, as: UTF8.self) }
                    == ["c: add carol", "c: carol, just added"]
            )
            // Each Commit got its own lists out of the flattened arrays.
            #expect(try await repository.entries(convID: b, after: 0).first?.addedUsers == [bob.user])
            #expect(try await repository.entries(convID: c, after: 0).first?.addedUsers == [carol.user])
            #expect(try await repository.welcomes(deviceID: bob.id).map(\.seq) == [1])
            #expect(try await repository.welcomes(deviceID: carol.id).map(\.seq) == [1])
            // One transaction for all of them.
            let transactions = try await client.query("SELECT count(DISTINCT xmin::text) FROM gw_log")
            #expect(try transactions[0][0].decode(Int.self) == 1)
        }
    }

    /// 600 concurrent Sends from 30 senders over 12 conversations through the batcher with three
    /// lanes: every conversation's log is gap-free, each sender's messages keep their order, the
    /// answers name the entries the log holds, and Sends shared transactions.
    @Test func concurrentSendsShareCommitsAndKeepEveryGuarantee() async throws {
        try await DeliveryRepositoryTests.withRepository { repository, client in
            let owner = try await DeliveryRepositoryTests.device(repository)
            var senders: [Device] = []
            for _ in 0..<30 { senders.append(try await DeliveryRepositoryTests.device(repository)) }
            var convs: [ConversationID] = []
            for _ in 0..<12 {
                let conv = ConversationID(SecureRandom.bytes(count: 16))
                try await repository.createConversation(convID: conv, creator: owner.user, groupInfo: [0])
                var add = DeliveryRepositoryTests.submission(conv, owner, .commit, epoch: 0, "add everyone")
                add.addedUsers = senders.map(\.user)
                add.groupInfo = [1]
                _ = try await repository.append(add, nowMs: 1)
                convs.append(conv)
            }
            let batcher = AppendBatcher(repository: repository, lanes: 3)
            let targets = convs
            let answers = try await withThrowingTaskGroup(of: [(Submission, Appended)].self) { group in
                for (n, sender) in senders.enumerated() {
                    group.addTask {
                        var mine: [(Submission, Appended)] = []
                        for k in 0..<20 {
                            let conv = targets[(n + k) % 2 == 0 ? n % targets.count : (n + 5) % targets.count]
                            let message = DeliveryRepositoryTests.submission(conv, sender, .application, epoch: 1, "\(n)/\(k)")
                            mine.append((message, try await batcher.append(message)))
                        }
                        return mine
                    }
                }
                var all: [(Submission, Appended)] = []
                for try await mine in group { all += mine }
                return all
            }
            #expect(answers.count == 600)
            var logged: [String: UInt64] = [:]
            for conv in convs {
                let entries = try await repository.entries(convID: conv, after: 0, limit: 1000)
                #expect(entries.map(\.seq) == Array(1...UInt64(entries.count)))
                for entry in entries.dropFirst() {
                    logged[Hex.encode(conv) + "/" + String(decoding: entry.message, as: UTF8.self)] = entry.seq
                }
            }
            #expect(logged.count == 600)
            for (message, appended) in answers {
                #expect(!appended.duplicate)
                #expect(
                    logged[Hex.encode(message.convID) + "/" + String(decoding: message.message, as: UTF8.self)] == appended.seq
                )
            }
            // Each sender's messages to one conversation were appended in the order it sent them.
            for n in 0..<30 {
                let mine = answers.filter { $0.0.senderUser == senders[n].user }
                for conv in Set(mine.map { Hex.encode($0.0.convID) }) {
                    let seqs = mine.filter { Hex.encode($0.0.convID) == conv }.map(\.1.seq)
                    #expect(seqs == seqs.sorted())
                }
            }
            let transactions = try await client.query("SELECT count(DISTINCT xmin::text) FROM gw_log WHERE kind = 1")
            #expect(try transactions[0][0].decode(Int.self) < 600)
        }
    }
}
