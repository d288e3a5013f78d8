import Primitives
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// End to end: real `polychat` processes (one state directory per user or device) against a
/// real `polygated` and PostgreSQL; every message is MLS end to end.
@Suite struct PolychatChatTests {
    @Test func aDirectMessageGoesBothWays() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)

            let sent = try await alice.ok(["dm", bob.id, "hello bob"])
            #expect(sent.hasPrefix("sent to "))
            let dm = try #require(try await bob.rooms().first)
            #expect(dm.kind == "dm")
            #expect(dm.peer == alice.id)
            #expect(dm.members.sorted() == [alice.id, bob.id].sorted())
            #expect(dm.unread == 1)
            let received = try await bob.read(dm.id).messages.filter { !$0.notice }
            #expect(received.map(\.text) == ["hello bob"])
            #expect(received.first?.sender == alice.id)
            #expect(received.first?.senderName == "alice")
            // Reading marked it read.
            #expect(try await bob.rooms().first?.unread == 0)

            // Bob answers through the same DM (not a second one).
            try await bob.ok(["dm", alice.id, "hi alice"])
            #expect(try await bob.rooms().count == 1)
            let aliceSide = try await alice.read(dm.id).messages.filter { !$0.notice }
            #expect(aliceSide.map(\.text) == ["hello bob", "hi alice"])
            #expect(aliceSide.map(\.own) == [true, false])
            #expect(aliceSide.last?.sender == bob.id)
            // And again by name ("dm") with send.
            try await alice.ok(["send", "dm", "third"])
            #expect(try await bob.texts("dm") == ["hello bob", "hi alice", "third"])
        }
    }

    /// Issue 19, names: a petname stands for a user in every command and in listings, a
    /// published name (from messages) resolves too, and names that are not one user say so.
    @Test func usersAreNamedByPetnamesAndPublishedNames() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)

            let named = try await alice.ok(["contacts", "name", bob.id, "bobby"])
            #expect(named == "\(bob.id)  bobby\n")
            #expect(try await alice.ok(["dm", "@bobby", "hello by name"]).hasPrefix("sent to bobby ("))
            #expect(try await bob.texts("dm") == ["hello by name"])
            // The DM is listed by its peer's name, and addressed by it.
            #expect(try await alice.ok(["rooms"]).contains("dm with bobby (\(bob.id.prefix(4))…)"))
            try await alice.ok(["send", "@bobby", "second"])
            #expect(try await bob.texts("dm") == ["hello by name", "second"])
            // Bob knows alice by the name her messages carry.
            try await bob.ok(["send", "@alice", "hi alice"])
            #expect(try await alice.texts("@bobby").last == "hi alice")
            // Read shows him by the name alice gave him.
            #expect(try await alice.ok(["read", "@bobby"]).contains("bobby (\(bob.id.prefix(12))): hi alice"))
            // Names that are not one user.
            let unknown = try await alice.fails(["dm", "@carol", "x"], status: 1)
            #expect(unknown.contains("nobody you know is called 'carol'"))
            let taken = try await alice.fails(["contacts", "name", alice.id, "bobby"], status: 64)
            #expect(taken.contains("'bobby' already names bobby ("))
            // Following an id the server knows nothing of says so (a typo?), and still follows.
            let nobody = String(repeating: "7", count: 64)
            let (status, out, err) = try await alice.run(["follow", nobody])
            #expect(status == 0 && out.hasPrefix("following "))
            #expect(err.contains("knows nothing of \(nobody) yet (no posts, no profile): check the id"))
            // A user who has posted is followed without a word on standard error.
            try await bob.ok(["post", "first post"])
            let known = try await alice.run(["follow", "@bob"])
            #expect(known.status == 0 && known.stderr.isEmpty)
            // Cleared, the name is gone from listings.
            try await alice.ok(["contacts", "name", "bobby", "--clear"])
            #expect(!(try await alice.ok(["rooms"]).contains("bobby")))
        }
    }

    @Test func aRemovedMemberCannotReadWhatFollows() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)

            #expect(try await alice.ok(["room", "create", "team"]).contains("team"))
            try await alice.ok(["room", "invite", "team", bob.id])
            try await alice.ok(["room", "invite", "team", carol.id])
            try await alice.ok(["send", "team", "welcome, both"])
            let room = try await bob.conversation(named: "team")
            #expect(room.members.sorted() == [alice.id, bob.id, carol.id].sorted())
            #expect(try await bob.texts("team") == ["welcome, both"])
            #expect(try await carol.texts("team") == ["welcome, both"])
            try await carol.ok(["send", "team", "carol says hi"])

            try await alice.ok(["room", "remove", "team", carol.id])
            try await alice.ok(["send", "team", "after carol left"])
            #expect(try await bob.texts("team") == ["welcome, both", "carol says hi", "after carol left"])
            #expect(try await bob.conversation(named: "team").members.sorted() == [alice.id, bob.id].sorted())

            let carolSide = try await carol.read("team")
            #expect(carolSide.left)
            #expect(!carolSide.messages.map(\.text).contains("after carol left"))
            #expect(carolSide.messages.filter { !$0.notice }.map(\.text) == ["welcome, both", "carol says hi"])
            let refused = try await carol.fails(["send", "team", "still here?"], status: 1)
            #expect(refused.contains("not in that conversation"))
            // The gateway agrees: nothing carol could still fetch holds the later message.
            #expect(try await bob.texts("team").last == "after carol left")
        }
    }

    @Test func aMemberOfflineDuringSeveralCommitsCatchesUp() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            let dave = try await PolychatUser.create("dave", port: gateway.port)

            try await alice.ok(["room", "create", "club"])
            try await alice.ok(["room", "invite", "club", bob.id])
            // Bob is away for all of this: three commits and messages in three epochs.
            try await alice.ok(["send", "club", "one"])
            try await alice.ok(["room", "invite", "club", carol.id])
            try await alice.ok(["send", "club", "two"])
            try await alice.ok(["room", "invite", "club", dave.id])
            try await dave.ok(["send", "club", "dave was here"])
            try await alice.ok(["room", "remove", "club", dave.id])
            try await alice.ok(["send", "club", "three"])

            let caughtUp = try await bob.read("club")
            #expect(caughtUp.messages.filter { !$0.notice }.map(\.text) == ["one", "two", "dave was here", "three"])
            #expect(try await bob.conversation(named: "club").members.sorted() == [alice.id, bob.id, carol.id].sorted())
            // Bob's group state is current: what he sends now everyone left can read.
            try await bob.ok(["send", "club", "back"])
            #expect(try await carol.texts("club") == ["two", "dave was here", "three", "back"])
            #expect(try await alice.texts("club").last == "back")
            #expect(!(try await dave.texts("club")).contains("back"))
        }
    }

    @Test func leavingIsCompletedByTheNextMemberOnline() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["room", "create", "book club"])
            try await alice.ok(["room", "invite", "book club", bob.id])
            try await bob.ok(["send", "book club", "bye all"])
            try await bob.ok(["room", "leave", "book club"])
            #expect(try await bob.read("book club").left)
            // Alice, online next, commits bob's removal while catching up.
            let members = try await alice.conversation(named: "book club").members
            #expect(members == [alice.id])
            try await alice.ok(["send", "book club", "after bob"])
            #expect(!(try await bob.texts("book club")).contains("after bob"))
            #expect(try await bob.fails(["send", "book club", "one more"], status: 1).contains("not in that conversation"))
        }
    }

    @Test func twoMembersChangingTheRoomAtOnceBothSucceed() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            let dave = try await PolychatUser.create("dave", port: gateway.port)
            try await alice.ok(["room", "create", "busy"])
            try await alice.ok(["room", "invite", "busy", bob.id])
            _ = try await bob.rooms()
            // Both commit in the same epoch: one wins, the other catches up and commits again.
            async let byAlice = alice.run(["room", "invite", "busy", carol.id])
            async let byBob = bob.run(["room", "invite", "busy", dave.id])
            let (first, second) = try await (byAlice, byBob)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(second.status == 0, "\(second.stderr)")
            let everyone = [alice.id, bob.id, carol.id, dave.id].sorted()
            #expect(try await alice.conversation(named: "busy").members.sorted() == everyone)
            #expect(try await bob.conversation(named: "busy").members.sorted() == everyone)
            try await dave.ok(["send", "busy", "hello from dave"])
            #expect(try await carol.texts("busy") == ["hello from dave"])
        }
    }

    /// A second device of `phone`'s user ("laptop"), made from an identity export
    /// (`phone` was created with `POLYCHAT_EXPORT_PASSPHRASE` = "correct horse").
    static func secondDevice(
        of phone: PolychatUser,
        port: Int,
        export: String = TestEnvironment.makeDirectory("export") + "/alice.identity"
    ) async throws -> PolychatUser {
        try await phone.ok(["identity", "export", export])
        return try await PolychatUser.create(
            "laptop",
            port: port,
            importing: export,
            environment: ["POLYCHAT_EXPORT_PASSPHRASE": "correct horse"]
        )
    }

    /// Issue 19, devices: a user lists its devices and revokes a lost one from another; the
    /// revoked one stops at once and says why.
    @Test func aUserRevokesItsOwnLostDevice() async throws {
        try await GatewayHarness.run { gateway in
            let phone = try await PolychatUser.create(
                "alice",
                port: gateway.port,
                environment: ["POLYCHAT_EXPORT_PASSPHRASE": "correct horse"]
            )
            let laptop = try await Self.secondDevice(of: phone, port: gateway.port)
            struct Device: Decodable {
                var id, name: String
                var revokedMs: UInt64?
                var lastSeenMs: UInt64?
                var connected: Bool
                var this: Bool
            }
            let devices: [Device] = try await phone.json(["devices", "--json"])
            #expect(devices.count == 2)
            #expect(devices.filter(\.this).count == 1 && devices.allSatisfy { $0.revokedMs == nil })
            let laptopID = try #require(devices.first { !$0.this }?.id)
            // The asking device is connected now; the laptop was last seen when its command ended.
            #expect(devices.first(where: \.this)?.connected == true)
            try await eventually("the laptop's last-seen is known") {
                let listed: [Device] = try await phone.json(["devices", "--json"])
                return listed.first { $0.id == laptopID }.map { !$0.connected && $0.lastSeenMs != nil } ?? false
            }
            let listing = try await phone.ok(["devices"])
            #expect(listing.contains("connected now") && listing.contains("last seen ") && listing.contains("(this device)"))
            // A prefix nothing matches, then the laptop by the prefix the listing prints.
            #expect(
                try await phone.fails(["devices", "revoke", "0000"], status: 1).contains(
                    "no active device of yours starts with 0000"
                )
            )
            #expect(
                try await phone.ok(["devices", "revoke", String(laptopID.prefix(12))]).hasPrefix("revoked \(laptopID.prefix(12))")
            )
            let after: [Device] = try await phone.json(["devices", "--json"])
            #expect(after.first { $0.id == laptopID }?.revokedMs != nil)
            // The laptop is told it was revoked; the phone goes on.
            let refused = try await laptop.fails(["rooms"], status: 6)
            #expect(refused.contains("revoked"))
            try await phone.ok(["rooms"])
        }
    }

    @Test func aSecondDeviceJoinsAndReadsNewMessages() async throws {
        try await GatewayHarness.run { gateway in
            let phone = try await PolychatUser.create(
                "alice",
                port: gateway.port,
                environment: ["POLYCHAT_EXPORT_PASSPHRASE": "correct horse"]
            )
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await phone.ok(["room", "create", "pair"])
            try await phone.ok(["room", "invite", "pair", bob.id])
            try await bob.ok(["send", "pair", "before the laptop"])
            try await phone.ok(["dm", bob.id, "a dm before the laptop"])

            let export = TestEnvironment.makeDirectory("export") + "/alice.identity"
            let laptop = try await Self.secondDevice(of: phone, port: gateway.port, export: export)
            #expect(laptop.id == phone.id)
            // The laptop joins its user's conversations by itself (external commit) and knows
            // their names and DM peers at once, from the export — before anyone else is online
            // (issue 15: it listed them by id until another member came online).
            let rooms = try await laptop.rooms()
            #expect(rooms.contains { $0.name == "pair" })
            #expect(rooms.first { $0.kind == "dm" }?.peer == bob.id)
            #expect(try await laptop.read("pair").name == "pair")
            #expect(rooms.count == 2)

            try await bob.ok(["send", "pair", "for both devices"])
            #expect(try await laptop.texts("pair") == ["for both devices"])
            try await laptop.ok(["send", "pair", "from the laptop"])
            let bobSide = try await bob.read("pair").messages.filter { !$0.notice }
            #expect(bobSide.map(\.text) == ["before the laptop", "for both devices", "from the laptop"])
            #expect(bobSide.last?.sender == phone.id)
            // The phone reads its own user's other device as "own".
            let phoneSide = try await phone.read("pair").messages.filter { !$0.notice }
            #expect(phoneSide.map(\.text) == ["before the laptop", "for both devices", "from the laptop"])
            #expect(phoneSide.last?.own == true)
            // A wrong export passphrase is refused without creating anything.
            let stranger = PolychatUser(
                name: "wrong",
                home: TestEnvironment.makeDirectory("wrong") + "/state",
                server: phone.server,
                extraEnvironment: ["POLYCHAT_EXPORT_PASSPHRASE": "wrong"]
            )
            // A wrong passphrase is a failure (1), not a usage error (issue 15: it exited 64).
            let refused = try await stranger.fails(["init", "--import", export, "--server", phone.server], status: 1)
            #expect(refused.contains("wrong passphrase"))
            #expect(access(stranger.home + "/identity.json", F_OK) != 0)
        }
    }

    @Test func theGatewayStoresOnlyCiphertext() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let markers = [
                "zebra-quartz-\(UInt32.random(in: 0...UInt32.max))", "walrus-opal-\(UInt32.random(in: 0...UInt32.max))",
            ]
            try await alice.ok(["dm", bob.id, "dm \(markers[0])"])
            try await alice.ok(["room", "create", "room \(markers[1])"])
            try await alice.ok(["room", "invite", "room \(markers[1])", bob.id])
            try await bob.ok(["send", "room \(markers[1])", "reply \(markers[1])"])
            #expect(try await alice.texts("room \(markers[1])") == ["reply \(markers[1])"])

            // Every row of every table, as text (bytea as hex): neither the marker nor its bytes.
            try await withDatabase(gateway.databaseURL) { database in
                let tables = try await database.query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
                )
                var rows = 0
                for table in tables {
                    let name = try table[0].decode(String.self)
                    let dump = try await database.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \"\(name)\" t"))
                    for row in dump {
                        let text = try row[0].decode(String.self)
                        rows += 1
                        for marker in markers {
                            #expect(!text.contains(marker), "\(name) holds '\(marker)' in plaintext")
                            #expect(!text.contains(Hex.encode(Array(marker.utf8))), "\(name) holds the bytes of '\(marker)'")
                        }
                    }
                }
                // The scan saw the gateway's data (the log holds the messages).
                #expect(rows > 10)
                let log = try await database.query("SELECT count(*) FROM gw_log")
                #expect(try log[0][0].decode(Int64.self) >= 5)
            }
            // Nor does polychat's own state on disk (encrypted at rest).
            for user in [alice, bob] {
                for file in ["chat.json", "identity.json", "social.json"] {
                    let contents = readFile(user.home + "/" + file)
                    #expect(!contents.isEmpty)
                    for marker in markers { #expect(!contents.contains(marker), "\(user.name)'s \(file) holds '\(marker)'") }
                    #expect(!contents.contains("systemKey"))
                }
            }
        }
    }
}
