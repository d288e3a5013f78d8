import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// polychat's sealed sessions with real processes (issue 21): the gateway key pinned at init
/// and used for every connection, a changed key refused with what to check, a rotation taken
/// without dropping anyone, and a gateway that accepts sealed sessions only.
@Suite struct PolychatSealedTests {
    /// `polychat servers --json`.
    struct Servers: Decodable {
        var gateway: String
        var gatewayKeys: String

        enum CodingKeys: String, CodingKey {
            case gateway
            case gatewayKeys = "gateway_keys"
        }
    }

    /// The id of `user`'s DM with `peer`.
    static func dm(_ user: PolychatUser, _ peer: String) async throws -> String {
        try #require(try await user.rooms().first { $0.peer == peer }?.id, "\(user.name) has no DM with \(peer)")
    }

    static func keys(_ port: Int) async throws -> [String] {
        try await GatewayKeyTests.infoKeys(port).compactMap { $0["key"] as? String }
    }

    static func rotate(_ gateway: GatewayHarness, overlap: String) async throws -> String {
        let rotated = try await DaemonHarness.run([
            "rotate-keys", "--overlap", overlap, "--config", gateway.daemons[0].harness.configPath,
        ])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let key = String(rotated.stdout.prefix(64))
        gateway.daemons[0].process.signal(SIGHUP)
        try await eventually("the daemon serves the new key") { try await Self.keys(gateway.port).first == key }
        return key
    }

    @Test func polychatPinsTheKeyAndChatsWithAGatewayThatAcceptsOnlySealedSessions() async throws {
        try await GatewayHarness.run(gateway: GatewayHarness.baseGatewayConfig + "\nsealed = \"required\"") { gateway in
            let key = try #require(try await Self.keys(gateway.port).first)
            let alice = PolychatUser.uninitialized("alice", port: gateway.port)
            let created = try await alice.ok(["init", "--server", alice.server, "--device-name", "alice", "--name", "alice"])
            #expect(created.contains("registered with \(alice.server)"))
            #expect(created.contains("sealed under the gateway key \(key) (pinned;"))
            let aliceID = try #require((try await alice.json(["whoami", "--json"]) as [String: String])["user"])
            let servers: Servers = try await alice.json(["servers", "--json"])
            #expect(servers.gatewayKeys == key)
            #expect(try await alice.ok(["servers"]).contains("key     \(key): connections are sealed"))

            // Bob over SSE: sealed too (the plain stream is refused with 403 here).
            let bob = try await PolychatUser.create("bob", port: gateway.port, environment: ["POLYCHAT_TRANSPORT": "sse"])
            try await alice.ok(["dm", bob.id, "through the seal"])
            try await bob.ok(["rooms"])
            let dm = try await Self.dm(bob, aliceID)
            #expect(try await bob.texts(dm) == ["through the seal"])
            try await bob.ok(["send", dm, "and back"])
            #expect(try await alice.texts(dm) == ["through the seal", "and back"])

            // A second device made from an export pins what the first one pinned.
            let export = TestEnvironment.makeDirectory("export") + "/alice.pcx"
            let exporter = PolychatUser(
                name: "alice",
                home: alice.home,
                server: alice.server,
                extraEnvironment: ["POLYCHAT_EXPORT_PASSPHRASE": "correct horse"]
            )
            try await exporter.ok(["identity", "export", export])
            let laptop = try await PolychatUser.create(
                "laptop",
                port: gateway.port,
                importing: export,
                environment: ["POLYCHAT_EXPORT_PASSPHRASE": "correct horse"]
            )
            #expect((try await laptop.json(["servers", "--json"]) as Servers).gatewayKeys == key)

            // The gateway counted no failed handshake: every connection was sealed first time.
            let metrics = try await HTTPTestClient.get(port: gateway.port, "/metrics").body
            #expect(metrics.contains("polygate_gateway_sealed_handshake_failures_total 0"))
        }
    }

