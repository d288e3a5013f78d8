import Control
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

/// What a revocation does through the real daemon: the revoked device stops, and its retries
/// cost nobody else anything; the members who share a conversation with it learn of it, live
/// or by asking, so that one of them removes its leaves (docs/GATEWAY_SPEC.md §3.2, §5).
@Suite struct GatewayRevocationTests {
    typealias User = GatewayHarness.User

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    /// Issue 15: a revoked device's UI retried every 15–30 s and each attempt counted against
    /// its address, so after a few minutes everyone behind the same NAT, proxy or CDN got 429.
    @Test func aRevokedDeviceRetryingNeverLocksOutItsAddress() async throws {
        let config = GatewayHarness.baseGatewayConfig.replacing(
            "auth_failures_per_ip = \"1000/1m\"",
            with: "auth_failures_per_ip = \"3/10m\""
        )
        try await GatewayHarness.run(gateway: config) { gateway in
            let alice = User()
            let (phone, laptop) = (try alice.device("phone"), try alice.device("laptop"))
            try await gateway.register(phone, laptop)
            try await Gwctl.ok(["device", "revoke", Self.hex(laptop.deviceID.bytes)], socket: gateway.controlPath)
            // Ten tries of the revoked device, from the address everyone here shares: each is
            // refused with bad_certificate and closed with 4003 …
            for _ in 0..<10 {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                    await expectServerError(.badCertificate) { try await connection.authenticate(laptop) }
                    try await expectClosed(connection, CloseCode.deviceRevoked)
                }
            }
            // … and the address is not refused: another device still gets in.
            try await gateway.connected(phone) { connection in _ = try await connection.backlog() }
            // The stream of retries is recorded, but not each one (at most 3 at once).
            let failures = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "auth.failed"], socket: gateway.controlPath)
                .items()
            #expect((1...3).contains(failures.count), "\(failures.count) auth.failed rows")
            #expect(failures.allSatisfy { $0["details"]?.string?.contains("\"revoked\": \"true\"") == true })
            // A failure that is not a known device's still counts against the address.
            let stranger = try User().device()
            for _ in 0..<3 {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                    await expectServerError(.unknownDevice) { try await connection.authenticate(stranger, register: false) }
                }
            }
            do {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { _ in }
                Issue.record("admitted after three failed authentications")
            } catch let error as GatewayClientError {
                #expect(error.httpStatus == 429)
            }
        }
    }

    /// Issue 15: nothing told the remaining members, so a revoked device's leaf stayed in every
    /// group and kept being encrypted to.
    @Test func membersLearnOfARevokedDeviceLiveAndByAsking() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob, eve) = (User(), User(), User())
            let (a1, a2, b1, e1) = (try alice.device("a1"), try alice.device("a2"), try bob.device(), try eve.device())
            try await gateway.register(a2)
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a1) { ca in
                try await gateway.connected(b1) { cb in
                    try await gateway.connected(e1) { ce in
                        for connection in [ca, cb, ce] { _ = try await connection.backlog() }
                        try await ca.createConversation(conv)
                        _ = try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b1.deviceID.bytes])
                        _ = try await cb.next("Welcome") {
                            if case .welcome = $0.body { return true }
                            return false
                        }
                        // Before: nobody's device is revoked.
                        let ids = [a1.deviceID, a2.deviceID, e1.deviceID].map { Data($0) }
                        #expect(try await cb.call(.checkDevices(.with { $0.deviceIds = ids })).devices.revokedDeviceIds.isEmpty)

                        try await Gwctl.ok(["device", "revoke", Self.hex(a2.deviceID.bytes)], socket: gateway.controlPath)
                        // Bob shares a conversation with alice, and alice's own other device is
                        // told too; eve, who shares nothing, is not.
                        for connection in [cb, ca] {
                            let told = try await connection.next("DeviceRevoked") {
                                if case .deviceRevoked = $0.body { return true }
                                return false
                            }.deviceRevoked
                            #expect(DeviceID(told.deviceID) == a2.deviceID && [UInt8](told.userID) == alice.id)
                        }
                        try await ce.expectQuiet(for: .milliseconds(500))
                        // Asking gives the same answer, in the order asked, to those who may know.
                        let checked = try await cb.call(.checkDevices(.with { $0.deviceIds = ids })).devices
                        #expect(checked.revokedDeviceIds.map { DeviceID($0) } == [a2.deviceID])
                        #expect(
                            try await ca.call(.checkDevices(.with { $0.deviceIds = ids })).devices.revokedDeviceIds.count == 1
                        )
                        #expect(try await ce.call(.checkDevices(.with { $0.deviceIds = ids })).devices.revokedDeviceIds.isEmpty)
                        // Malformed requests.
                        await expectServerError(.badRequest) {
                            try await cb.call(.checkDevices(.with { $0.deviceIds = [Data([1, 2, 3])] }))
                        }
                        await expectServerError(.badRequest) {
                            try await cb.call(
                                .checkDevices(
                                    .with { $0.deviceIds = (0...1000).map { _ in Data(SecureRandom.bytes(count: 32)) } }
                                )
                            )
                        }
                    }
                }
            }
        }
    }
}

