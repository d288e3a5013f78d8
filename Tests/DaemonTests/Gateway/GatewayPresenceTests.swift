import Control
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Presence through the real daemon (docs/GATEWAY_SPEC.md §10): leases, mutual consent,
/// watchlists, invisibility, coarse last-seen, several daemons.
@Suite struct GatewayPresenceTests {
    typealias User = GatewayHarness.User

    static let config =
        GatewayHarness.baseGatewayConfig + """

            [presence]
            lease_ttl = "2s"
            coalesce = "100ms"
            """

    /// For tests that do not watch leases expire: a lease outlives any stall of a loaded CI
    /// machine (with the 2 s TTL, a watch right after a renewal saw "offline" there).
    static let steady =
        GatewayHarness.baseGatewayConfig + """

            [presence]
            lease_ttl = "60s"
            coalesce = "100ms"
            """

    static func ping(_ connection: GatewayConnection) async throws {
        var ping = Polygate_Gateway_V1_ClientFrame()
        ping.ping.clientTimeMs = 1
        try await connection.send(ping)
    }

    /// The next presence update about `user`.
    static func presence(
        _ connection: GatewayConnection,
        of user: [UInt8],
        timeout: Duration = .seconds(10)
    ) async throws -> Polygate_Gateway_V1_Presence {
        try await connection.next(timeout: timeout, "Presence") {
            if case .presence(let presence) = $0.body { return [UInt8](presence.userID) == user }
            return false
        }.presence
    }

    /// For `window`, no presence of `user` other than `status` (repeats of it are allowed).
    static func expectNoChange(
        _ connection: GatewayConnection,
        of user: [UInt8],
        from status: Polygate_Gateway_V1_PresenceStatus,
        for window: Duration,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let deadline = ContinuousClock.now + window
        while ContinuousClock.now < deadline {
            do {
                guard let frame = try await connection.nextEvent(timeout: deadline - ContinuousClock.now) else { return }
                if case .presence(let presence) = frame.body, [UInt8](presence.userID) == user {
                    #expect(presence.status == status, "presence changed to \(presence.status)", sourceLocation: sourceLocation)
                }
            } catch let error as GatewayClientError where error.code == .timeout {
                return
            }
        }
    }

    /// Watches `user` and waits until it is `status` (now or by a later update).
    static func watchUntil(
        _ connection: GatewayConnection,
        _ user: [UInt8],
        is status: Polygate_Gateway_V1_PresenceStatus
    ) async throws {
        if try await Self.watch(connection, [user]).first?.status == status { return }
        while try await Self.presence(connection, of: user).status != status {}
    }

    static func contactEvent(
        _ connection: GatewayConnection,
        about user: [UInt8]
    ) async throws -> Polygate_Gateway_V1_ContactState {
        try await connection.next("ContactEvent") {
            if case .contact(let event) = $0.body { return [UInt8](event.userID) == user }
            return false
        }.contact.state
    }

    static func watch(_ connection: GatewayConnection, _ users: [[UInt8]]) async throws -> [Polygate_Gateway_V1_Presence] {
        try await connection.call(.watch(.with { $0.userIds = users.map { .init($0) } })).watch.presences
    }

    /// Renews the leases of `connections` (a ping, then a request that is answered after it).
    static func renew(_ connections: GatewayConnection...) async throws {
        for connection in connections {
            try await Self.ping(connection)
            try await connection.call(.listContacts(.init()))
        }
    }

    /// Makes `a` and `b` mutual contacts (a asks, b accepts), and waits until both were told.
    /// Both leases are renewed first (a ping is handled before the next request on its
    /// connection), so a watch right after sees them online however slowly the test got here.
    static func befriend(_ ca: GatewayConnection, _ a: [UInt8], _ cb: GatewayConnection, _ b: [UInt8]) async throws {
        try await Self.renew(ca, cb)
        try await ca.call(.contactRequest(.with { $0.userID = .init(b) }))
        try await cb.call(.contactAccept(.with { $0.userID = .init(a) }))
        for (connection, other) in [(ca, b), (cb, a)] {
            while try await Self.contactEvent(connection, about: other) != .mutual {}
        }
    }

