import GatewayClient
import GatewayWire
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

/// Conversations and delivery through the real daemon over WebSocket: ordered fan-out,
/// Welcomes, the epoch compare-and-set, idempotency, resume, access control, retention
/// (docs/GATEWAY_SPEC.md §4.2, §5).
@Suite struct GatewayDeliveryTests {
    typealias User = GatewayHarness.User

    static func text(_ delivery: Polygate_Gateway_V1_Delivery) -> String { String(decoding: delivery.message, as: UTF8.self) }

    @Test func orderedFanOutToThreeUsersWithWelcomesOnlyForTheNewDevices() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob, carol, dave) = (User(), User(), User(), User())
            let a = try alice.device("a")
            let b = try bob.device("b")
            let b2 = try bob.device("b2")
            let c = try carol.device("c")
            let d = try dave.device("d")
            try await gateway.register(b, b2, c)
            let conv = SecureRandom.bytes(count: 32)
            try await gateway.connected(a) { ca in
                try await gateway.connected(b) { cb in
                    try await gateway.connected(b2) { cb2 in
                        try await gateway.connected(c) { cc in
                            try await gateway.connected(d) { cd in
                                for connection in [ca, cb, cb2, cc, cd] { _ = try await connection.backlog() }
                                try await ca.createConversation(conv)
                                let add = try await ca.add(
                                    conv,
                                    epoch: 0,
                                    users: [bob.id, carol.id],
                                    devices: [b.deviceID.bytes, c.deviceID.bytes]
                                )
                                #expect(add.seq == 1)
                                #expect(add.epoch == 1)

                                // The Welcome reaches exactly the devices named, live.
                                for connection in [cb, cc] {
                                    let welcome = try await connection.next("Welcome") {
                                        if case .welcome = $0.body { true } else { false }
                                    }
                                    #expect([UInt8](welcome.welcome.convID) == conv)
                                    #expect(welcome.welcome.seq == 1)
                                    #expect([UInt8](welcome.welcome.welcome) == Array("welcome".utf8))
                                }
                                // The sender gets its Commit back (the echo MLS clients wait for).
                                let echo = try await ca.deliveries(1)
                                #expect(echo.map(\.seq) == [1])
                                #expect(echo[0].kind == .commit)

                                var sends: [Polygate_Gateway_V1_Response] = []
                                for n in 0..<30 {
                                    sends.append(
                                        try await ca.call(
                                            .send(
                                                GatewayConnection.sendBody(
                                                    conv,
                                                    .application,
                                                    epoch: 1,
                                                    Array("m\(n)".utf8),
                                                    msgID: SecureRandom.bytes(count: 16)
                                                )
                                            )
                                        )
                                    )
                                }
                                #expect(sends.map(\.send.seq) == Array(2...31))
                                #expect(
                                    sends.allSatisfy {
                                        $0.gatewayID == "gw_test" && $0.convHome == "gw_test" && $0.originGateway == "gw_test"
                                    }
                                )
                                for connection in [ca, cb, cb2, cc] {
                                    let got = try await connection.deliveries(30)
                                    #expect(got.map(\.seq) == Array(2...31))
                                    #expect(got.map(Self.text) == (0..<30).map { "m\($0)" })
                                    #expect(
                                        got.allSatisfy {
                                            DeviceID($0.senderDevice) == a.deviceID && $0.epoch == 1 && $0.kind == .application
                                        }
                                    )
                                    #expect(
                                        got.allSatisfy {
                                            $0.convHome == "gw_test" && $0.originGateway == "gw_test" && $0.acceptedMs > 0
                                        }
                                    )
                                }
                                // Bob answers; everyone, Bob's devices included, sees it in place.
                                let reply = try await cb.send(conv, epoch: 1, Array("hi from bob".utf8))
                                #expect(reply.seq == 32)
                                for connection in [ca, cb, cb2, cc] {
                                    let got = try await connection.deliveries(1)
                                    #expect(got.map(\.seq) == [32])
                                    #expect(DeviceID(got[0].senderDevice) == b.deviceID)
                                }
                                // Bob's second device had no Welcome; Dave, no member, saw nothing.
                                try await cb2.expectQuiet(for: .milliseconds(300))
                                try await cd.expectQuiet(for: .milliseconds(100))
                                let members = try await cc.call(.listMembers(.with { $0.convID = .init(conv) })).members
                                #expect(Set(members.userIds.map { [UInt8]($0) }) == [alice.id, bob.id, carol.id])
                                #expect(members.epoch == 1)
                                let info = try await cc.call(.fetchGroupInfo(.with { $0.convID = .init(conv) })).groupInfo
                                #expect(info.epoch == 1)
                                // /metrics sees the five connections and the traffic.
                                let metrics = try await HTTPTestClient.get(port: gateway.port, "/metrics").body
                                #expect(metrics.contains("polygate_gateway_sessions{transport=\"websocket\"} 5"))
                                #expect(metrics.contains("polygate_gateway_authenticated_sessions 5"))
                                #expect(metrics.contains("polygate_gateway_appends_total 32"))
                                #expect(metrics.contains("polygate_gateway_deliveries_total 125"))
                                #expect([UInt8](info.groupInfo) == [0xC1] + Array("1".utf8))
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func concurrentCommitsInOneEpochExactlyOneWins() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device(), try bob.device(), try carol.device())
            try await gateway.register(b, c)
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                _ = try await ca.backlog()
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id, carol.id], devices: [])
                try await gateway.connected(b) { cb in
                    try await gateway.connected(c) { cc in
                        for connection in [cb, cc] { _ = try await connection.backlog() }
                        let outcomes = try await withThrowingTaskGroup(of: Result<UInt64, GatewayClientError>.self) { group in
                            for (n, connection) in [ca, cb, cc, ca, cb, cc, ca, cb, cc].enumerated() {
                                group.addTask {
                                    do {
                                        return .success(
                                            try await connection.send(conv, .commit, epoch: 1, Array("commit \(n)".utf8)).seq
                                        )
                                    } catch let error as GatewayClientError {
                                        return .failure(error)
                                    }
                                }
                            }
                            var all: [Result<UInt64, GatewayClientError>] = []
                            for try await outcome in group { all.append(outcome) }
                            return all
                        }
                        let winners = outcomes.compactMap { try? $0.get() }
                        #expect(winners == [2])
                        for case .failure(let error) in outcomes {
                            #expect(error.serverCode == .staleEpoch)
                            #expect(error.server?.currentEpoch == 2)
                        }
                        // Every member sees the winner, and only it, at seq 2.
                        #expect(try await ca.deliveries(2).map(\.seq) == [1, 2])
                        #expect(try await cb.deliveries(1).map(\.seq) == [2])
                        #expect(try await cc.deliveries(1).map(\.seq) == [2])
                        for connection in [ca, cb, cc] { try await connection.expectQuiet(for: .milliseconds(200)) }
                        let members = try await cb.call(.listMembers(.with { $0.convID = .init(conv) })).members
                        #expect(members.epoch == 2)
                        // A stale application message is still accepted two epochs back, not three.
                        try await cb.send(conv, epoch: 0, Array("late".utf8))
                        await expectServerError(.staleEpoch) { try await cb.send(conv, epoch: 3, Array("future".utf8)) }
                        await expectServerError(.staleEpoch) {
                            try await cb.send(conv, .proposal, epoch: 1, Array("old proposal".utf8))
                        }
                    }
                }
            }
        }
    }

    @Test func aRetryReturnsTheOriginalSeqAndIsDeliveredOnce() async throws {
        try await GatewayHarness.run { gateway in
            let alice = User()
            let (a, a2) = (try alice.device("a"), try alice.device("a2"))
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                try await gateway.connected(a2) { ca2 in
                    _ = try await ca.backlog()
                    _ = try await ca2.backlog()
                    try await ca.createConversation(conv)
                    let id = SecureRandom.bytes(count: 16)
                    let first = try await ca.send(conv, epoch: 0, Array("once".utf8), msgID: id)
                    let retry = try await ca.send(conv, epoch: 0, Array("once".utf8), msgID: id)
                    // Even from another device, even with other bytes: the msg_id decides.
                    let other = try await ca2.send(conv, epoch: 0, Array("changed".utf8), msgID: id)
                    #expect(first.seq == 1 && !first.duplicate)
                    #expect(retry.seq == 1 && retry.duplicate)
                    #expect(other.seq == 1 && other.duplicate)
                    let next = try await ca.send(conv, epoch: 0, Array("next".utf8))
                    #expect(next.seq == 2)
                    for connection in [ca, ca2] {
                        let got = try await connection.deliveries(2)
                        #expect(got.map(\.seq) == [1, 2])
                        #expect(got.map(Self.text) == ["once", "next"])
                    }
                    // Bad sends are refused with a reason and change nothing.
                    await expectServerError(.badRequest) { try await ca.send(conv, epoch: 0, [1], msgID: [1, 2, 3]) }
                    await expectServerError(.badRequest) { try await ca.send(Array(conv.prefix(8)), epoch: 0, [1]) }
                    await expectServerError(.tooLarge) {
                        try await ca.send(conv, epoch: 0, [UInt8](repeating: 7, count: (256 << 10) + 1))
                    }
                    await expectServerError(.badRequest) { try await ca.send(conv, .unspecified, epoch: 0, [1]) }
                    #expect(try await ca.send(conv, epoch: 0, Array("after".utf8)).seq == 3)
                }
            }
        }
    }

    @Test func resumeAfterADisconnectMidStreamHasNoGapAndNoDuplicate() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.register(b)
            let conv = SecureRandom.bytes(count: 16)
            let total: UInt64 = 200
            try await gateway.connected(a) { ca in
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (started, start) = AsyncStream<Void>.makeStream()
                group.addTask {
                    for await _ in started { break }
                    try await gateway.connected(a) { ca in
                        for n in 2...total + 1 { try await ca.send(conv, epoch: 1, Array("m\(n)".utf8)) }
                    }
                }
                // Bob reads and acks 40 entries of the live stream, then drops the connection.
                let (token, acked) = try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { cb in
                    let auth = try await cb.authenticate(b)
                    _ = try await cb.backlog()
                    start.yield()
                    var last: UInt64 = 1
                    for delivery in try await cb.deliveries(40) {
                        #expect(delivery.seq == last + 1)
                        last = delivery.seq
                        try await cb.ack(conv, delivery.seq)
                    }
                    return ([UInt8](auth.resumeToken), last)
                }
                #expect(acked == 41)
                // Back with the resume token: everything after the cursor, in order, once.
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { cb in
                    try await cb.resume(b, token: token)
                    let backlog = try await cb.backlog()
                    var seqs = backlog.map(\.seq)
                    let rest = Int(total + 1) - Int(acked) - seqs.count
                    if rest > 0 { seqs += try await cb.deliveries(rest).map(\.seq) }
                    #expect(seqs == Array(acked + 1...total + 1))
                    try await cb.expectQuiet(for: .milliseconds(300))
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func nonMembersAreRefusedAndRemovedMembersStopAtTheirRemoval() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device(), try bob.device(), try carol.device())
            try await gateway.register(b, c)
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                try await gateway.connected(b) { cb in
                    try await gateway.connected(c) { cc in
                        for connection in [ca, cb, cc] { _ = try await connection.backlog() }
                        try await ca.createConversation(conv)
                        try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                        // Carol is no member: every request about the conversation says only not_member,
                        // exactly as for a conversation that does not exist.
                        for target in [conv, SecureRandom.bytes(count: 16)] {
                            await expectServerError(.notMember) { try await cc.send(target, epoch: 1, Array("let me in".utf8)) }
                            await expectServerError(.notMember) {
                                try await cc.call(.listMembers(.with { $0.convID = .init(target) }))
                            }
                            await expectServerError(.notMember) {
                                try await cc.call(.fetchGroupInfo(.with { $0.convID = .init(target) }))
                            }
                            await expectServerError(.notMember) { try await cc.ack(target, 1) }
                        }
                        await expectServerError(.conversationExists) { try await cc.createConversation(conv) }
                        try await ca.send(conv, epoch: 1, Array("before".utf8))
                        // Alice removes Bob: he gets that Commit, and nothing after it.
                        let removal = try await ca.send(conv, .commit, epoch: 1, Array("remove bob".utf8), removed: [bob.id])
                        #expect(removal.seq == 3)
                        try await ca.send(conv, epoch: 2, Array("after".utf8))
                        // (Bob joined with the Commit at seq 1: he reads after it.)
                        let bobs = try await cb.deliveries(2)
                        #expect(bobs.map(\.seq) == [2, 3])
                        try await cb.expectQuiet(for: .milliseconds(400))
                        await expectServerError(.notMember) { try await cb.send(conv, epoch: 2, Array("still here?".utf8)) }
                        try await cc.expectQuiet(for: .milliseconds(100))
                    }
                }
                // Reconnecting, Bob still reads only up to his removal.
                try await gateway.connected(b) { cb in
                    let backlog = try await cb.backlog()
                    #expect(backlog.map(\.seq) == [2, 3])
                    // A removed user's device may still ack, up to the removing Commit (beyond it
                    // the cursor stops there); every other request is not_member (§4.2, §5).
                    try await cb.ack(conv, 3)
                    try await cb.ack(conv, 4)
                    await expectServerError(.notMember) { try await cb.call(.listMembers(.with { $0.convID = .init(conv) })) }
                }
                try await gateway.connected(b) { cb in
                    let backlog = try await cb.backlog()
                    #expect(backlog.isEmpty)
                }
                // Blocks: Carol blocks Alice, who can then neither add her nor claim her KeyPackages.
                try await gateway.connected(c) { cc in
                    try await cc.call(
                        .setBlocked(
                            .with {
                                $0.userID = .init(alice.id)
                                $0.blocked = true
                            }
                        )
                    )
                    try await cc.call(.uploadKeyPackages(.with { $0.keyPackages = [.init(try c.keyPackage())] }))
                }
                await expectServerError(.blocked) {
                    try await ca.send(
                        conv,
                        .commit,
                        epoch: 2,
                        Array("add carol".utf8),
                        added: [carol.id],
                        welcome: ([c.deviceID.bytes], [1])
                    )
                }
                await expectServerError(.blocked) {
                    try await ca.call(
                        .claimKeyPackages(
                            .with {
                                $0.userID = .init(carol.id)
                                $0.cipherSuite = 1
                            }
                        )
                    )
                }
                // A Welcome for a device that is not the added user's is refused.
                await expectServerError(.badWelcome) {
                    try await ca.send(
                        conv,
                        .commit,
                        epoch: 2,
                        Array("add bob".utf8),
                        added: [bob.id],
                        welcome: ([c.deviceID.bytes], [1])
                    )
                }
                // Re-added, Bob reads from the re-adding Commit on.
                let readd = try await ca.send(
                    conv,
                    .commit,
                    epoch: 2,
                    Array("add bob".utf8),
                    added: [bob.id],
                    welcome: ([b.deviceID.bytes], [2])
                )
                try await gateway.connected(b) { cb in
                    let welcome = try await cb.next("Welcome") { if case .welcome = $0.body { true } else { false } }
                    #expect(welcome.welcome.seq == readd.seq)
                    let backlog = try await cb.backlog()
                    #expect(backlog.isEmpty)
                    try await ca.send(conv, epoch: 3, Array("welcome back".utf8))
                    #expect(try await cb.deliveries(1).map(Self.text) == ["welcome back"])
                }
            }
        }
    }

    @Test func keyPackageClaimsNeverShareAPackage() async throws {
        let config = GatewayHarness.baseGatewayConfig + "\nkey_packages_per_device = 60\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            let (bob, claimer) = (User(), User())
            let b = try bob.device("b")
            let packages = try (0..<40).map { _ in try b.keyPackage() }
            let lastResort = try b.keyPackage()
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                // One package that is not this device's spoils the whole upload, which names it.
                let foreign = try claimer.device().keyPackage()
                do {
                    try await cb.call(.uploadKeyPackages(.with { $0.keyPackages = [.init(packages[0]), .init(foreign)] }))
                    Issue.record("a foreign KeyPackage was accepted")
                } catch let error as GatewayClientError {
                    #expect(error.serverCode == .badKeyPackage)
                    #expect(error.message.contains("key_packages[1]"))
                }
                await expectServerError(.badKeyPackage) {
                    try await cb.call(.uploadKeyPackages(.with { $0.keyPackages = [.init([0, 1, 2, 3])] }))
                }
                await expectServerError(.tooManyKeyPackages) {
                    try await cb.call(
                        .uploadKeyPackages(.with { $0.keyPackages = Array(repeating: .init(packages[0]), count: 101) })
                    )
                }
                try await cb.call(
                    .uploadKeyPackages(
                        .with {
                            $0.keyPackages = packages.map { .init($0) }
                            $0.lastResort = .init(lastResort)
                        }
                    )
                )
                // The per-device cap (60 here) counts what is stored.
                await expectServerError(.tooManyKeyPackages) {
                    try await cb.call(.uploadKeyPackages(.with { $0.keyPackages = Array(packages.prefix(21)).map { .init($0) } }))
                }
                let count = try await cb.call(.countKeyPackages(.with { $0.cipherSuite = 1 })).count
                #expect(count.count == 40 && count.hasLastResort_p)

                // 100 claims at once over 25 connections of 25 claimer devices.
                let claimers = try (0..<25).map { try claimer.device("c\($0)") }
                let results = try await withThrowingTaskGroup(of: [Polygate_Gateway_V1_ClaimedKeyPackage].self) { group in
                    for device in claimers {
                        group.addTask {
                            try await gateway.connected(device) { connection in
                                try await withThrowingTaskGroup(of: [Polygate_Gateway_V1_ClaimedKeyPackage].self) { inner in
                                    for _ in 0..<4 {
                                        inner.addTask {
                                            try await connection.call(
                                                .claimKeyPackages(
                                                    .with {
                                                        $0.userID = .init(bob.id)
                                                        $0.cipherSuite = 1
                                                    }
                                                )
                                            )
                                            .claim.keyPackages
                                        }
                                    }
                                    var all: [Polygate_Gateway_V1_ClaimedKeyPackage] = []
                                    for try await claimed in inner { all += claimed }
                                    return all
                                }
                            }
                        }
                    }
                    var all: [Polygate_Gateway_V1_ClaimedKeyPackage] = []
                    for try await claimed in group { all += claimed }
                    return all
                }
                #expect(results.count == 100)
                #expect(results.allSatisfy { DeviceID($0.deviceID) == b.deviceID })
                let oneTime = results.filter { !$0.lastResort }.map { [UInt8]($0.keyPackage) }
                #expect(oneTime.count == 40)
                #expect(Set(oneTime) == Set(packages))
                #expect(results.filter(\.lastResort).allSatisfy { [UInt8]($0.keyPackage) == lastResort })
                // Bob's device was told its pool ran low, and the count says why.
                let low = try await cb.next("KeyPackagesLow") { if case .keyPackagesLow = $0.body { true } else { false } }
                #expect(low.keyPackagesLow.cipherSuite == 1)
                #expect(low.keyPackagesLow.count < 10)
                let after = try await cb.call(.countKeyPackages(.with { $0.cipherSuite = 1 })).count
                #expect(after.count == 0 && after.hasLastResort_p)
            }
            try await withDatabase(gateway.databaseURL) { database in
                let claims = try await database.query("SELECT count(*) FROM audit_ledger WHERE event = 'keypackage.claimed'")
                #expect(try claims[0][0].decode(Int64.self) == 100)
            }
        }
    }

    @Test func aDeviceBehindRetentionIsToldSo() async throws {
        let config = GatewayHarness.baseGatewayConfig + "\nretention = \"2s\"\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.register(b)
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                for n in 0..<3 { try await ca.send(conv, epoch: 1, Array("old \(n)".utf8)) }
                // Wait for the daemon's retention sweep to prune them.
                try await withDatabase(gateway.databaseURL) { database in
                    let deadline = ContinuousClock.now + .seconds(20)
                    while ContinuousClock.now < deadline {
                        let left = try await database.query("SELECT count(*) FROM gw_log")
                        if try left[0][0].decode(Int64.self) == 0 { return }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    throw TestFailure("the log was not pruned")
                }
                try await ca.send(conv, epoch: 1, Array("new 1".utf8))
                try await ca.send(conv, epoch: 1, Array("new 2".utf8))
            }
            try await gateway.connected(b) { cb in
                let behind = try await cb.next("BehindRetention") { if case .behind = $0.body { true } else { false } }
                #expect([UInt8](behind.behind.convID) == conv)
                #expect(behind.behind.oldestSeq == 5)
                let backlog = try await cb.backlog()
                #expect(backlog.map(\.seq) == [5, 6])
                #expect(backlog.map(Self.text) == ["new 1", "new 2"])
            }
        }
    }
}
