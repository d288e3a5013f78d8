import Testing

@testable import ChatClient
@testable import ChatTerminal

@Suite struct ChatScreenTests {
    static let alice = String(repeating: "a", count: 64)
    static let bob = String(repeating: "b", count: 64)

    static func message(
        _ text: String,
        from sender: String = alice,
        name: String? = "alice",
        own: Bool = false,
        seq: UInt64 = 1
    ) -> ChatMessage {
        ChatMessage(seq: seq, sender: sender, senderName: name, text: text, sentAtMs: 1_796_112_000_000, own: own, notice: false)
    }

    static func record(
        _ id: String,
        _ name: String,
        kind: ConversationRecord.Kind = .room,
        peer: String? = nil,
        messages: [ChatMessage] = [],
        unread: Int = 0
    )
        -> ConversationRecord
    {
        ConversationRecord(
            id: id,
            name: name,
            kind: kind,
            peer: peer,
            group: nil,
            lastSeq: 0,
            messages: messages,
            unread: unread,
            left: false,
            members: [alice, bob]
        )
    }

    static func screen() -> ChatScreen {
        var screen = ChatScreen()
        screen.me = "bob (bbbbbbbbbbbb)"
        screen.connection = .connected
        screen.update([
            record("01", "dm", kind: .dm, peer: alice, messages: [message("hello bob")]),
            record("02", "team", messages: [message("standup at ten")], unread: 3),
        ])
        screen.presence = [alice: "online"]
        return screen
    }

    @Test func fillsAnEightyByTwentyFourTerminalExactly() {
        let (lines, row, column) = Self.screen().render()
        #expect(lines.count == 24)
        #expect(lines.allSatisfy { $0.count == 80 })
        #expect(lines[0].contains("polychat  bob (bbbbbbbbbbbb)"))
        #expect(lines[0].hasSuffix("● connected "))
        #expect(row == 23)
        #expect(column == "@alice> ".count)
        #expect(lines[23].hasPrefix("@alice> "))
    }

    @Test func listsConversationsWithUnreadCountsAndPresence() {
        let lines = Self.screen().render().lines
        // The DM is selected (first), its peer online; the room has 3 unread.
        #expect(lines[1].hasPrefix(">● @alice"))
        #expect(lines[2].hasPrefix("   team"))
        #expect(lines[2].contains("(3)│"))
        var offline = Self.screen()
        offline.presence = [Self.alice: "offline"]
        #expect(offline.render().lines[1].hasPrefix(">○ @alice"))
        offline.presence = [:]
        #expect(offline.render().lines[1].hasPrefix(">· @alice"))
    }

    @Test func showsTheSelectedConversationsNewestMessagesAtTheBottom() {
        var screen = Self.screen()
        let lines = screen.render().lines
        #expect(lines[21].contains("│ "))
        #expect(lines[21].contains("alice (aaaaaaaaaaaa): hello bob"))
        screen.move(1)
        #expect(screen.selected == "02")
        #expect(screen.render().lines[21].contains("standup at ten"))
        screen.move(1)
        #expect(screen.selected == "01")
        screen.move(-1)
        #expect(screen.selected == "02")
    }

