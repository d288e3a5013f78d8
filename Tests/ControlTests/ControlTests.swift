import Control
import Testing

@Suite struct ControlCommandLineTests {
    @Test func wordsQuotesAndEscapes() throws {
        #expect(try ControlCommandLine.tokenize("conv  show abc") == ["conv", "show", "abc"])
        #expect(
            try ControlCommandLine.tokenize(#"ledger tail -e "device.re" 'a b' c\ d"#) == [
                "ledger", "tail", "-e", "device.re", "a b", "c d",
            ]
        )
        #expect(try ControlCommandLine.tokenize(#"x "" y"#) == ["x", "", "y"])
        #expect(throws: ControlError.self) { _ = try ControlCommandLine.tokenize("conv 'open") }
    }

    @Test func uniquePrefixesNameCommands() throws {
        #expect(try ControlCommandLine.parse(line: "conv sh abcd").command.name == "conv show")
        #expect(try ControlCommandLine.parse(line: "conf s").command.name == "config show")
        #expect(try ControlCommandLine.parse(line: "conv show abcd").arguments == ["abcd"])
        #expect(try ControlCommandLine.parse(line: "st").command.name == "status")
        #expect(try ControlCommandLine.parse(line: "led t -n 5 --follow").options == ["limit": "5", "follow": "true"])
        #expect(try ControlCommandLine.parse(line: "help conv").arguments == ["conv"])
        #expect(try ControlCommandLine.parse(["kp", "stats"]).arguments.isEmpty)
    }

    @Test func ambiguityAndUnknownWordsSayWhatWouldDo() {
        func message(_ line: String) -> String {
            do {
                _ = try ControlCommandLine.parse(line: line)
                return "parsed"
            } catch {
                return "\(error.code): \(error.message)"
            }
        }
        #expect(message("c") == "unknown_command: 'c' is ambiguous: check, complete, config, conn, conv")
        #expect(message("con") == "unknown_command: 'con' is ambiguous: config, conn, conv")
        #expect(message("conv") == "unknown_command: conv what? (list, show)")
        #expect(message("conv frob") == "unknown_command: conv has no 'frob' (list, show)")
        #expect(message("launch") == "unknown_command: unknown command 'launch' (try help)")
        #expect(message("") == "unknown_command: no command given (try help)")
    }

    @Test func argumentsAndOptionsAreChecked() {
        func message(_ line: String) -> String {
            do {
                _ = try ControlCommandLine.parse(line: line)
                return "parsed"
            } catch {
                return error.message
            }
        }
        #expect(message("conv show") == "conv show needs CONV (usage: conv show CONV)")
        #expect(message("conv show abcd ef") == "conv show takes 1 argument(s) (usage: conv show CONV)")
        #expect(message("conv show xyz") == "CONV: 'xyz' is not a hex id (or a prefix of one)")
        #expect(message("conv list --frob") == "conv list has no option --frob (usage: conv list [--member USER] [-n|--limit N])")
        #expect(message("conv list -n") == "--limit needs N")
        #expect(message("conv list -n 0") == "--limit: '0' is not a positive number")
        #expect(message("conv list --limit=7") == "parsed")
        #expect(message("ledger tail --follow=yes") == "--follow takes no value")
        #expect(message("ratelimit show 10.0.0.1") == "parsed")
        #expect(message("ratelimit show ::1") == "parsed")
        #expect(message("ratelimit show nope") == "DEVICE|IP: 'nope' is neither a device id nor an IP address")
        #expect(message("conn kick 17") == "parsed")
        #expect(ControlCommandLine.isSession("17"))
        #expect(!ControlCommandLine.isSession(String(repeating: "1", count: 64)))
        // After `--`, a value that starts with a dash is an argument.
        #expect(message("conv show -- -1") == "CONV: '-1' is not a hex id (or a prefix of one)")
    }

    @Test func requestsCarryTheResolvedName() throws {
        // `bl` would be `blob` or `block`: ambiguous since blobs came; `bloc` is not.
        #expect(throws: (any Error).self) { try ControlCommandLine.parse(line: "bl a aa bb") }
        let request = try ControlCommandLine.parse(line: "bloc a aa bb").request(id: 7)
        #expect(request == ControlProtocol.Request(id: 7, command: "block add", arguments: ["aa", "bb"], options: [:]))
    }

    @Test func everyCommandHasHelpAndAUsage() {
        for command in ControlCommands.all {
            #expect(command.help.hasPrefix("usage: \(command.name)"))
            #expect(!command.summary.isEmpty)
            #expect(command.columns.isEmpty || command.fields.isEmpty, "\(command.name) is a list or a record, not both")
        }
        #expect(ControlCommands.named("device revoke")?.help.contains("audit ledger") == true)
        #expect(Set(ControlCommands.all.map(\.name)).count == ControlCommands.all.count)
    }
}

@Suite struct ControlCompletionTests {
    static func ids(_ kind: ControlCommand.Kind, _ prefix: String) -> [String] {
        switch kind {
        case .conversation: ["abcd01", "abff02", "9999"]
        case .user: ["aaaa", "bbbb"]
        case .sessionOrDevice: ["12", "dddd"]
        default: []
        }
    }

