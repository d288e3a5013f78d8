import Foundation
import Primitives
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The terminal UI, driven through a real pseudo-terminal (80x24) like a user would.
@Suite struct PolychatTerminalTests {
    @Test func theTerminalUIShowsAnIncomingMessageLiveAndSendsWhatIsTyped() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "before the UI"])
            try await alice.ok(["room", "create", "lobby"])
            try await alice.ok(["room", "invite", "lobby", bob.id])

            let terminal = try PseudoTerminalProcess(
                executable: PolychatUser.binary,
                arguments: ["chat", "dm"],
                environment: bob.environment.merging(["TERM": "xterm"]) { _, new in new }
            )
            defer { terminal.kill9() }
            try await terminal.waitFor("● connected")
            try await terminal.waitFor("alice (\(alice.id.prefix(12))): before the UI")
            // The list shows both conversations; the header names bob.
            try await terminal.waitFor("@alice")
            try await terminal.waitFor("lobby")
            try await terminal.waitFor("bob (\(bob.id.prefix(12)))")

            // A message arrives while it runs: it appears without a key pressed.
            let mark = terminal.outputCount
            try await alice.ok(["send", "dm", "live from alice"])
            try await terminal.waitFor("live from alice", after: mark)

            // Typing and Enter send to the open conversation.
            terminal.type("typed in the terminal")
            try await terminal.waitFor("typed in the terminal")
            terminal.type("\r")
            try await terminal.waitFor("you: typed in the terminal")
            #expect(try await alice.texts("dm").suffix(2) == ["live from alice", "typed in the terminal"])

            // A message to the other conversation counts as unread there.
            let before = terminal.outputCount
            try await alice.ok(["send", "lobby", "over here"])
            try await terminal.waitFor("lobby", after: before)
            try await terminal.waitFor("(1)", after: before)
            // Down selects it, and its messages show.
            terminal.type("\u{1b}[B")
            try await terminal.waitFor("over here")

            // Ctrl-C quits cleanly and gives the terminal back (leaves the alternate screen).
            terminal.type("\u{3}")
            #expect(try await terminal.waitForExit() == 0)
            #expect(terminal.screen.hasSuffix("\u{1b}[?1049l"))
            // It saved what it saw: reading offline shows the message without a connection.
            #expect(try await bob.ok(["read", "lobby", "--offline"]).contains("over here"))
        }
    }

    @Test func theTerminalUIReconnectsAfterTheGatewayGoesAway() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "hi"])
            let terminal = try PseudoTerminalProcess(
                executable: PolychatUser.binary,
                arguments: ["chat", "dm"],
                environment: bob.environment
            )
            defer { terminal.kill9() }
            try await terminal.waitFor("● connected")
            // The daemon restarts on the same port: the UI says it is offline, then reconnects.
            let daemon = gateway.daemons[0]
            let mark = terminal.outputCount
            daemon.process.signal(SIGTERM)
            _ = try await daemon.process.waitForExit()
            try await terminal.waitFor("offline", after: mark)
            // The notice line (row 23 of 24) says why.
            try await terminal.waitFor("\u{1b}[23;1H─ ", after: mark)
            let again = try daemon.harness.start()
            defer { again.kill9() }
            try await HTTPTestClient.waitFor(port: daemon.port, "/readyz") { $0.status == 200 }
            try await terminal.waitFor("● connected", after: mark)
            // Connected again, the line is plain again (issue 15: "cannot reach the gateway"
            // stayed on screen). It showed a notice from the stop until now.
            try await terminal.waitFor("\u{1b}[23;1H" + String(repeating: "─", count: 80), after: mark)
            try await alice.ok(["send", "dm", "after the restart"])
            try await terminal.waitFor("after the restart")
            terminal.type("/quit\r")
            #expect(try await terminal.waitForExit() == 0)
        }
    }
}