    @Test func wrapsLongMessagesAndScrolls() {
        var screen = Self.screen()
        let long = (1...40).map { "word\($0)" }.joined(separator: " ")
        let many = (1...30).map { Self.message("line \($0)", seq: UInt64($0)) } + [Self.message(long, seq: 31)]
        screen.update([Self.record("01", "room", messages: many)])
        let lines = screen.render().lines
        let view = lines[1...21].map { String($0.split(separator: "│", maxSplits: 1).last ?? "") }
        // The long message takes several lines, continuation lines indented; nothing is cut.
        let joined = view.joined(separator: " ")
        for n in [1, 20, 40] { #expect(joined.contains("word\(n)")) }
        #expect(view.last?.hasPrefix("   word") == true)
        #expect(!joined.contains("line 1 "))
        screen.scroll = 100
        #expect(screen.render().lines[1].contains("line 1"))
    }

    @Test func keepsTheSelectionWhenTheListReorders() {
        var screen = Self.screen()
        screen.move(1)
        screen.update([Self.record("02", "team"), Self.record("01", "dm", kind: .dm, peer: Self.alice)])
        #expect(screen.selected == "02")
        screen.update([Self.record("03", "new")])
        #expect(screen.selected == "03")
    }

    @Test func showsTheStateOfTheConnectionAndNotices() {
        var screen = Self.screen()
        screen.connection = .waiting(seconds: 4, reason: "unreachable")
        screen.notice = "you were added to team"
        let lines = screen.render().lines
        #expect(lines[0].contains("○ offline (unreachable), retrying in 4s"))
        #expect(lines[22].hasPrefix("─ you were added to team ─"))
    }

    static func file(_ name: String, seq: UInt64, blob: Character) -> ChatMessage {
        var message = Self.message("", seq: seq)
        message.attachment = Attachment(
            blob: String(repeating: blob, count: 64),
            key: String(repeating: "0", count: 64),
            size: 5000,
            ciphertextSize: 5016,
            chunkSize: 65536,
            mediaType: "text/plain",
            name: name
        )
        return message
    }

    @Test func ctrlSSavesTheNewestFileOnScreenAndItsLineSaysSo() {
        var screen = Self.screen()
        #expect(screen.fileInView == nil)
        // Two files, then enough text to push the first one off the screen.
        let messages =
            [Self.file("old.txt", seq: 1, blob: "1")] + (2...25).map { Self.message("line \($0)", seq: UInt64($0)) }
            + [Self.file("new.txt", seq: 26, blob: "2"), Self.message("after the file", seq: 27)]
        screen.update([Self.record("01", "room", messages: messages)])
        #expect(screen.fileInView?.name == "new.txt")
        // The file's line (wrapped: its last part) ends with the hint; no other line does.
        var lines = screen.render().lines
        #expect(lines.contains { $0.contains("22222222] (Ctrl-S)") })
        #expect(lines.filter { $0.contains("(Ctrl-S)") }.count == 1)
        // Scrolled back: the newest file with a line on screen, or none.
        screen.scroll = 2
        #expect(screen.fileInView?.name == "new.txt")
        screen.scroll = 3
        #expect(screen.fileInView == nil)
        #expect(!screen.render().lines.contains { $0.contains("(Ctrl-S)") })
        screen.scroll = 100
        #expect(screen.fileInView?.name == "old.txt")
        lines = screen.render().lines
        #expect(lines.contains { $0.contains("11111111] (Ctrl-S)") })
        // A window too small for the layout shows no file.
        screen.height = 5
        #expect(screen.fileInView == nil)
    }

    @Test func aLongNoticeWrapsOntoUpToThreeLines() throws {
        var screen = Self.screen()
        screen.notice = SlashCommand.helpText
        var lines = screen.render().lines
        #expect(lines.count == 24 && lines.allSatisfy { $0.count == 80 })
        // The notice's lines end above the input line; the message pane gave up as many rows.
        let first = try #require(lines.firstIndex { $0.hasPrefix("─ /dm USER TEXT") })
        #expect((20...22).contains(first))
        #expect(lines[(first + 1)...22].allSatisfy { $0.hasPrefix("  ") })
        let notice = lines[first...22].joined(separator: " ")
        for word in SlashCommand.helpText.split(separator: " ") { #expect(notice.contains(word)) }
        #expect(lines[first - 1].contains("hello bob"))
        // Longer than three lines: cut, and the cut shown.
        screen.notice = String(repeating: "very long notice ", count: 40)
        lines = screen.render().lines
        #expect(lines[20].hasPrefix("─ very long"))
        #expect(lines[22].hasSuffix("…"))
        #expect(lines[23].hasPrefix("@alice> "))
    }

    @Test func theInputLineShowsTheEndOfLongInput() {
        var screen = Self.screen()
        screen.input = String(repeating: "x", count: 200) + "END"
        let (lines, _, column) = screen.render()
        #expect(lines[23].hasSuffix("END "))
        #expect(column == 79)
    }

    /// Below 40x8 the screen says so in whole words, wrapped to the width, down to the end of
    /// the advice (issue 15: it used to print one line cut off at the window's edge).
    @Test(arguments: [(30, 5), (39, 24), (20, 8), (12, 12)])
    func saysReadablyWhenTheWindowIsTooSmall(width: Int, height: Int) {
        var screen = Self.screen()
        screen.width = width
        screen.height = height
        let lines = screen.render().lines
        #expect(lines.count == height)
        #expect(lines.allSatisfy { $0.count == width })
        let text = lines.map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }.joined(separator: " ")
        #expect(
            text
                == "Window too small for polychat: it needs 40x8, this is \(width)x\(height). Enlarge it, or press Ctrl-C to quit."
        )
    }

