import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// polychat's feed, contacts and the failures a user can hit, with real processes.
@Suite struct PolychatCommandTests {
    struct Post: Decodable {
        var id, short, author, text: String
        var authorName: String?
        var replyTo: String?
    }

    @Test func aPostReachesAFollowersFeed() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            #expect(try await bob.ok(["feed"]).contains("follow someone"))

            try await alice.ok(["profile", "set", "--description", "writes things"])
            #expect(try await alice.ok(["post", "first light"]).hasPrefix("posted "))
            try await bob.ok(["follow", alice.id])
            try await alice.ok(["post", "second light"])
            let feed: [Post] = try await bob.json(["feed", "--json"])
            #expect(feed.map(\.text) == ["second light", "first light"])
            #expect(feed.allSatisfy { $0.author == alice.id && $0.authorName == "alice" })
            let text = try await bob.ok(["feed"])
            #expect(text.contains("alice (\(alice.id.prefix(12)))"))
            #expect(text.contains("  second light"))

            // A reply, to the newest post, by its short id as the feed prints it.
            #expect(text.contains("  id: \(feed[0].short)\n"))
            #expect(feed[0].short.count == 8 && feed[0].short != feed[1].short)
            try await bob.ok(["reply", feed[0].short, "nice"])
            // A short id polychat never showed is not guessed at.
            #expect(
                try await bob.fails(["reply", "00000000", "x"], status: 1).contains(
                    "no post 00000000 among those polychat has shown you"
                )
            )
            try await alice.ok(["follow", bob.id])
            let aliceFeed: [Post] = try await alice.json(["feed", "--json"])
            #expect(aliceFeed.first?.text == "nice")
            #expect(aliceFeed.first?.replyTo != nil)

            let profile: [String: String] = try await bob.json(["profile", "show", alice.id, "--json"])
            #expect(profile["name"] == "alice")
            #expect(profile["description"] == "writes things")

            try await bob.ok(["unfollow", alice.id])
            let after: [Post] = try await bob.json(["feed", "--json"])
            #expect(after.isEmpty)
        }
    }

    struct Contact: Decodable {
        var user, state: String
        var presence: String?
    }

    @Test func contactsAndPresence() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["contacts", "request", bob.id])
            let incoming: [Contact] = try await bob.json(["contacts", "--json"])
            #expect(incoming.map(\.state) == ["incoming"])
            let outgoing: [Contact] = try await alice.json(["contacts", "list", "--json"])
            #expect(outgoing.map(\.state) == ["outgoing"])
            #expect(outgoing.first?.presence == nil)

            try await bob.ok(["contacts", "accept", alice.id])
            // Bob listens (a live session) while alice looks: online.
            let listener = try bob.listen()
            defer { listener.kill9() }
            try await eventually { try await alice.json(["contacts", "--json"], as: [Contact].self).first?.presence == "online" }
            // The listener holds the state: the command goes through it (issue 19), and bob looks
            // offline while still connected.
            try await bob.ok(["presence", "invisible"])
            try await eventually {
                try await alice.json(["contacts", "--json"], as: [Contact].self).first?.presence == "offline"
            }
            listener.signal(SIGTERM)
            _ = try await listener.waitForExit()
            #expect(try await bob.ok(["presence"]).contains("you are invisible"))
            let seen: [Contact] = try await alice.json(["contacts", "--json"])
            #expect(seen.first?.presence == "offline")

            try await alice.ok(["contacts", "block", bob.id])
            let none: [Contact] = try await alice.json(["contacts", "--json"])
            #expect(none.isEmpty)
            let refused = try await bob.fails(["dm", alice.id, "hello?"], status: 1)
            #expect(refused.contains("refused"))
        }
    }

    @Test func theLineModePrintsArrivingMessagesAndSendsLines() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "are you there?"])
            let listener = try bob.listen()
            defer { listener.kill9() }
            try await eventually { listener.stdout.contains("are you there?") }
            try await alice.ok(["send", "dm", "live line"])
            try await eventually {
                listener.stdout.contains("] ") && listener.stdout.contains("alice (\(alice.id.prefix(12))): live line")
            }
            listener.signal(SIGTERM)
            _ = try await listener.waitForExit()

            // Lines of standard input go to the conversation; the end of input ends it.
            let input = TestEnvironment.makeDirectory("input") + "/lines"
            try writeFile(input, "first line\nsecond line\n")
            let (status, _, stderr) = try await bob.run(["chat", "dm"], input: input)
            #expect(status == 0, "\(stderr)")
            #expect(try await alice.texts("dm") == ["are you there?", "live line", "first line", "second line"])
        }
    }

    /// Issue 17: a refusal for the per-address rate was "refused the connection (HTTP 429)";
    /// it says what it is and when to retry, with a status of its own.
    @Test func aRateLimitedAddressIsToldWhenToRetry() async throws {
        let config = GatewayHarness.baseGatewayConfig
            .replacingOccurrences(of: "connect_rate_per_ip = \"10000/1s\"", with: "connect_rate_per_ip = \"1/1m\"")
            .replacingOccurrences(of: "connect_burst_per_ip = 10000", with: "connect_burst_per_ip = 3")
        try await GatewayHarness.run(gateway: config) { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            var refusal: (status: Int32, stdout: String, stderr: String)?
            for _ in 0..<4 {
                let result = try await alice.run(["rooms"])
                if result.status != 0 {
                    refusal = result
                    break
                }
            }
            let refused = try #require(refusal, "never rate limited")
            #expect(refused.status == 7, "\(refused)")
            #expect(refused.stderr.contains("is rate limiting this address"), "\(refused.stderr)")
            let seconds = refused.stderr.split(separator: "retry in ").last.flatMap { Int($0.prefix { $0.isNumber }) }
            #expect((1...60).contains(seconds ?? 0), "\(refused.stderr)")
        }
    }

    @Test func failuresAreClearAndLoseNothing() async throws {
        try await GatewayHarness.run { gateway in
            let nobody = PolychatUser(
                name: "nobody",
                home: TestEnvironment.makeDirectory("none") + "/state",
                server: "",
                extraEnvironment: [:]
            )
            #expect(try await nobody.fails(["rooms"], status: 4).contains("polychat init"))
            #expect(try await nobody.fails(["whoami"], status: 4).contains("polychat init"))

            let alice = try await PolychatUser.create("alice", port: gateway.port)
            #expect(try await alice.fails(["init", "--server", alice.server], status: 1).contains("already holds an identity"))
            #expect(try await alice.fails(["dm", "abc", "hi"], status: 64).contains("too short to name a user"))
            #expect(try await alice.fails(["dm", "not a user", "hi"], status: 64).contains("is not a user: give @name"))
            #expect(
                try await alice.fails(["dm", "not-hex", "hi"], status: 1).contains(
                    "no user you know is called or starts with not-hex"
                )
            )
            #expect(
                try await alice.fails(["dm", "abcd", "hi"], status: 1).contains("no user you know is called or starts with abcd")
            )
            #expect(try await alice.fails(["send", "nowhere", "hi"], status: 1).contains("no conversation 'nowhere'"))
            #expect(try await alice.fails(["room", "frobnicate"], status: 64).contains("Unexpected argument"))
            // An unknown command is a usage error before anything connects, with a suggestion
            // for a typo (issue 15: it connected, then said there was no conversation by that name).
            let unknown = try await alice.fails(["frobnicate"], status: 64)
            #expect(unknown.contains("'frobnicate' is not a polychat command") && !unknown.contains("did you mean"))
            #expect(try await alice.fails(["psot", "hi"], status: 64).contains("did you mean 'post'?"))
            #expect(try await alice.fails(["sned", "room", "hi"], status: 64).contains("did you mean 'send'?"))

            // The servers go away: a clear message and status 3; the state is intact after.
            try await alice.ok(["room", "create", "kept"])
            let closed = TestEnvironment.freePort()
            try await alice.ok(["servers", "--gateway", "http://127.0.0.1:\(closed)", "--social", "http://127.0.0.1:\(closed)"])
            #expect(try await alice.fails(["send", "kept", "into the void"], status: 3).contains("is polygated running?"))
            // In words a user can act on (issue 15: "…/ranges: connection reset (error set): Connection refused) (errno: 111)").
            let social = try await alice.fails(["post", "nobody hears"], status: 3)
            #expect(
                social.contains("cannot reach the social server at http://127.0.0.1:\(closed) (connection refused)"),
                "\(social)"
            )
            #expect(!social.contains("errno"))
            #expect(try await alice.fails(["servers", "--gateway", "ftp://x"], status: 64).contains("not a gateway URL"))
            try await alice.ok([
                "servers", "--gateway", "http://127.0.0.1:\(gateway.port)", "--social", "http://127.0.0.1:\(gateway.port)",
            ])
            try await alice.ok(["send", "kept", "back again"])
            #expect(try await alice.texts("kept") == ["back again"])

            // A passphrase-sealed state: the right one opens it, a wrong one is refused.
            let sealed = try await PolychatUser.create(
                "sealed",
                port: gateway.port,
                environment: ["POLYCHAT_PASSPHRASE": "open sesame"]
            )
            #expect(try await sealed.ok(["whoami"]).contains("encrypted with a passphrase"))
            let wrong = PolychatUser(
                name: "sealed",
                home: sealed.home,
                server: sealed.server,
                extraEnvironment: ["POLYCHAT_PASSPHRASE": "open barley"]
            )
            #expect(try await wrong.fails(["whoami"], status: 1).contains("wrong passphrase"))
            // Without a terminal and without the variable: told how to give it.
            let silent = PolychatUser(name: "sealed", home: sealed.home, server: sealed.server, extraEnvironment: [:])
            #expect(try await silent.fails(["rooms"], status: 64).contains("POLYCHAT_PASSPHRASE"))
            // Files are private.
            var status = stat()
            stat(sealed.home, &status)
            #expect(status.st_mode & 0o777 == 0o700)
            stat(sealed.home + "/chat.json", &status)
            #expect(status.st_mode & 0o777 == 0o600)
        }
    }
}

/// Retries `condition` until it holds (20 s at most).
func eventually(
    _ what: String = "the condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("\(what) never held", sourceLocation: sourceLocation)
}
