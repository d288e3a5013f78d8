import GatewayWire
import Logging
import Primitives
import Store
import TestSupport
import Testing

@testable import Gateway

/// The Delivery Service's transactions against a real PostgreSQL: atomic claims, the epoch
/// compare-and-set, idempotency, membership and cursors.
@Suite struct DeliveryRepositoryTests {
    struct Device {
        let user: UserID
        let id: DeviceID
    }

    static func withRepository(_ body: (DeliveryRepository, PostgresClient) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 8), logger: .quiet)
            defer { client.shutdown() }
            _ = try await PolygateSchema.migrator.migrate(using: client, logger: .quiet)
            try await body(DeliveryRepository(database: client, gatewayID: "gw_test"), client)
        }
    }

    /// A registered device of `user` (a fresh user when nil).
    static func device(_ repository: DeliveryRepository, user systemKey: SecretBytes? = nil) async throws -> Device {
        let system = systemKey ?? SignatureAlgorithm.ed25519.generatePrivateKey()
        let deviceKey = try SignatureAlgorithm.ed25519.publicKey(for: SignatureAlgorithm.ed25519.generatePrivateKey())
        let signed = try VerifiedDeviceCertificate.issue(
            systemKey: system,
            deviceKey: deviceKey,
            deviceName: "test",
            issuedAtMs: 0
        )
        let certificate = try VerifiedDeviceCertificate(signed, nowMs: 1)
        #expect(try await repository.register(certificate, ip: "192.0.2.1"))
        return Device(user: certificate.userID, id: certificate.deviceID)
    }

    static func submission(
        _ conv: ConversationID,
        _ from: Device,
        _ kind: Polygate_Gateway_V1_MessageKind,
        epoch: UInt64,
        _ text: String
    ) -> Submission {
        Submission(
            convID: conv,
            msgID: MessageID(SecureRandom.bytes(count: 16)),
            senderUser: from.user,
            senderDevice: from.id,
            kind: kind,
            epoch: epoch,
            message: Array(text.utf8)
        )
    }

    static func expectCode(
        _ code: ErrorCode,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected \(code)", sourceLocation: sourceLocation)
        } catch let error as GatewayWireError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func devicesRegisterOnceAndCanBeRevoked() async throws {
        try await Self.withRepository { repository, _ in
            let device = try await Self.device(repository)
            #expect(try await repository.device(device.id) == .active(userID: device.user))
            try await repository.revoke(device.id)
            #expect(try await repository.device(device.id) == .revoked)
            #expect(try await repository.device(DeviceID(SecureRandom.bytes(count: 32))) == nil)
        }
    }

    /// 100 concurrent claims against 40 one-time packages on one device: each package is handed
    /// out exactly once, the other 60 claims get the last-resort package.
    @Test func concurrentClaimsNeverShareAKeyPackage() async throws {
        try await Self.withRepository { repository, _ in
            let bob = try await Self.device(repository)
            let claimer = try await Self.device(repository)
            let packages = (0..<40).map { (bytes: Array("kp-\($0)".utf8), expiresAtMs: Optional<Int64>.none) }
            try await repository.storeKeyPackages(
                deviceID: bob.id,
                cipherSuite: 1,
                oneTime: packages,
                lastResort: (Array("last".utf8), nil)
            )
            // An expired one never goes out.
            try await repository.storeKeyPackages(
                deviceID: bob.id,
                cipherSuite: 1,
                oneTime: [(Array("old".utf8), 5)],
                lastResort: nil
            )
            #expect(try await repository.countKeyPackages(deviceID: bob.id, cipherSuite: 1, nowMs: 10) == (40, true))
            let results = try await withThrowingTaskGroup(of: [ClaimedKeyPackage].self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await repository.claimKeyPackages(
                            userID: bob.user,
                            cipherSuite: 1,
                            claimerDevice: claimer.id,
                            nowMs: 10
                        )
                    }
                }
                var all: [[ClaimedKeyPackage]] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.allSatisfy { $0.count == 1 })
            let claimed = results.flatMap { $0 }
            let oneTime = claimed.filter { !$0.lastResort }.map(\.keyPackage)
            #expect(oneTime.count == 40)
            #expect(Set(oneTime).count == 40)
            #expect(Set(oneTime) == Set(packages.map(\.bytes)))
            #expect(claimed.filter(\.lastResort).allSatisfy { $0.keyPackage == Array("last".utf8) })
            #expect(try await repository.countKeyPackages(deviceID: bob.id, cipherSuite: 1, nowMs: 10) == (0, true))
            // Another suite has nothing; the claimer's own device is never claimed.
            #expect(
                try await repository.claimKeyPackages(userID: bob.user, cipherSuite: 2, claimerDevice: claimer.id, nowMs: 10)
                    .isEmpty
            )
            #expect(
                try await repository.claimKeyPackages(userID: bob.user, cipherSuite: 1, claimerDevice: bob.id, nowMs: 10).isEmpty
            )
        }
    }

    @Test func oneCommitWinsEachEpochAndMembershipFollowsIt() async throws {
        try await Self.withRepository { repository, _ in
            let alice = try await Self.device(repository)
            let bobKey = SignatureAlgorithm.ed25519.generatePrivateKey()
            let bob = try await Self.device(repository, user: bobKey)
            let carol = try await Self.device(repository)
            let conv = ConversationID(SecureRandom.bytes(count: 32))
            try await repository.createConversation(convID: conv, creator: alice.user, groupInfo: [0])
            await Self.expectCode(.conversationExists) {
                try await repository.createConversation(convID: conv, creator: bob.user, groupInfo: [0])
            }

            // Non-members can neither write nor read.
            await Self.expectCode(.notMember) {
                _ = try await repository.append(Self.submission(conv, bob, .application, epoch: 0, "hi"), nowMs: 1)
            }
            #expect(try await repository.members(convID: conv, asker: bob.user) == nil)

            // Alice adds Bob (epoch 0 → 1) with a Welcome for his device.
            var add = Self.submission(conv, alice, .commit, epoch: 0, "commit add bob")
            add.addedUsers = [bob.user]
            add.welcomeDevices = [bob.id]
            add.welcome = Array("welcome".utf8)
            add.groupInfo = [1]
            #expect(
                try await repository.append(add, nowMs: 1) == Appended(seq: 1, epoch: 1, duplicate: false, convHome: "gw_test")
            )
            #expect(try await repository.members(convID: conv, asker: bob.user)?.users.count == 2)
            #expect(try await repository.welcomes(deviceID: bob.id).map(\.seq) == [1])

            // Twenty concurrent Commits on epoch 1: exactly one wins, the rest are stale.
            let outcomes = await withTaskGroup(of: Result<Appended, any Error>.self) { group in
                for n in 0..<20 {
                    let sender = n % 2 == 0 ? alice : bob
                    var commit = Self.submission(conv, sender, .commit, epoch: 1, "commit \(n)")
                    commit.groupInfo = [2]
                    group.addTask {
                        do {
                            return .success(try await repository.append(commit, nowMs: 2))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<Appended, any Error>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.compactMap { try? $0.get() }
            #expect(winners == [Appended(seq: 2, epoch: 2, duplicate: false, convHome: "gw_test")])
            for case .failure(let error) in outcomes {
                #expect((error as? GatewayWireError)?.code == .staleEpoch)
                #expect((error as? GatewayWireError)?.currentEpoch == 2)
                #expect((error as? GatewayWireError)?.wire.currentEpoch == 2)
            }

            // Application messages: current and two epochs back, not older, not future.
            _ = try await repository.append(Self.submission(conv, bob, .application, epoch: 2, "now"), nowMs: 3)
            _ = try await repository.append(Self.submission(conv, bob, .application, epoch: 0, "late"), nowMs: 3)
            await Self.expectCode(.staleEpoch) {
                _ = try await repository.append(Self.submission(conv, bob, .application, epoch: 3, "future"), nowMs: 3)
            }
            await Self.expectCode(.staleEpoch) {
                _ = try await repository.append(Self.submission(conv, bob, .proposal, epoch: 1, "old proposal"), nowMs: 3)
            }

            // A Welcome for a device of neither an added user nor a member is refused, and
            // nothing changes.
            let dave = try await Self.device(repository)
            var bad = Self.submission(conv, alice, .commit, epoch: 2, "commit add carol")
            bad.addedUsers = [carol.user]
            bad.welcomeDevices = [dave.id]
            await Self.expectCode(.badWelcome) { _ = try await repository.append(bad, nowMs: 4) }
            // Carol blocked Alice: Alice cannot add her.
            try await repository.setBlocked(user: carol.user, blocked: alice.user, true)
            bad.welcomeDevices = [carol.id]
            await Self.expectCode(.blocked) { _ = try await repository.append(bad, nowMs: 4) }
            #expect(try await repository.members(convID: conv, asker: alice.user)?.epoch == 2)

            // The log is gap-free: failed appends consumed no seq.
            let entries = try await repository.entries(convID: conv, after: 0)
            #expect(entries.map(\.seq) == [1, 2, 3, 4])
            #expect(entries.last?.message == Array("late".utf8))
            #expect(entries.allSatisfy { $0.originGateway == "gw_test" })

            // Bob removes Alice: she can no longer write.
            var remove = Self.submission(conv, bob, .commit, epoch: 2, "remove alice")
            remove.removedUsers = [alice.user]
            remove.groupInfo = [3]
            #expect(try await repository.append(remove, nowMs: 5).seq == 5)
            await Self.expectCode(.notMember) {
                _ = try await repository.append(Self.submission(conv, alice, .application, epoch: 3, "?"), nowMs: 6)
            }

            // A member's other device may be Welcomed (no user is added): Bob's laptop joins.
            let laptop = try await Self.device(repository, user: bobKey)
            var own = Self.submission(conv, bob, .commit, epoch: 3, "add bob's laptop")
            own.welcomeDevices = [laptop.id]
            own.welcome = Array("welcome laptop".utf8)
            own.groupInfo = [4]
            #expect(try await repository.append(own, nowMs: 7).seq == 6)
            #expect(try await repository.welcomes(deviceID: laptop.id).map(\.seq) == [6])
            // A removed member's devices may not.
            let alicePhone = try await Self.device(repository)
            var stale = Self.submission(conv, bob, .commit, epoch: 4, "welcome a stranger")
            stale.welcomeDevices = [alicePhone.id, alice.id]
            await Self.expectCode(.badWelcome) { _ = try await repository.append(stale, nowMs: 8) }
        }
    }

    @Test func retriesAreIdempotentAndCursorsOnlyMoveForward() async throws {
        try await Self.withRepository { repository, _ in
            let alice = try await Self.device(repository)
            let conv = ConversationID(SecureRandom.bytes(count: 16))
            try await repository.createConversation(convID: conv, creator: alice.user, groupInfo: [0])
            let message = Self.submission(conv, alice, .application, epoch: 0, "once")
            // The same msg_id sent ten times at once: one entry, every answer names its seq.
            let answers = try await withThrowingTaskGroup(of: Appended.self) { group in
                for _ in 0..<10 { group.addTask { try await repository.append(message, nowMs: 1) } }
                var all: [Appended] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(Set(answers.map(\.seq)) == [1])
            #expect(answers.filter { !$0.duplicate }.count == 1)
            #expect(try await repository.entries(convID: conv, after: 0).count == 1)

            #expect(try await repository.cursors(deviceID: alice.id, userID: alice.user).map(\.after) == [0])
            try await repository.ack(deviceID: alice.id, convID: conv, seq: 1)
            try await repository.ack(deviceID: alice.id, convID: conv, seq: 0)
            #expect(try await repository.cursors(deviceID: alice.id, userID: alice.user).map(\.after) == [1])
        }
    }
}