    static func complete(_ line: String) -> [String] {
        let before = line.split(separator: " ", omittingEmptySubsequences: false).dropLast().joined(separator: " ")
        let word = line.split(separator: " ", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        return ControlCompletion.candidates(before: before.isEmpty ? "" : before + " ", word: word, ids: Self.ids)
    }

    @Test func commandWordsThenLiveIdsThenOptions() {
        #expect(Self.complete("").contains("status"))
        #expect(Self.complete("co") == ["complete", "config", "conn", "conv"])
        #expect(Self.complete("conv ") == ["list", "show"])
        #expect(Self.complete("conv s") == ["show"])
        #expect(Self.complete("conv show ab") == ["abcd01", "abff02"])
        #expect(Self.complete("conv sh abc") == ["abcd01"])
        #expect(Self.complete("conv show abcd01 ").isEmpty)
        #expect(Self.complete("conv list --") == ["--limit", "--member"])
        #expect(Self.complete("conv list --member b") == ["bbbb"])
        #expect(Self.complete("block add aaaa ") == ["aaaa", "bbbb"])
        #expect(Self.complete("conn kick 1") == ["12"])
        #expect(Self.complete("help le") == ["ledger"])
        #expect(Self.complete("status ").isEmpty)
    }
}

@Suite struct ControlRenderingTests {
    @Test func tablesFitTheWidth() {
        let table = ControlTable(
            columns: ["conv", "members", "last_activity"],
            rows: [[String(repeating: "a", count: 64), "3", "2026-12-01 08:00:00"], ["bb", "12", ""]]
        )
        let wide = table.render(width: 200, color: false).split(separator: "\n")
        #expect(wide[0].hasPrefix("CONV" + String(repeating: " ", count: 62) + "MEMBERS  LAST_ACTIVITY"))
        #expect(wide[1].contains(String(repeating: "a", count: 64)))
        let narrow = table.render(width: 60, color: false).split(separator: "\n")
        #expect(narrow.allSatisfy { $0.count <= 60 })
        #expect(narrow[1].contains("…"))
        #expect(narrow[1].hasSuffix("2026-12-01 08:00:00"))
        #expect(table.render(width: 80, color: true).hasPrefix("\u{1b}[1mCONV"))
        // A cell from a user cannot paint the terminal.
        #expect(!ControlTable(columns: ["name"], rows: [["evil\u{1b}[2J"]]).render(width: 80, color: false).contains("\u{1b}"))
    }

    @Test func listsRecordsAndSections() throws {
        let list = try #require(ControlCommands.named("block list"))
        let items: ControlValue = ["items": [["user": "aa", "blocked": "bb"]]]
        #expect(ControlRendering.render(items, of: list, width: 80, color: false) == "USER  BLOCKED\naa    bb")
        #expect(ControlRendering.render(["items": []], of: list, width: 80, color: false) == "(none)")

        let show = try #require(ControlCommands.named("conv show"))
        let record: ControlValue = [
            "conv": "abcd", "epoch": 3, "seq": 9, "home": "gw1", "extra": true,
            "members": [["user": "aa", "joined_seq": 0, "left_seq": .null]],
            "devices": [],
        ]
        let text = ControlRendering.render(record, of: show, width: 80, color: false)
        #expect(
            text.hasPrefix(
                "conv:  abcd\nhome:  gw1\nepoch: 3\nseq:   9\nextra: yes\n\nmembers:\n  USER  JOINED_SEQ  LEFT_SEQ\n  aa    0"
            )
        )
        #expect(text.hasSuffix("devices:\n  (none)"))

        let config = try #require(ControlCommands.named("config show"))
        let sections: ControlValue = [
            "http": ["listen": "127.0.0.1:8080"], "database": ["url": "postgresql://…", "pool_size": 8],
        ]
        #expect(
            ControlRendering.render(sections, of: config, width: 80, color: false)
                == "[database]\npool_size = 8\nurl = \"postgresql://…\"\n\n[http]\nlisten = \"127.0.0.1:8080\""
        )
    }

    @Test func messagesAreLinesOfJSON() throws {
        let line = ControlProtocol.line(ControlProtocol.Response.result(3, ["items": [["seq": 9_007_199_254_740_993]]]))
        #expect(line.last == 0x0a)
        #expect(
            String(decoding: line, as: UTF8.self) == #"{"id":3,"ok":true,"result":{"items":[{"seq":9007199254740993}]}}"# + "\n"
        )
        let back = try ControlProtocol.decode(ControlProtocol.Response.self, line.dropLast())
        #expect(back.result?["items"]?.array?.first?["seq"]?.int == 9_007_199_254_740_993)
        #expect(throws: ControlError.self) { _ = try ControlProtocol.decode(ControlProtocol.Request.self, Array("nope".utf8)) }
        let hello = ControlProtocol.Hello(server: "polygated 0.1.0", gatewayID: "gw1", readOnly: true)
        #expect(
            String(decoding: ControlProtocol.line(hello), as: UTF8.self)
                == #"{"gateway_id":"gw1","protocol":1,"read_only":true,"server":"polygated 0.1.0"}"# + "\n"
        )
    }
}
