import TestSupport
import Testing

/// polychat against a TLS-fronted polygated with nothing but the URL and, for a private
/// authority, its certificate (issue 17): feed, DMs both ways, a room, the SSE fallback, and
/// refusals that say why. ProxyTests runs the same through nginx.
@Suite struct PolychatTLSTests {
    typealias Post = PolychatCommandTests.Post

    /// Everyday use at `server` (an `https://` URL), trusting `caFile`; `transports` counts
    /// the sessions the daemon opened per transport (from its debug log).
    static func everydayUse(
        server: String,
        port: Int,
        caFile: String,
        transports: () -> (webSocket: Int, sse: Int)
    ) async throws {
        let start = transports()
        // One user gives the authority with --ca-file, the other in the environment.
        let alice = try await PolychatUser.create("alice", port: port, server: server, initArguments: ["--ca-file", caFile])
        let bob = try await PolychatUser.create("bob", port: port, environment: ["POLYCHAT_CA_FILE": caFile], server: server)
        #expect(try await alice.ok(["servers"]).contains("trusts  the system's certificate authorities and \(alice.home)/ca.pem"))

        // The feed.
        try await alice.ok(["post", "hello over TLS"])
        try await bob.ok(["follow", alice.id])
        let feed: [Post] = try await bob.json(["feed", "--json"])
        #expect(feed.map(\.text) == ["hello over TLS"])

        // A DM both ways, and a room.
        try await alice.ok(["dm", bob.id, "hi bob"])
        try await bob.ok(["dm", alice.id, "hi alice"])
        #expect(try await alice.texts("dm") == ["hi bob", "hi alice"])
        try await alice.ok(["room", "create", "tls"])
        try await alice.ok(["room", "invite", "tls", bob.id])
        try await bob.ok(["send", "tls", "in the room"])
        #expect(try await alice.texts("tls") == ["in the room"])

        // All of that over WebSockets: the upgrade goes through.
        let chatted = transports()
        #expect(chatted.webSocket >= start.webSocket + 6 && chatted.sse == start.sse, "\(start) → \(chatted)")

        // The SSE fallback, forced: the same session over GET /v1/stream + POST /v1/send.
        let before = transports()
        let sse = PolychatUser(
            name: "bob",
            home: bob.home,
            server: server,
            extraEnvironment: ["POLYCHAT_CA_FILE": caFile, "POLYCHAT_TRANSPORT": "sse"]
        )
        try await sse.ok(["send", "dm", "over SSE"])
        #expect(try await alice.texts("dm") == ["hi bob", "hi alice", "over SSE"])
        #expect(try await sse.texts("tls") == ["in the room"])
        let after = transports()
        #expect(after.sse > before.sse, "no SSE session: \(before) → \(after)")
    }

    /// Counts the sessions opened per transport in a daemon's debug log.
    static func transports(_ log: String) -> (webSocket: Int, sse: Int) {
        let opened = log.split(separator: "\n").filter { $0.contains("session opened") }
        return (
            opened.filter { $0.contains("gw.transport=websocket") }.count, opened.filter { $0.contains("gw.transport=sse") }.count
        )
    }

    @Test func everydayUseOverTheNativeTLSListener() async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("server")
        let http = "tls_certificate = \"\(pair.certificate)\"\ntls_private_key = \"\(pair.privateKey)\""
        try await GatewayHarness.run(http: http, tlsCA: certificates.caFile) { gateway in
            try await Self.everydayUse(
                server: "https://localhost:\(gateway.port)",
                port: gateway.port,
                caFile: certificates.caFile
            ) {
                Self.transports(gateway.daemons[0].process.stderr)
            }
        }
    }

    @Test func anUntrustedServerIsRefusedWithWhatToDo() async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("server")
        let http = "tls_certificate = \"\(pair.certificate)\"\ntls_private_key = \"\(pair.privateKey)\""
        try await GatewayHarness.run(http: http, tlsCA: certificates.caFile) { gateway in
            let server = "https://localhost:\(gateway.port)"
            // Created (the identity is local), not registered: it says why.
            let carol = PolychatUser(
                name: "carol",
                home: TestEnvironment.makeDirectory("polychat-carol") + "/state",
                server: server,
                extraEnvironment: [:]
            )
            let (status, _, stderr) = try await carol.run(["init", "--server", server, "--name", "carol"])
            #expect(status == 0)
            #expect(stderr.contains("cannot connect securely to the social server at \(server)"), "\(stderr)")
            let refused = try await carol.fails(["room", "create", "x"], status: 3)
            #expect(refused.contains("cannot connect securely to the gateway at \(server)"), "\(refused)")
            #expect(
                refused.contains("issued by an authority this machine does not trust") && refused.contains("--ca-file"),
                "\(refused)"
            )
            // Not a CA file: refused, nothing changed.
            #expect(
                try await carol.fails(["servers", "--ca-file", pair.privateKey], status: 64).contains("cannot read the CA file")
            )
            #expect(try await carol.fails(["servers", "--ca-file", "/nonexistent.pem"], status: 64).contains("/nonexistent.pem"))
            // Given the authority, it works; "" forgets it again.
            try await carol.ok(["servers", "--ca-file", certificates.caFile])
            try await carol.ok(["room", "create", "x"])
            try await carol.ok(["servers", "--ca-file", ""])
            #expect(try await carol.fails(["send", "x", "y"], status: 3).contains("does not trust"))
            // An authority given in the environment works for one run.
            let scripted = PolychatUser(
                name: "carol",
                home: carol.home,
                server: server,
                extraEnvironment: ["POLYCHAT_CA_FILE": certificates.caFile]
            )
            try await scripted.ok(["send", "x", "from a script"])
            // A bad transport name is a usage error.
            let odd = PolychatUser(
                name: "carol",
                home: carol.home,
                server: server,
                extraEnvironment: ["POLYCHAT_TRANSPORT": "pigeon"]
            )
            #expect(try await odd.fails(["rooms"], status: 64).contains("POLYCHAT_TRANSPORT=pigeon"))
        }
        // An expired certificate and one for other names: each refused with its own words.
        for (name, pair, words) in [
            ("expired", try await certificates.server("expired", days: -1), "expired on"),
            (
                "elsewhere", try await certificates.server("elsewhere", names: ["DNS:chat.example.org"]),
                "but for chat.example.org"
            ),
        ] {
            let http = "tls_certificate = \"\(pair.certificate)\"\ntls_private_key = \"\(pair.privateKey)\""
            try await GatewayHarness.run(http: http) { gateway in
                let server = "https://localhost:\(gateway.port)"
                let user = PolychatUser(
                    name: name,
                    home: TestEnvironment.makeDirectory("polychat-\(name)") + "/state",
                    server: server,
                    extraEnvironment: [:]
                )
                let (status, _, stderr) = try await user.run(["init", "--server", server, "--ca-file", certificates.caFile])
                #expect(status == 0 && stderr.contains(words), "\(stderr)")
                let refused = try await user.fails(["room", "create", "x"], status: 3)
                #expect(
                    refused.contains("cannot connect securely to the gateway at \(server)") && refused.contains(words),
                    "\(refused)"
                )
            }
        }
    }
}