    /// A device that leaves right after authenticating (while the daemon still reads its user's
    /// presence modes) holds no lease: it is offline at once, not after the 60 s TTL.
    @Test func aDeviceThatLeavesAtOnceHoldsNoLease() async throws {
        try await GatewayHarness.run { gateway in
            let devices = try (0..<40).map { _ in try User().device() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in devices { group.addTask { try await gateway.register(device) } }
                try await group.waitForAll()
            }
            let deadline = ContinuousClock.now + .seconds(10)
            var status = try await Gwctl.ok(["--json", "status"], socket: gateway.controlPath).json()
            while status["connections"]?.int != 0 || status["leases"]?.int != 0 {
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(100))
                status = try await Gwctl.ok(["--json", "status"], socket: gateway.controlPath).json()
            }
            #expect(status["connections"]?.int == 0)
            #expect(status["leases"]?.int == 0, "leases without connections: \(status)")
        }
    }

    @Test func leasesRenewExpireAndCountEveryDevice() async throws {
        try await GatewayHarness.run(gateway: Self.config) { gateway in
            let (alice, bob) = (User(), User())
            let (phone, laptop, b) = (try alice.device("phone"), try alice.device("laptop"), try bob.device())
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(phone) { cphone in
                    try await Self.befriend(cphone, alice.id, cb, bob.id)
                    let now = try await Self.watch(cb, [alice.id])
                    #expect(now.map(\.status) == [.online])
                    #expect(now.map(\.lastSeen) == [.now])
                    // The watch said online: no update to anything else follows while she pings.
                    // Pings keep the lease: no change for three seconds (more than the 2 s TTL).
                    for _ in 0..<6 {
                        try await Self.ping(cphone)
                        try await Self.expectNoChange(cb, of: alice.id, from: .online, for: .milliseconds(500))
                    }
                    // The laptop joins and leaves: Alice stays online throughout.
                    try await gateway.connected(laptop) { claptop in
                        _ = try await claptop.backlog()
                        try await Self.ping(cphone)
                    }
                    try await Self.ping(cphone)
                    try await Self.expectNoChange(cb, of: alice.id, from: .online, for: .milliseconds(600))
                    // The phone falls silent without disconnecting: its lease ends within the TTL.
                    let silent = ContinuousClock.now
                    let offline = try await Self.presence(cb, of: alice.id)
                    #expect(offline.status == .offline)
                    #expect(offline.lastSeen == .hour)
                    #expect(ContinuousClock.now - silent < .seconds(4))
                    // Back with a ping: a new lease.
                    try await Self.ping(cphone)
                    #expect(try await Self.presence(cb, of: alice.id).status == .online)
                }
                // The last device disconnects: offline at once (well within the TTL).
                #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(1)).status == .offline)
            }
        }
    }

    /// A device's lease belongs to the device, not to one connection: with two connections of
    /// one device open, closing one leaves it online; closing the other takes it offline at once
    /// (well within the 60 s TTL).
    @Test func aDeviceStaysOnlineUntilItsLastConnectionCloses() async throws {
        try await GatewayHarness.run(gateway: Self.steady) { gateway in
            let (alice, bob) = (User(), User())
            let (phone, b) = (try alice.device("phone"), try bob.device())
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(phone) { first in
                    try await Self.befriend(first, alice.id, cb, bob.id)
                    #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.online])
                    try await gateway.connected(phone) { second in
                        _ = try await second.backlog()
                    }
                    try await Self.expectNoChange(cb, of: alice.id, from: .online, for: .milliseconds(800))
                }
                #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(2)).status == .offline)
            }
        }
    }

    @Test func onlyMutualContactsSeeEachOtherAndProbingLearnsNothing() async throws {
        try await GatewayHarness.run(gateway: Self.steady) { gateway in
            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device(), try bob.device(), try carol.device())
            try await gateway.connected(a) { ca in
                try await gateway.connected(b) { cb in
                    try await gateway.connected(c) { cc in
                        for connection in [ca, cb, cc] { _ = try await connection.backlog() }
                        // Accepting what nobody asked for is refused (it concerns only the caller).
                        await expectServerError(.noRequest) {
                            try await cb.call(.contactAccept(.with { $0.userID = .init(alice.id) }))
                        }
                        // Alice asks Bob: he is told; she sees it as outgoing.
                        try await ca.call(.contactRequest(.with { $0.userID = .init(bob.id) }))
                        #expect(try await Self.contactEvent(cb, about: alice.id) == .incoming)
                        #expect(try await Self.contactEvent(ca, about: bob.id) == .outgoing)
                        // A one-sided grant shows nothing either way, and looks exactly like a
                        // stranger (Carol) or a user that does not exist.
                        let nobody = SecureRandom.bytes(count: 32)
                        let fromAlice = try await Self.watch(ca, [bob.id, carol.id, nobody])
                        let fromBob = try await Self.watch(cb, [alice.id, carol.id, nobody])
                        for presences in [fromAlice, fromBob] {
                            #expect(presences.allSatisfy { $0.status == .unavailable && $0.lastSeen == .unspecified })
                            let stripped = presences.map {
                                var p = $0
                                p.userID = .init()
                                return try! p.serializedBytes() as [UInt8]
                            }
                            #expect(Set(stripped).count == 1)
                        }
                        // Carol asking a user who does not exist answers like any request (her own
                        // devices are told of her request, as always).
                        try await cc.call(.contactRequest(.with { $0.userID = .init(nobody) }))
                        #expect(try await Self.contactEvent(cc, about: nobody) == .outgoing)
                        let bobsList = try await cb.call(.listContacts(.init())).contacts.contacts
                        #expect(bobsList.map { [UInt8]($0.userID) } == [alice.id])
                        #expect(bobsList.map(\.state) == [.incoming])
                        // Bob accepts: both are told, and now they see each other.
                        try await cb.call(.contactAccept(.with { $0.userID = .init(alice.id) }))
                        #expect(try await Self.contactEvent(ca, about: bob.id) == .mutual)
                        #expect(try await Self.contactEvent(cb, about: alice.id) == .mutual)
                        try await Self.renew(ca, cb)
                        #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.online])
                        #expect(try await Self.watch(ca, [bob.id]).map(\.status) == [.online])
                        #expect(try await ca.call(.listContacts(.init())).contacts.contacts.map(\.state) == [.mutual])
                        // Carol, a stranger, learned nothing all along.
                        try await cc.expectQuiet(for: .milliseconds(300))
                    }
                }
            }
        }
    }

    @Test func revokingAndBlockingTakeEffectAtOnceForLiveWatchers() async throws {
        try await GatewayHarness.run(gateway: Self.steady) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.connected(a) { ca in
                try await gateway.connected(b) { cb in
                    for connection in [ca, cb] { _ = try await connection.backlog() }
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.online])
                    // Alice revokes: Bob is told, and his watch ends at once.
                    try await ca.call(.contactRevoke(.with { $0.userID = .init(bob.id) }))
                    #expect(try await Self.contactEvent(cb, about: alice.id) == .none)
                    #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(2)).status == .unavailable)
                    #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.unavailable])
                    // Friends again; then Alice blocks Bob.
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.online])
                    try await ca.call(
                        .setBlocked(
                            .with {
                                $0.userID = .init(bob.id)
                                $0.blocked = true
                            }
                        )
                    )
                    #expect(try await Self.contactEvent(cb, about: alice.id) == .none)
                    #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(2)).status == .unavailable)
                    #expect(try await Self.contactEvent(ca, about: bob.id) == .none)
                    // Bob asking again is answered like any request, but Alice hears nothing.
                    try await cb.call(.contactRequest(.with { $0.userID = .init(alice.id) }))
                    let alicesList = try await ca.call(.listContacts(.init())).contacts.contacts
                    #expect(alicesList.isEmpty)
                    try await ca.expectQuiet(for: .milliseconds(300))
                    // Alice cannot ask Bob while she blocks him.
                    await expectServerError(.blocked) { try await ca.call(.contactRequest(.with { $0.userID = .init(bob.id) })) }
                }
            }
        }
    }

    @Test func anInvisibleUserLooksOfflineAndItsLastSeenIsFrozen() async throws {
        try await GatewayHarness.run(gateway: Self.steady) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(a) { ca in
                    _ = try await ca.backlog()
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.online])
                    try await ca.call(.setPresence(.with { $0.invisible = true }))
                    let hidden = try await Self.presence(cb, of: alice.id)
                    #expect(hidden.status == .offline)
                    #expect(hidden.lastSeen == .hour)
                }
                let frozen = try await withDatabase(gateway.databaseURL) { database in
                    try await database.query("SELECT last_seen_ms FROM gw_presence_settings WHERE user_id = \(alice.id)")[0][0]
                        .decode(Int64.self)
                }
                // Invisible, Alice comes and goes: nothing reaches Bob, last-seen does not move.
                try await Task.sleep(for: .milliseconds(20))
                try await gateway.connected(a) { ca in
                    _ = try await ca.backlog()
                    try await Self.ping(ca)
                }
                try await cb.expectQuiet(for: .milliseconds(500))
                #expect(try await Self.watch(cb, [alice.id]).map(\.status) == [.offline])
                let after = try await withDatabase(gateway.databaseURL) { database in
                    try await database.query("SELECT last_seen_ms FROM gw_presence_settings WHERE user_id = \(alice.id)")[0][0]
                        .decode(Int64.self)
                }
                #expect(after == frozen)
                // Visible again while connected: online.
                try await gateway.connected(a) { ca in
                    try await ca.call(.setPresence(.with { $0.invisible = false }))
                    #expect(try await Self.presence(cb, of: alice.id).status == .online)
                    // Toggling fast is silently coalesced: no error, at most one frame per
                    // window for Bob, and the last request is what is stored.
                    // The toggles end on invisible, the opposite of what was stored before them,
                    // so a lost final write shows (issue 15: they ended on the stored value).
                    let toggling = ContinuousClock.now
                    for n in 0..<10 { try await ca.call(.setPresence(.with { $0.invisible = n % 2 == 1 })) }
                    let toggled = ContinuousClock.now - toggling
                    var frames = 0
                    let deadline = ContinuousClock.now + .milliseconds(700)
                    while ContinuousClock.now < deadline {
                        guard let frame = try? await cb.nextEvent(timeout: deadline - ContinuousClock.now) else { break }
                        if case .presence = frame.body { frames += 1 }
                    }
                    // One frame per 100 ms window the toggles touched: 2 when they took under
                    // 100 ms, more only on a machine so loaded that they took longer.
                    let windows = Int((toggled / .milliseconds(100)).rounded(.up)) + 1
                    #expect(frames <= min(windows, 9), "\(frames) frames for toggles over \(toggled)")
                    // The tenth request (n = 9) made her invisible: stored by the end of its window.
                    try await eventually("the last mode is stored") {
                        try await withDatabase(gateway.databaseURL) { database in
                            try await database.query("SELECT invisible FROM gw_presence_settings WHERE user_id = \(alice.id)")[0][
                                0
                            ]
                            .decode(Bool.self)
                        }
                    }
                }
            }
        }
    }

    @Test func watchlistsAreCappedAndRateLimited() async throws {
        let config = Self.config + "\nmax_watched = 3\nwatch_rate = \"4/1m\"\nwatch_burst = 4\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            let device = try User().device()
            try await gateway.connected(device) { connection in
                let ids = (0..<4).map { _ in SecureRandom.bytes(count: 32) }
                // Four ids at once: refused, whether they are contacts or not.
                await expectServerError(.watchLimit) { _ = try await Self.watch(connection, ids) }
                // An id repeated, or watched already, takes no second slot; each id asked is
                // answered, repeats included (§10.3).
                #expect(try await Self.watch(connection, [ids[0], ids[0], ids[1]]).count == 3)
                #expect(try await Self.watch(connection, Array(ids.prefix(3))).count == 3)
                await expectServerError(.watchLimit) { _ = try await Self.watch(connection, [ids[3]]) }
                try await connection.call(.unwatch(.with { $0.userIds = [.init(ids[0])] }))
                // The fifth Watch in a minute is rate limited (the refused ones counted too).
                do {
                    _ = try await Self.watch(connection, [ids[3]])
                    Issue.record("a fourth Watch was accepted")
                } catch let error as GatewayClientError {
                    #expect(error.serverCode == .rateLimited)
                }
            }
        }
    }

    @Test func presenceCrossesDaemonsAndEndsWithADeadDaemon() async throws {
        try await GatewayHarness.run(daemons: 2, gateway: Self.config, gatewayIDs: ["gw_a", "gw_b"]) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.connected(b, daemon: 1) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(a, daemon: 0) { ca in
                    _ = try await ca.backlog()
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    // Alice's lease is announced by the other daemon within a tick.
                    try await Self.watchUntil(cb, alice.id, is: .online)
                }
                #expect(try await Self.presence(cb, of: alice.id).status == .offline)
                // Alice on the other daemon again, then that daemon dies without a word.
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.daemons[0].port) { ca in
                    try await ca.authenticate(a)
                    _ = try await ca.backlog()
                    #expect(try await Self.presence(cb, of: alice.id).status == .online)
                    gateway.daemons[0].process.kill9()
                    let died = ContinuousClock.now
                    #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(10)).status == .offline)
                    #expect(ContinuousClock.now - died < .seconds(5))
                }
            }
        }
    }

    /// Issue 15 (8): `RenewLease{ttl_ms}` shorter than the time left did nothing; a lease now
    /// runs `ttl_ms` from the renewal, so a client that asks for a short lease gets one.
    @Test func aShortRenewalShortensTheLease() async throws {
        let config = GatewayHarness.baseGatewayConfig + "\n[presence]\nlease_ttl = \"60s\"\ncoalesce = \"100ms\"\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(a) { ca in
                    _ = try await ca.backlog()
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    try await Self.watchUntil(cb, alice.id, is: .online)
                    let asked = ContinuousClock.now
                    try await ca.call(.renewLease(.with { $0.ttlMs = 500 }))
                    // Offline within the short lease (and the coalescing window), not after 60 s;
                    // the connection stays open all the while.
                    #expect(try await Self.presence(cb, of: alice.id, timeout: .seconds(5)).status == .offline)
                    #expect(ContinuousClock.now - asked < .seconds(5))
                    // A ping takes the lease again, for the TTL.
                    try await Self.ping(ca)
                    #expect(try await Self.presence(cb, of: alice.id).status == .online)
                }
            }
        }
    }

    /// Issue 15 (23): daemons with different `presence.lease_ttl` forgot each other's users
    /// between heartbeats. Each announces its TTL: the other keeps its users for that long, and
    /// `gwctl check` reports the mismatch.
    @Test func daemonsWithDifferentLeaseTTLsKeepEachOthersUsersAndSaySo() async throws {
        let fast = GatewayHarness.baseGatewayConfig + "\n[presence]\nlease_ttl = \"1s\"\ncoalesce = \"100ms\"\n"
        let slow = GatewayHarness.baseGatewayConfig + "\n[presence]\nlease_ttl = \"6s\"\ncoalesce = \"100ms\"\n"
        try await GatewayHarness.run(gateways: [fast, slow], gatewayIDs: ["gw_fast", "gw_slow"]) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.connected(b, daemon: 0) { cb in
                _ = try await cb.backlog()
                try await gateway.connected(a, daemon: 1) { ca in
                    _ = try await ca.backlog()
                    try await Self.befriend(ca, alice.id, cb, bob.id)
                    try await Self.watchUntil(cb, alice.id, is: .online)
                    // The slow daemon beats every 2 s, longer than the fast daemon's 1 s TTL:
                    // alice must stay online for bob all the same (her lease runs 6 s). A ping
                    // first, so that the 6 s start now: befriending and watching could take over
                    // 1.5 s on a loaded machine, and her lease then ran out inside the window.
                    try await Self.ping(ca)
                    try await Self.expectNoChange(cb, of: alice.id, from: .online, for: .milliseconds(4500))
                    try await Self.ping(ca)
                }
            }
            let check = try await Gwctl.run(["check"], socket: gateway.daemons[0].harness.controlPath)
            #expect(check.status == 1)
            #expect(check.stdout.contains("lease_ttl 1 s here, but 6 s on daemon"), "\(check.stdout)")
            #expect(gateway.daemons[0].process.stderr.contains("different presence.lease_ttl"))
        }
    }
}
