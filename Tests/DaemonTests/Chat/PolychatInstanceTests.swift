import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One running polychat per state directory (issue 19, item 2): `polychat daemon` (or the UI)
/// holds the connection and serves `polychat.sock`; one-shot commands from other processes go
/// through it with the same output and exit status; scripts speak JSON-RPC to it or listen.
@Suite struct PolychatInstanceTests {
    /// Starts `polychat daemon` for `user` and waits until it is connected.
    static func daemon(_ user: PolychatUser) async throws -> TestProcess {
        let process = try TestProcess(
            executable: PolychatUser.binary,
            arguments: ["daemon"],
            environment: user.environment,
            outputDirectory: TestEnvironment.scratchDirectory
        )
        try await eventually("the daemon connects") { process.stderr.contains("polychat: connected to") }
        return process
    }

    /// One JSON-RPC exchange on a raw connection: the answer line as JSON.
    static func call(_ connection: RawConnection, _ line: String) throws -> [String: Any] {
        guard connection.write(line + "\n") else { throw TestFailure("the instance closed the connection") }
        let (bytes, _) = connection.read(for: .seconds(30)) { $0.contains(0x0A) }
        guard let newline = bytes.firstIndex(of: 0x0A),
            let object = try JSONSerialization.jsonObject(with: Data(bytes[..<newline])) as? [String: Any]
        else { throw TestFailure("no answer line to \(line): \(String(decoding: bytes, as: UTF8.self))") }
        return object
    }