/// Blocks through the real daemon: what a block closes, and what it must not give away
/// (docs/GATEWAY_SPEC.md §4.2, §10.2).
@Suite struct GatewayBlockTests {
    typealias User = GatewayHarness.User

    static func block(_ connection: GatewayConnection, _ user: [UInt8], _ blocked: Bool = true) async throws {
        try await connection.call(
            .setBlocked(
                .with {
                    $0.userID = .init(user)
                    $0.blocked = blocked
                }
            )
        )
    }

    /// Issue 15: after carol blocked alice, alice's messages in their DM still reached carol.
    @Test func aBlockClosesATwoMemberConversationBothWaysAndOnlyThat() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, carol, dave) = (User(), User(), User())
            let (a, c, d) = (try alice.device(), try carol.device(), try dave.device())
            try await gateway.register(d)
            let dm = SecureRandom.bytes(count: 16)
            let room = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                try await gateway.connected(c) { cc in
                    for connection in [ca, cc] { _ = try await connection.backlog() }
                    try await ca.createConversation(dm)
                    _ = try await ca.add(dm, epoch: 0, users: [carol.id], devices: [c.deviceID.bytes])
                    try await ca.createConversation(room)
                    _ = try await ca.add(
                        room,
                        epoch: 0,
                        users: [carol.id, dave.id],
                        devices: [c.deviceID.bytes, d.deviceID.bytes]
                    )
                    let beforeID = SecureRandom.bytes(count: 16)
                    _ = try await ca.send(dm, epoch: 1, Array("before".utf8), msgID: beforeID)

                    try await Self.block(cc, alice.id)
                    #expect(try await cc.call(.listBlocked(.init())).blocked.userIds.map { [UInt8]($0) } == [alice.id])
                    #expect(try await ca.call(.listBlocked(.init())).blocked.userIds.isEmpty)
                    // In the DM: nothing more is said, by either of them.
                    await expectServerError(.blocked) { _ = try await ca.send(dm, epoch: 1, Array("after".utf8)) }
                    await expectServerError(.blocked) { _ = try await cc.send(dm, epoch: 1, Array("answer".utf8)) }
                    // A retry of a message sent before the block is still its duplicate.
                    #expect(try await ca.send(dm, epoch: 1, Array("before".utf8), msgID: beforeID).duplicate)
                    // Membership still changes (either may leave): a Commit is no message.
                    let commit = try await ca.send(dm, .commit, epoch: 1, Array("commit: update".utf8))
                    #expect(commit.epoch == 2)
                    // In a room of three, the block does not silence anyone (clients hide them).
                    _ = try await ca.send(room, epoch: 1, Array("to the room".utf8))
                    // Unblocked, the DM works again.
                    try await Self.block(cc, alice.id, false)
                    _ = try await ca.send(dm, epoch: 2, Array("after the unblock".utf8))
                    #expect(try await cc.call(.listBlocked(.init())).blocked.userIds.isEmpty)
                }
            }
        }
    }

    /// Issue 15: a request to someone who blocked you got no OUTGOING event and no list entry,
    /// while one to a user who does not exist got both — the block showed. Now they look alike.
    @Test func aContactRequestToABlockerLooksLikeOneToNobody() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            let nobody = SecureRandom.bytes(count: 32)
            try await gateway.connected(a) { ca in
                try await gateway.connected(b) { cb in
                    for connection in [ca, cb] { _ = try await connection.backlog() }
                    try await Self.block(ca, bob.id)
                    var seen: [[UInt8]: Polygate_Gateway_V1_ContactState] = [:]
                    for target in [alice.id, nobody] {
                        try await cb.call(.contactRequest(.with { $0.userID = .init(target) }))
                        seen[target] = try await GatewayPresenceTests.contactEvent(cb, about: target)
                    }
                    #expect(seen[alice.id] == .outgoing && seen[nobody] == .outgoing)
                    let listed = try await cb.call(.listContacts(.init())).contacts.contacts
                    #expect(Set(listed.map { [UInt8]($0.userID) }) == [alice.id, nobody])
                    #expect(listed.allSatisfy { $0.state == .outgoing })
                    for target in [alice.id, nobody] {
                        await expectServerError(.noRequest) {
                            try await cb.call(.contactAccept(.with { $0.userID = .init(target) }))
                        }
                    }
                    // Alice hears nothing and lists nothing while she blocks him.
                    #expect(try await ca.call(.listContacts(.init())).contacts.contacts.isEmpty)
                    try await ca.expectQuiet(for: .milliseconds(300))
                }
            }
        }
    }
}
