import ChatTerminal
import Testing

/// The terminal UI's input-line commands, parsed without a terminal.
@Suite struct SlashCommandTests {
    func parse(_ line: String) -> SlashCommand? { try? SlashCommand.parse(line).get() }
    func problem(_ line: String) -> String? {
        if case .failure(let problem) = SlashCommand.parse(line) { return problem.description }
        return nil
    }

    @Test func commandsAndTheirArguments() {
        #expect(self.parse("/quit") == .quit)
        #expect(self.parse("/q") == .quit)
        #expect(self.parse("/help") == .help)
        #expect(self.parse("/dm @bob hello there") == .directMessage(user: "@bob", text: "hello there"))
        // The text keeps its inner spacing.
        #expect(self.parse("/dm  bob   a  b ") == .directMessage(user: "bob", text: "  a  b "))
        #expect(self.parse("/join lobby") == .join("lobby"))
        #expect(self.parse("/JOIN @bob") == .join("@bob"))
        #expect(self.parse("/invite c9f4") == .invite("c9f4"))
        #expect(self.parse("/leave") == .leave)
        #expect(self.parse("/invisible") == .invisible(true))
        #expect(self.parse("/invisible on") == .invisible(true))
        #expect(self.parse("/invisible off") == .invisible(false))
        #expect(self.parse("/visible") == .invisible(false))
        #expect(self.parse("/save c9f4") == .save(file: "c9f4", path: nil))
        #expect(self.parse("/save report.pdf /tmp") == .save(file: "report.pdf", path: "/tmp"))
    }

    @Test func wrongUseSaysWhatToType() {
        #expect(self.problem("/dm bob") == "usage: /dm USER TEXT")
        #expect(self.problem("/join") == "usage: /join CONV (a room's name, an id prefix or @user)")
        #expect(self.problem("/join a b") == "usage: /join CONV (a room's name, an id prefix or @user)")
        #expect(self.problem("/invite") == "usage: /invite USER (to the open room)")
        #expect(self.problem("/leave now") == "usage: /leave (leaves the open conversation)")
        #expect(self.problem("/invisible maybe") == "usage: /invisible [on|off]")
        #expect(self.problem("/frob") == "no command /frob: /help lists them")
        #expect(self.problem("/save") == "usage: /save FILE [PATH] (a file of the open conversation)")
        #expect(self.problem("/") == "type a command after /")
        #expect(SlashCommand.helpText.contains("/dm USER TEXT"))
    }
}