    @Test func oneShotCommandsGoThroughARunningDaemonWithTheSameOutputAndExitStatus() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["room", "create", "lobby"])
            try await alice.ok(["room", "invite", "lobby", bob.id])
            try await bob.ok(["rooms"])
            // What failures look like without an instance.
            let (missingStatus, _, missingError) = try await bob.run(["send", "nosuch", "x"])
            let (badStatus, _, badError) = try await bob.run(["read", "lobby", "--limit", "many"])

            let daemon = try await Self.daemon(bob)
            defer { daemon.kill9() }
            let socket = bob.home + "/polychat.sock"
            var status = stat()
            #expect(stat(socket, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect(status.st_mode & S_IFMT == S_IFSOCK)

            // Without the daemon these would fail with exit 5 (the state is in use).
            #expect(try await bob.ok(["send", "lobby", "through the daemon"]).hasPrefix("sent (#"))
            #expect(try await alice.texts("lobby").last == "through the daemon")
            #expect(try await bob.ok(["dm", alice.id, "a dm through the daemon"]).hasPrefix("sent to "))
            #expect(try await alice.texts("dm").last == "a dm through the daemon")
            #expect(try await bob.ok(["post", "a post through the daemon"]).hasPrefix("posted "))
            try await alice.ok(["follow", bob.id])
            #expect(try await alice.ok(["feed"]).contains("a post through the daemon"))
            #expect(try await bob.ok(["presence", "invisible"]) == "you are invisible\n")
            #expect(try await bob.ok(["presence"]).hasPrefix("you are invisible"))
            let rooms = try await bob.rooms()
            #expect(Set(rooms.map(\.kind)) == ["room", "dm"])
            #expect(try await bob.ok(["contacts", "name", alice.id, "ally"]).contains("ally"))
            #expect(try await bob.ok(["read", "@ally"]).contains("you: a dm through the daemon"))
            #expect(try await bob.ok(["whoami"]).contains(bob.id))

            // Failures: the same message and status as without it.
            let (throughStatus, _, throughError) = try await bob.run(["send", "nosuch", "x"])
            #expect(throughStatus == missingStatus && throughStatus == 1)
            #expect(throughError == missingError)
            let (badThroughStatus, _, badThroughError) = try await bob.run(["read", "lobby", "--limit", "many"])
            #expect(badThroughStatus == badStatus && badStatus == 64)
            #expect(badThroughError == badError)
            // Commands that need the process's own files or terminal still need the state.
            let refused = try await bob.fails(
                ["identity", "export", TestEnvironment.scratchDirectory + "/bob.export"],
                status: 5
            )
            #expect(refused.contains("another polychat is using"))

            // Scripts speak JSON-RPC to the socket directly.
            let connection = try RawConnection.unix(path: socket)
            let status1 = try Self.call(connection, #"{"jsonrpc":"2.0","id":1,"method":"status"}"#)
            #expect((status1["result"] as? [String: Any])?["user"] as? String == bob.id)
            #expect((status1["result"] as? [String: Any])?["connected"] as? Bool == true)
            let sent = try Self.call(
                connection,
                #"{"jsonrpc":"2.0","id":"two","method":"send","params":{"conversation":"lobby","text":"sent by a script"}}"#
            )
            #expect(sent["id"] as? String == "two")
            #expect(((sent["result"] as? [String: Any])?["seq"] as? Int ?? 0) > 0)
            #expect(try await alice.texts("lobby").last == "sent by a script")
            let notFound = try Self.call(
                connection,
                #"{"jsonrpc":"2.0","id":3,"method":"send","params":{"conversation":"nosuch","text":"x"}}"#
            )
            let failure = notFound["error"] as? [String: Any]
            #expect(failure?["code"] as? Int == -32000)
            #expect((failure?["data"] as? [String: Any])?["reason"] as? String == "not_found")
            #expect((failure?["data"] as? [String: Any])?["status"] as? Int == 1)
            #expect((try Self.call(connection, "not json")["error"] as? [String: Any])?["code"] as? Int == -32700)
            let unknown = try Self.call(connection, #"{"jsonrpc":"2.0","id":4,"method":"frobnicate"}"#)
            #expect((unknown["error"] as? [String: Any])?["code"] as? Int == -32601)
            #expect(((unknown["error"] as? [String: Any])?["message"] as? String)?.contains("send") == true)
            let missing = try Self.call(connection, #"{"jsonrpc":"2.0","id":5,"method":"send","params":{"text":"x"}}"#)
            #expect((missing["error"] as? [String: Any])?["code"] as? Int == -32602)
            #expect(
                ((missing["error"] as? [String: Any])?["message"] as? String)?.contains("\"conversation\" is missing") == true
            )
            let run = try Self.call(connection, #"{"jsonrpc":"2.0","id":6,"method":"run","params":{"argv":["rooms"]}}"#)
            #expect(((run["result"] as? [String: Any])?["stdout"] as? String)?.contains("lobby") == true)

            // Stopped, it removes its socket; commands run by themselves again.
            daemon.signal(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            #expect(access(socket, F_OK) != 0)
            #expect(try await bob.ok(["send", "lobby", "without the daemon"]).hasPrefix("sent (#"))
        }
    }

    @Test func listenStreamsIncomingMessagesAsJSONThroughTheInstanceOrAsOne() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "first"])
            try await bob.ok(["rooms"])

            // Through a running daemon.
            let daemon = try await Self.daemon(bob)
            defer { daemon.kill9() }
            let listener = try TestProcess(
                executable: PolychatUser.binary,
                arguments: ["listen", "--json"],
                environment: bob.environment,
                outputDirectory: TestEnvironment.scratchDirectory
            )
            defer { listener.kill9() }
            try await eventually("the listener subscribes") { listener.stderr.contains("listening through the running polychat") }
            try await alice.ok(["send", "dm", "hello listener"])
            try await eventually("the listener prints the message") { listener.stdout.contains("hello listener") }
            let line = try #require(listener.stdout.split(separator: "\n").first { $0.contains("hello listener") })
            let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(event["method"] as? String == "message")
            let params = try #require(event["params"] as? [String: Any])
            #expect(params["kind"] as? String == "dm")
            #expect(params["conversationName"] as? String == "@alice")
            let message = try #require(params["message"] as? [String: Any])
            #expect(message["sender"] as? String == alice.id)
            #expect(message["senderName"] as? String == "alice")
            #expect(message["text"] as? String == "hello listener")
            // The daemon ends: the listener says so and exits 3.
            daemon.signal(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            #expect(try await listener.waitForExit() == 3)
            #expect(listener.stderr.contains("the running polychat ended the connection"))

            // With no instance running, listen is the instance: commands go through it.
            let alone = try TestProcess(
                executable: PolychatUser.binary,
                arguments: ["listen"],
                environment: bob.environment,
                outputDirectory: TestEnvironment.scratchDirectory
            )
            defer { alone.kill9() }
            try await eventually("listen serves the socket") { alone.stderr.contains("listening, and serving") }
            #expect(try await bob.ok(["send", "dm", "sent while listening"]).hasPrefix("sent (#"))
            try await alice.ok(["send", "dm", "to the lone listener"])
            try await eventually("the lone listener prints it") {
                alone.stdout.contains("[@alice] ")
                    && alone.stdout.contains("alice (\(alice.id.prefix(12))): to the lone listener")
            }
            #expect(try await alice.texts("dm").contains("sent while listening"))
            alone.signal(SIGINT)
            #expect(try await alone.waitForExit() == 0)
            #expect(access(bob.home + "/polychat.sock", F_OK) != 0)
        }
    }
}