    @Test func aChangedGatewayKeyIsRefusedWithWhatToCheckAndNothingIsLost() async throws {
        try await GatewayHarness.run { gateway in
            let first = try #require(try await Self.keys(gateway.port).first)
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "before"])
            let dm = try await Self.dm(alice, bob.id)

            // A key the gateway does not list is refused at init, and nothing is created.
            let stranger = PolychatUser.uninitialized("stranger", port: gateway.port)
            let wrong = String(repeating: "ab", count: 32)
            let refused = try await stranger.fails(
                ["init", "--server", stranger.server, "--gateway-key", wrong, "--device-name", "s"],
                status: 8
            )
            #expect(refused.contains("does not list the key you gave (\(wrong)); it lists \(first)"), "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: stranger.home + "/identity.json"))
            #expect(
                try await stranger.fails(["init", "--server", stranger.server, "--gateway-key", "xyz"], status: 64)
                    .contains("'xyz' is not a gateway key: 64 hex digits")
            )

            // The gateway's key replaced without an overlap: it can no longer prove the pinned one.
            let replaced = try await Self.rotate(gateway, overlap: "0s")
            let failures = try await alice.fails(["send", dm, "after"], status: 8)
            for part in [
                "did not prove that it holds the key this device pinned for it (\(first))",
                "Its info document now announces \(replaced).",
                "'polygated show-key' prints it", "polychat servers --gateway-key KEY",
            ] {
                #expect(failures.contains(part), "\(failures)")
            }
            // Nothing was sent in the clear, nothing lost: with the key pinned by hand it goes on.
            #expect((try await alice.json(["servers", "--json"]) as Servers).gatewayKeys == first)
            try await alice.fails(["servers", "--gateway-key", "nope"], status: 64)
            try await alice.ok(["servers", "--gateway-key", replaced])
            try await alice.ok(["send", dm, "after"])
            #expect(try await alice.texts(dm) == ["before", "after"])

            // Forgetting the key learns the one the gateway lists at the next connection.
            try await bob.fails(["rooms"], status: 8)
            try await bob.ok(["servers", "--forget-gateway-key"])
            #expect(try await bob.ok(["servers"]).contains("key     none pinned"))
            try await bob.ok(["rooms"])
            #expect(try await bob.texts(dm) == ["before", "after"])
            #expect((try await bob.json(["servers", "--json"]) as Servers).gatewayKeys == replaced)
        }
    }

    @Test func aRotationWithOverlapMovesThePinsAndDropsNobody() async throws {
        try await GatewayHarness.run { gateway in
            let first = try #require(try await Self.keys(gateway.port).first)
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            try await alice.ok(["dm", bob.id, "one"])
            try await alice.ok(["dm", carol.id, "hello carol"])
            let dm = try await Self.dm(alice, bob.id)
            let listener = try bob.listen()
            defer { listener.kill9() }
            try await eventually { listener.stdout.contains("one") }

            // Rotated with an overlap: bob's live session stays; alice's next one takes both keys.
            let second = try await Self.rotate(gateway, overlap: "6s")
            try await alice.ok(["send", dm, "two"])
            try await eventually("bob's session, sealed under the old key, still delivers") {
                listener.stdout.contains("two")
            }
            #expect((try await alice.json(["servers", "--json"]) as Servers).gatewayKeys == "\(second),\(first)")

            // The old key retires: alice uses the new one; carol, away all the overlap, is refused.
            try await eventually("the old key retires") {
                try await Self.keys(gateway.port) == [second]
            }
            try await alice.ok(["send", dm, "three"])
            #expect((try await alice.json(["servers", "--json"]) as Servers).gatewayKeys == second)
            try await eventually { listener.stdout.contains("three") }
            #expect(listener.exitedStatus == nil)
            let away = try await carol.fails(["rooms"], status: 8)
            #expect(away.contains("away longer than a rotation's overlap"), "\(away)")
        }
    }
}
