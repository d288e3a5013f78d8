import Daemon
import Primitives
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// gwctl's console driven through a real pseudo-terminal (80x24), as an operator would:
/// Tab completion of commands and live conversation ids, `?`, help, history recalled with Up
/// (also in the next session, from ~/.gwctl_history), Ctrl-C, colour and width on a terminal.
@Suite struct GwctlConsoleTests {
    static let prompt = "gwctl gw_test> "

    @Test func completionHistoryHelpAndInterrupts() async throws {
        try await GatewayHarness.run { gateway in
            let socket = gateway.controlPath
            let user = GatewayHarness.User()
            let device = try user.device()
            let first = [0xAA] + SecureRandom.bytes(count: 15)
            let second = [0xBB] + SecureRandom.bytes(count: 15)
            try await gateway.connected(device) { connection in
                try await connection.createConversation(first)
                try await connection.createConversation(second)
            }
            // What Tab asks the daemon for.
            let completions = try await Gwctl.ok(["complete", "conversation", "a"], socket: socket).stdout
            #expect(completions == "ID\n\(Hex.encode(first))\n")
            let home = TestEnvironment.makeDirectory("home")
            let environment = TestEnvironment.baseEnvironment.merging(["TERM": "xterm", "HOME": home]) { _, new in new }
            let console = try PseudoTerminalProcess(
                executable: Gwctl.binary,
                arguments: ["--socket", socket],
                environment: environment
            )
            defer { console.kill9() }
            try await console.waitFor("polygated \(Daemon.version), gateway gw_test, on socket \(socket)")
            try await console.waitFor(Self.prompt)

            // Tab completes a command word…
            var mark = console.outputCount
            console.type("sta\t")
            try await console.waitFor("status ", after: mark)
            console.type("\r")
            try await console.waitFor("uptime_seconds:", after: mark)

            // …and a live conversation id, fetched from the daemon: "a" is unique.
            mark = console.outputCount
            console.type("conv show a\t")
            try await console.waitFor(Hex.encode(first), after: mark)
            console.type("\r")
            try await console.waitFor("conv:             \(Hex.encode(first))", after: mark)
            try await console.waitFor("pending_welcomes:", after: mark)

            // Two candidates: a second Tab lists both.
            mark = console.outputCount
            console.type("conv show \t\t")
            try await console.waitFor(Hex.encode(second), after: mark)
            try await console.waitFor(Hex.encode(first), after: mark)
            // Ctrl-C drops the half-typed line and gives a new prompt.
            mark = console.outputCount
            console.type("\u{3}")
            try await console.waitFor("^C", after: mark)
            try await console.waitFor(Self.prompt, after: mark)

            // ? shows what fits where the cursor is, and keeps the line.
            mark = console.outputCount
            console.type("conv ?")
            try await console.waitFor("conv show CONV", after: mark)
            try await console.waitFor("conv list [--member USER]", after: mark)
            console.type("l\t")
            try await console.waitFor("list ", after: mark)
            // A table on a terminal: bold headers, fitted to 80 columns.
            console.type("\r")
            try await console.waitFor("\u{1b}[1mCONV", after: mark)
            try await console.waitFor("…", after: mark)

            // help, in the console too.
            mark = console.outputCount
            console.type("help\r")
            try await console.waitFor("ledger tail", after: mark)
            try await console.waitFor("Tab completes", after: mark)

            // A stream runs until Ctrl-C, then the console carries on.
            mark = console.outputCount
            console.type("ledger tail -f -n 1\r")
            try await console.waitFor("EVENT", after: mark)
            mark = console.outputCount
            console.type("\u{3}")
            try await console.waitFor(Self.prompt, after: mark)
            mark = console.outputCount
            console.type("st\r")
            try await console.waitFor("uptime_seconds:", after: mark)

            // Up recalls the line before.
            mark = console.outputCount
            console.type("\u{1b}[A")
            try await console.waitFor("st", after: mark)
            console.type("\r")
            try await console.waitFor("uptime_seconds:", after: mark)

            // Ctrl-D leaves, with exit status 0, and the history is on disk (0600).
            console.type("\u{4}")
            #expect(try await console.waitForExit() == 0)
            let history = readFile("\(home)/.gwctl_history")
            #expect(history.contains("conv show \(Hex.encode(first))\n"))
            #expect(history.contains("ledger tail -f -n 1\n"))
            var info = stat()
            #expect(stat("\(home)/.gwctl_history", &info) == 0 && info.st_mode & 0o777 == 0o600)

            // The next session starts with that history: Up, Up is the line before the last.
            let again = try PseudoTerminalProcess(
                executable: Gwctl.binary,
                arguments: ["--socket", socket],
                environment: environment
            )
            defer { again.kill9() }
            try await again.waitFor(Self.prompt)
            mark = again.outputCount
            again.type("\u{1b}[A")
            try await again.waitFor("st", after: mark)
            mark = again.outputCount
            again.type("\u{1b}[A")
            try await again.waitFor("ledger tail -f -n 1", after: mark)
            again.type("\u{15}quit\r")  // Ctrl-U clears the line, then quit
            #expect(try await again.waitForExit() == 0)
        }
    }
}
