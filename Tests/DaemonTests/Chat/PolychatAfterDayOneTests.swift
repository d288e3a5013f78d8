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

/// The paths people hit after the first run, with real polychat processes against a real
/// polygated and PostgreSQL: re-invites while offline, revocation, blocks, names by prefix,
/// reconnecting (issue 15).
@Suite struct PolychatAfterDayOneTests {
    /// Issue 15 (1): removed and added again while offline, bob kept the first Welcome's group
    /// and could read nothing (no name either); after more changes every send of his failed
    /// with stale_epoch for good.
    @Test func aMemberRemovedAndAddedAgainWhileOfflineReadsAndSends() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            // Bob runs nothing through all of this.
            try await alice.ok(["room", "create", "r"])
            try await alice.ok(["room", "invite", "r", bob.id])
            try await alice.ok(["room", "remove", "r", bob.id])
            try await alice.ok(["room", "invite", "r", bob.id])
            try await alice.ok(["send", "r", "x"])
            let read = try await bob.read("r")
            #expect(read.name == "r")
            #expect(read.messages.filter { !$0.notice }.map(\.text) == ["x"])
            #expect(!read.left)

            // More changes while he is away again: removed, carol added, added again.
            try await alice.ok(["room", "remove", "r", bob.id])
            try await alice.ok(["room", "invite", "r", carol.id])
            try await alice.ok(["room", "invite", "r", bob.id])
            try await alice.ok(["send", "r", "y"])
            #expect(try await bob.texts("r").last == "y")
            // His group is current: what he sends, everyone reads.
            try await bob.ok(["send", "r", "bob is back"])
            #expect(try await alice.texts("r").last == "bob is back")
            #expect(try await carol.texts("r").last == "bob is back")
            #expect(try await bob.conversation(named: "r").members.sorted() == [alice.id, bob.id, carol.id].sorted())
        }
    }

    /// A group state that can no longer follow the log (here: the state directory restored
    /// from a copy made two epochs back, while the gateway's cursor moved on) is not a dead end:
    /// the device says so, joins again by external commit (replacing its old leaf), and reads
    /// and sends from there (issue 15: such a member's sends failed with stale_epoch for good).
    @Test func aDeviceWhoseGroupFellBehindJoinsAgain() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            try await alice.ok(["room", "create", "r"])
            try await alice.ok(["room", "invite", "r", bob.id])
            #expect(try await bob.read("r").name == "r")
            let copy = bob.home + ".copy"
            try FileManager.default.copyItem(atPath: bob.home, toPath: copy)
            try await alice.ok(["room", "invite", "r", carol.id])
            try await alice.ok(["send", "r", "m1"])
            #expect(try await bob.texts("r") == ["m1"])
            // The old state comes back; the gateway has bob's cursor past m1.
            try FileManager.default.removeItem(atPath: bob.home)
            try FileManager.default.moveItem(atPath: copy, toPath: bob.home)
            try await alice.ok(["room", "remove", "r", carol.id])
            try await alice.ok(["send", "r", "m2"])
            let caughtUp = try await bob.run(["read", "r", "--json"])
            #expect(caughtUp.status == 0, "\(caughtUp.stderr)")
            #expect(caughtUp.stderr.contains("fell behind in r and joins it again"), "\(caughtUp.stderr)")
            #expect(caughtUp.stderr.contains("this device joined r again"), "\(caughtUp.stderr)")
            try await bob.ok(["send", "r", "bob again"])
            #expect(try await alice.texts("r").last == "bob again")
            try await alice.ok(["send", "r", "welcome back"])
            #expect(try await bob.texts("r").last == "welcome back")
            #expect(try await alice.conversation(named: "r").members.sorted() == [alice.id, bob.id].sorted())
        }
    }

    /// Issue 15 (2, 4): a revoked device retried for ever; nothing removed its leaves from its
    /// user's groups. Now it stops with exit 6 (the identity stays exportable), and the next
    /// member online removes it.
    @Test func aRevokedDeviceStopsAndIsRemovedByTheNextMemberOnline() async throws {
        try await GatewayHarness.run { gateway in
            let phone = try await PolychatUser.create(
                "alice",
                port: gateway.port,
                environment: ["POLYCHAT_EXPORT_PASSPHRASE": "pass"]
            )
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let export = TestEnvironment.makeDirectory("revoke-export") + "/alice.identity"
            try await phone.ok(["identity", "export", export])
            let laptop = try await PolychatUser.create(
                "laptop",
                port: gateway.port,
                importing: export,
                environment: ["POLYCHAT_EXPORT_PASSPHRASE": "pass"]
            )
            // The laptop, a device of alice, is in the room from its start.
            try await phone.ok(["room", "create", "team"])
            try await phone.ok(["room", "invite", "team", bob.id])
            try await bob.ok(["send", "team", "hello both"])
            #expect(try await laptop.texts("team") == ["hello both"])
            let laptopID = try await laptop.json(["whoami", "--json"], as: [String: String].self)["device"] ?? ""

            // The laptop's terminal UI runs when an administrator revokes it.
            let terminal = try PseudoTerminalProcess(
                executable: PolychatUser.binary,
                arguments: ["chat", "team"],
                environment: laptop.environment.merging(["TERM": "xterm"]) { _, new in new }
            )
            defer { terminal.kill9() }
            try await terminal.waitFor("● connected")
            try await Gwctl.ok(["device", "revoke", laptopID], socket: gateway.controlPath)
            // It stops by itself: no reconnecting, the terminal given back, said once, exit 6.
            #expect(try await terminal.waitForExit() == 6)
            #expect(terminal.screen.components(separatedBy: "this device was revoked").count == 2)
            #expect(terminal.screen.contains("polychat identity export"))
            // A command afterwards says so at once, without trying the gateway …
            let refused = try await laptop.fails(["rooms"], status: 6)
            #expect(refused.contains("this device was revoked"))
            // … and the identity can still be taken elsewhere.
            try await laptop.ok(["identity", "export", TestEnvironment.makeDirectory("again") + "/alice.identity"])

            // The next member online (bob) removes the laptop's leaf; the room goes on.
            let removal = try await bob.run(["rooms"])
            #expect(removal.status == 0)
            #expect(removal.stderr.contains("removed a revoked device from team"), "\(removal.stderr)")
            try await bob.ok(["send", "team", "after the laptop"])
            #expect(try await phone.texts("team").last == "after the laptop")
            // Alice is still a member through her phone; the laptop's removal Commit was bob's
            // (his only one), and it removed no user at the gateway.
            #expect(try await bob.conversation(named: "team").members.sorted() == [phone.id, bob.id].sorted())
            let bobDevice = try await bob.json(["whoami", "--json"], as: [String: String].self)["device"] ?? ""
            let commits = try await withDatabase(gateway.databaseURL) { database in
                try await database.query(
                    "SELECT cardinality(removed_users) FROM gw_log WHERE kind = 3 AND sender_device = \(Hex.decode(bobDevice) ?? [])"
                ).map { try $0[0].decode(Int32.self) }
            }
            #expect(commits == [0])
            // A second member coming online later finds nothing left to do.
            let quiet = try await phone.run(["rooms"])
            #expect(quiet.status == 0 && !quiet.stderr.contains("removed a revoked device"))
        }
    }

    /// Issue 15 (3): after carol blocked alice, alice's DMs still reached her. Now sends in the
    /// DM are refused by the gateway, and in rooms carol's clients hide alice's messages.
    @Test func aBlockEndsTheDirectMessagesAndHidesTheBlockedInRooms() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            try await alice.ok(["dm", carol.id, "hi carol"])
            try await alice.ok(["room", "create", "club"])
            try await alice.ok(["room", "invite", "club", bob.id])
            try await alice.ok(["room", "invite", "club", carol.id])
            #expect(try await carol.texts("dm") == ["hi carol"])
            // Carol knows alice from their DM: a prefix names her.
            try await carol.ok(["contacts", "block", String(alice.id.prefix(10))])

            let refused = try await alice.fails(["send", "dm", "still there?"], status: 1)
            #expect(refused.contains("blocked"), "\(refused)")
            #expect(try await alice.fails(["dm", carol.id, "hello?"], status: 1).contains("blocked"))
            #expect(try await carol.fails(["send", "dm", "go away"], status: 1).contains("blocked"))
            #expect(try await carol.texts("dm") == ["hi carol"])

            try await alice.ok(["send", "club", "alice in the club"])
            try await bob.ok(["send", "club", "bob in the club"])
            #expect(try await bob.texts("club") == ["alice in the club", "bob in the club"])
            #expect(try await carol.texts("club") == ["bob in the club"])
            // Unblocked: the DM opens again and alice is heard in the club.
            try await carol.ok(["contacts", "unblock", String(alice.id.prefix(10))])
            try await alice.ok(["send", "dm", "friends again"])
            try await alice.ok(["send", "club", "heard again"])
            #expect(try await carol.texts("dm").last == "friends again")
            #expect(try await carol.texts("club").last == "heard again")
        }
    }

    /// Issue 15 (13): polychat printed 12-character prefixes (even in its own hint) but wanted
    /// whole ids; any unique prefix of a user it knows works, an ambiguous one is refused.
    @Test func usersAreNamedByThePrefixesPolychatPrints() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["contacts", "request", bob.id])
            // Bob learns of alice from his contact list, whose hint names her by 12 characters.
            let listed = try await bob.ok(["contacts"])
            let hint = "polychat contacts accept \(alice.id.prefix(12))"
            #expect(listed.contains(hint))
            #expect(try await bob.ok(["contacts", "accept", String(alice.id.prefix(12))]).contains("accepted"))
            #expect(try await alice.ok(["contacts"]).contains("\(bob.id)  contact"))
            // A user nobody here has met, by a prefix: not found; by the whole id: fine.
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            #expect(try await bob.fails(["dm", String(carol.id.prefix(12)), "hi"], status: 1).contains("no user you know"))
            try await bob.ok(["dm", carol.id, "hi"])
            try await bob.ok(["follow", String(carol.id.prefix(8))])
            #expect(try await bob.ok(["profile", "show", String(carol.id.prefix(8))]).contains(carol.id))
        }
    }

    /// Issue 16 (6): anyone not blocked may add anyone; a Welcome of random bytes was never
    /// acked by polychat, so it came back on every connection and every command printed an
    /// error, for ever. Now polychat says it once, tries to join by itself, gives up, and drops
    /// the Welcome and whatever else arrives in that conversation.
    @Test func aGarbageWelcomeFromAStrangerIsToldOnceAndDropped() async throws {
        try await GatewayHarness.run { gateway in
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let bobDevice = try await bob.json(["whoami", "--json"], as: [String: String].self)["device"] ?? ""
            let stranger = GatewayHarness.User()
            let conv = SecureRandom.bytes(count: 32)
            try await gateway.connected(try stranger.device()) { connection in
                _ = try await connection.backlog()
                let claimed = try await connection.call(
                    .claimKeyPackages(
                        .with {
                            $0.userID = .init(Hex.decode(bob.id)!)
                            $0.cipherSuite = 1
                        }
                    )
                ).claim.keyPackages
                #expect(claimed.map { Hex.encode($0.deviceID) } == [bobDevice])
                try await connection.createConversation(conv)
                try await connection.add(conv, epoch: 0, users: [Hex.decode(bob.id)!], devices: [Hex.decode(bobDevice)!])
                try await connection.send(conv, epoch: 1, SecureRandom.bytes(count: 64))
            }
            let first = try await bob.run(["rooms"])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("cannot be used"), "\(first.stderr)")
            #expect(first.stderr.contains("gave up on \(Hex.encode(conv).prefix(12))"), "\(first.stderr)")
            // Told once: the next commands are quiet, even with more garbage arriving.
            try await gateway.connected(try stranger.device("again")) { connection in
                _ = try await connection.backlog()
                try await connection.send(conv, epoch: 1, SecureRandom.bytes(count: 64))
            }
            for _ in 0..<2 {
                let next = try await bob.run(["rooms"])
                #expect(next.status == 0 && next.stderr.isEmpty, "\(next.stderr)")
            }
            let waiting = try await withDatabase(gateway.databaseURL) { database in
                try await database.query("SELECT count(*) FROM gw_welcomes WHERE device_id = \(Hex.decode(bobDevice)!)")[0][0]
                    .decode(Int64.self)
            }
            #expect(waiting == 0)
            #expect(try await bob.rooms().isEmpty)
        }
    }

    /// Issue 15 (5): polychat published KeyPackages valid until the end of time. They are valid
    /// for 60 days now, and the gateway stores that end.
    @Test func publishedKeyPackagesHaveABoundedLifetime() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let nowMs = Int64(nowMs())
            let ends = try await withDatabase(gateway.databaseURL) { database in
                try await database.query(
                    "SELECT expires_at_ms, last_resort FROM gw_key_packages k JOIN gw_devices d USING (device_id) WHERE d.user_id = \(Hex.decode(alice.id)!)"
                ).map { try $0.decode((Int64, Bool).self) }
            }
            #expect(ends.count == 21)
            #expect(ends.filter(\.1).count == 1)
            for (end, _) in ends {
                #expect(end > nowMs + 59 * 86_400_000 && end <= nowMs + 61 * 86_400_000, "expires at \(end), now \(nowMs)")
            }
        }
    }
}
