import AdminConsole
import Control
import Testing

@Suite struct ControlHelpTests {
    @Test func overviewListsEveryCommandButTheCompletionHelper() {
        let text = ControlHelp.overview(width: 100)
        for command in ControlCommands.all where command.name != "complete" {
            #expect(text.contains("  \(command.name)"), "\(command.name) missing from help")
        }
        #expect(!text.contains("  complete "))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func helpNamesACommandAGroupOrNothing() throws {
        let show = try ControlHelp.text(for: ["conv", "sh"], width: 80)
        #expect(show.hasPrefix("usage: conv show CONV"))
        #expect(show.split(separator: "\n").allSatisfy { $0.count <= 80 })
        let group = try ControlHelp.text(for: ["conv"], width: 80)
        #expect(group.contains("usage: conv list") && group.contains("usage: conv show"))
        #expect(try ControlHelp.text(for: ["led"], width: 80).contains("-f, --follow"))
        #expect(throws: ControlError.self) { _ = try ControlHelp.text(for: ["frobnicate"], width: 80) }
    }

    @Test func questionMarkShowsWhatFitsAtTheCursor() {
        let empty = ControlHelp.context(before: "", width: 200)
        #expect(empty.contains("status") && empty.contains("ledger tail"))
        let conv = ControlHelp.context(before: "conv ", width: 200)
        #expect(conv.contains("conv list") && conv.contains("conv show") && !conv.contains("status"))
        let partial = ControlHelp.context(before: "co", width: 200)
        #expect(partial.contains("conv show") && partial.contains("conn kick") && partial.contains("config show"))
        #expect(!partial.contains("device list"))
        let named = ControlHelp.context(before: "conv show ", width: 200)
        #expect(named.hasPrefix("usage: conv show CONV"))
        #expect(named.contains("next: CONV — a conversation id"))
        let option = ControlHelp.context(before: "block add abcd ", width: 200)
        #expect(option.contains("next: BLOCKED"))
        #expect(ControlHelp.context(before: "zz", width: 200).contains("nothing fits here"))
    }

    @Test func streamedLinesArePaddedToTheFirstLinesWidths() {
        #expect(ControlRendering.padded(["1", "ab", "last"], [3, 4, 1]) == "1    ab    last")
        #expect(ControlRendering.padded(["wider", "x"], [2, 9]) == "wider  x")
    }
}

@Suite struct GwctlArgumentsTests {
    @Test func optionsAnywhereBeforeTheCommandsOwn() throws {
        let parsed = try GwctlArguments.parse(["--json", "conv", "list", "-n", "5", "-s", "/tmp/c.sock"], environment: [:])
        #expect(parsed.json && parsed.socket == "/tmp/c.sock")
        #expect(parsed.words == ["conv", "list", "-n", "5"])
        let socket = try GwctlArguments.parse(["--socket=/x.sock", "status", "--no-color"], environment: ["GWCTL_SOCKET": "/y"])
        #expect(socket.socket == "/x.sock" && socket.color == .never && socket.words == ["status"])
        #expect(try GwctlArguments.parse([], environment: ["GWCTL_SOCKET": "/y"]).socket == "/y")
        #expect(try GwctlArguments.parse([], environment: [:]).socket == GwctlArguments.defaultSocket)
        let ended = try GwctlArguments.parse(["ledger", "tail", "--", "--json"], environment: [:])
        #expect(ended.words == ["ledger", "tail", "--", "--json"] && !ended.json)
        #expect(try GwctlArguments.parse(["conv", "show", "--help"], environment: [:]).help)
    }

    @Test func badOptionsAreUsageErrors() {
        #expect(throws: GwctlArguments.Problem.self) { _ = try GwctlArguments.parse(["--frob"], environment: [:]) }
        #expect(throws: GwctlArguments.Problem.self) { _ = try GwctlArguments.parse(["--socket"], environment: [:]) }
        #expect(throws: GwctlArguments.Problem.self) { _ = try GwctlArguments.parse(["--socket="], environment: [:]) }
    }
}