    @Test func aWindowOfOneLineShowsTheStartOfTheMessage() {
        var screen = Self.screen()
        screen.width = 25
        screen.height = 1
        #expect(screen.render().lines == ["Window too small for     "])
    }

    /// Each conversation keeps what was typed in it (issue 15: one input line was shared, so a
    /// message that failed in one room was sent on with the next in another).
    @Test func eachConversationKeepsItsOwnDraft() {
        var screen = Self.screen()
        let first = screen.selected
        screen.input = "for the dm"
        screen.move(1)
        #expect(screen.selected != first)
        #expect(screen.input == "")
        #expect(screen.render().lines[23].hasPrefix("team> "))
        screen.input = "for the team"
        screen.move(1)
        #expect(screen.input == "for the dm")
        #expect(screen.render().lines[23].contains("for the dm"))
        screen.input = ""
        screen.move(1)
        #expect(screen.input == "for the team")
        #expect(screen.drafts.count == 1)
    }

    @Test func otherPeoplesEscapeSequencesAreNotPassedToTheTerminal() {
        var screen = Self.screen()
        screen.update([Self.record("01", "room\u{1b}[2J", messages: [Self.message("evil \u{1b}[31mred\u{7}")])])
        let text = screen.render().lines.joined()
        #expect(!text.contains("\u{1b}"))
        #expect(!text.contains("\u{7}"))
        #expect(text.contains("evil \u{FFFD}[31mred\u{FFFD}"))
    }
}

@Suite struct KeyDecoderTests {
    @Test func textAndControlKeys() {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("hi there\r".utf8)) == [.text("hi there"), .enter])
        #expect(
            decoder.feed([0x7f, 0x09, 0x03, 0x04, 0x15, 0x0c, 0x0e, 0x10, 0x13]) == [
                .backspace, .tab, .interrupt, .endOfInput, .clearLine, .redraw, .down, .up, .saveFile,
            ]
        )
    }

    @Test func escapeSequencesSplitAnywhere() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x1b]).isEmpty)
        #expect(decoder.feed([UInt8(ascii: "[")]).isEmpty)
        #expect(decoder.feed([UInt8(ascii: "A")]) == [.up])
        #expect(decoder.feed(Array("\u{1b}[B\u{1b}OA\u{1b}[5~\u{1b}[6~".utf8)) == [.down, .up, .pageUp, .pageDown])
        // Unknown sequences (F-keys, right arrow) are swallowed whole.
        #expect(decoder.feed(Array("\u{1b}[15~\u{1b}[Cx".utf8)) == [.text("x")])
    }

    @Test func utf8SplitAcrossReads() {
        var decoder = KeyDecoder()
        let bytes = Array("é😀".utf8)
        #expect(decoder.feed([bytes[0]]).isEmpty)
        #expect(decoder.feed(Array(bytes[1..<3])) == [.text("é")])
        #expect(decoder.feed(Array(bytes[3...])) == [.text("😀")])
    }
}

@Suite struct BackoffTests {
    @Test func growsToItsCapWithJitterAndResets() {
        var backoff = Backoff(base: .milliseconds(500), cap: .seconds(8))
        var random = SystemRandomNumberGenerator()
        let ceilings: [Duration] = [
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8),
        ]
        for ceiling in ceilings {
            let delay = backoff.next(using: &random)
            #expect(delay <= ceiling)
            #expect(delay >= ceiling / 2)
        }
        backoff.reset()
        #expect(backoff.next(using: &random) <= .milliseconds(500))
    }

    @Test func jitterSpreadsClients() {
        var delays = Set<Duration>()
        for _ in 0..<50 {
            var backoff = Backoff()
            _ = backoff.next()
            _ = backoff.next()
            delays.insert(backoff.next())
        }
        #expect(delays.count > 10)
    }
}