/// The terminal UI is the running instance while it is open (issue 19, item 2): commands from
/// other terminals go through it, and its input line takes commands.
@Suite struct PolychatTerminalInstanceTests {
    @Test func commandsFromAnotherTerminalGoThroughTheUIAndItsInputLineTakesCommands() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["room", "create", "lobby"])
            try await alice.ok(["room", "invite", "lobby", bob.id])
            try await alice.ok(["contacts", "request", bob.id])
            try await bob.ok(["contacts", "accept", alice.id])
            try await bob.ok(["rooms"])
            // The UI runs in a directory of its own: Ctrl-S saves files there.
            let downloads = TestEnvironment.makeDirectory("ui-downloads")
            let terminal = try PseudoTerminalProcess(
                executable: "/bin/sh",
                arguments: ["-c", "cd \"$0\" && exec \"$1\" chat lobby", downloads, PolychatUser.binary],
                environment: bob.environment.merging(["TERM": "xterm"]) { _, new in new },
                columns: 200  // notices with the scratch directory's long paths fit on one line
            )
            defer { terminal.kill9() }
            try await terminal.waitFor("● connected")

            // One-shot commands in other processes go through the open UI.
            var mark = terminal.outputCount
            #expect(try await bob.ok(["send", "lobby", "from another terminal"]).hasPrefix("sent (#"))
            try await terminal.waitFor("you: from another terminal", after: mark)
            #expect(try await alice.texts("lobby").last == "from another terminal")
            #expect(try await bob.ok(["post", "posted while the UI runs"]).hasPrefix("posted "))
            #expect(try await bob.ok(["presence", "invisible"]) == "you are invisible\n")
            try await eventually("alice sees bob offline") {
                try await alice.json(["contacts", "--json"], as: [PolychatCommandTests.Contact].self).first?.presence == "offline"
            }
            #expect(try await bob.ok(["presence", "visible"]) == "you are visible to your contacts\n")

            // Commands on the input line.
            terminal.type("/help\r")
            try await terminal.waitFor("/dm USER TEXT")
            mark = terminal.outputCount
            terminal.type("/dm \(alice.id.prefix(10)) hello from the input line\r")
            try await terminal.waitFor("you: hello from the input line", after: mark)
            #expect(try await alice.texts("dm").last == "hello from the input line")
            terminal.type("/join garden\r")
            try await terminal.waitFor("created the room garden")
            terminal.type("/invite \(alice.id.prefix(10))\r")
            try await terminal.waitFor(" to garden")
            #expect(try await alice.rooms().contains { $0.name == "garden" })
            terminal.type("/invisible\r")
            try await terminal.waitFor("you are invisible (you look offline to everyone)")
            terminal.type("/leave\r")
            try await terminal.waitFor("you left garden")
            terminal.type("/join lobby\r")
            try await terminal.waitFor("opened lobby")
            terminal.type("/frobnicate\r")
            try await terminal.waitFor("no command /frobnicate: /help lists them")
            // A line that is not a command stays, to be corrected (Ctrl-U clears it).
            terminal.type("\u{15}/dm\r")
            try await terminal.waitFor("usage: /dm USER TEXT")
            // A file sent to the open room shows as a line; /save stores it.
            let work = TestEnvironment.makeDirectory("ui-files")
            let original = SecureRandom.bytes(count: 5000)
            try Data(original).write(to: URL(fileURLWithPath: "\(work)/note.txt"))
            try await alice.ok(["send", "lobby", "--file", "\(work)/note.txt"])
            try await terminal.waitFor("note.txt")
            let saved = TestEnvironment.makeDirectory("ui-saved")
            terminal.type("\u{15}/save note.txt \(saved)\r")
            try await terminal.waitFor("saved ")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(saved)/note.txt"))) == original)
            // Ctrl-S saves the newest file on screen (its line says so) into the UI's directory,
            // and never over a file that is there.
            try await terminal.waitFor("(Ctrl-S)")
            terminal.type("\u{13}")
            try await terminal.waitFor("saved \(downloads)/note.txt (5.0 KB)")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(downloads)/note.txt"))) == original)
            terminal.type("\u{13}")
            try await terminal.waitFor("\(downloads)/note.txt exists: /save ")
            terminal.type("\u{15}/quit\r")
            #expect(try await terminal.waitForExit() == 0)
            // Closed, the UI removed its socket: commands run by themselves again.
            #expect(access(bob.home + "/polychat.sock", F_OK) != 0)
            #expect(try await bob.ok(["presence"]).hasPrefix("you are invisible"))
        }
    }
}
