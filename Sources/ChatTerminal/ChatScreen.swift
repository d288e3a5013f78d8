package import ChatClient

/// What the terminal UI shows, as a value: conversations with unread counts and presence, the
/// selected conversation's messages, the input line and a status line. ``render()`` lays it
/// out for a terminal of `width` × `height` cells (one cell per character: wide East Asian
/// characters are counted as one). No I/O here, so every layout is tested as a value.
package struct ChatScreen: Sendable {
    package enum Connection: Sendable, Hashable {
        case connecting
        case connected
        /// Disconnected; the next try is in this many seconds.
        case waiting(seconds: Int, reason: String)
    }

    package var width = 80
    package var height = 24
    /// Who this is ("name (abcdef012345)").
    package var me = ""
    package var connection = Connection.connecting
    package var conversations: [ConversationRecord] = []
    /// Presence by user id (hex): "online" / "offline".
    package var presence: [String: String] = [:]
    /// The names this user gave others (user hex → name): a DM is titled by its peer's.
    package var petnames: [String: String] = [:]
    /// The selected conversation's id.
    package var selected: String?
    /// What was typed and not sent yet, per conversation (by id; "" before any is selected):
    /// switching conversations keeps each one's draft.
    package var drafts: [String: String] = [:]
    /// The input line: the selected conversation's draft.
    package var input: String {
        get { self.drafts[self.selected ?? ""] ?? "" }
        set { self.drafts[self.selected ?? ""] = newValue.isEmpty ? nil : newValue }
    }
    /// The last thing worth telling (a join, an error), shown above the input line.
    package var notice = ""
    /// Lines scrolled back from the newest message.
    package var scroll = 0

    package init() {}

    /// The smallest terminal the layout fits.
    package static let minimumWidth = 40
    package static let minimumHeight = 8

    // MARK: Selection

    package var selectedRecord: ConversationRecord? { self.conversations.first { $0.id == self.selected } }

    /// Moves the selection by `delta` (wrapping) and resets the scroll.
    package mutating func move(_ delta: Int) {
        guard !self.conversations.isEmpty else { return }
        let current = self.conversations.firstIndex { $0.id == self.selected } ?? 0
        let count = self.conversations.count
        self.selected = self.conversations[((current + delta) % count + count) % count].id
        self.scroll = 0
    }

    /// Replaces the conversations (keeping the selection when it still exists).
    package mutating func update(_ conversations: [ConversationRecord]) {
        self.conversations = conversations
        if self.selected == nil || !conversations.contains(where: { $0.id == self.selected }) {
            self.selected = conversations.first?.id
        }
    }

    // MARK: Layout

    /// The screen's lines (each exactly `width` cells) and where the cursor goes (0-based).
    package func render() -> (lines: [String], cursorRow: Int, cursorColumn: Int) {
        guard self.width >= Self.minimumWidth, self.height >= Self.minimumHeight else {
            return (self.tooSmall(), 0, 0)
        }
        var lines: [String] = [self.header()]
        let notice = self.noticeLines()
        let bodyHeight = self.height - 2 - notice.count
        let list = self.listLines(width: self.listWidth, height: bodyHeight)
        let view = self.messageLines(width: self.viewWidth, height: bodyHeight)
        for row in 0..<bodyHeight { lines.append(list[row] + "│" + view[row]) }
        lines += notice
        let (inputLine, column) = self.inputLine()
        lines.append(inputLine)
        return (lines, self.height - 1, column)
    }

    /// The rule above the input line, with the notice in it; a long notice (/help, an error
    /// that lists choices) wraps onto up to ``maximumNoticeLines`` lines, taken from the panes.
    func noticeLines() -> [String] {
        guard !self.notice.isEmpty else { return [Self.fit("", self.width, pad: "─")] }
        let wrapped = Self.wrap(self.notice, self.width - 3).map { String($0.drop { $0 == " " }) }
        var lines = wrapped.prefix(Self.maximumNoticeLines).enumerated().map { index, line in
            index == 0 ? Self.fit("─ " + line + " ", self.width, pad: "─") : Self.fit("  " + line, self.width)
        }
        if wrapped.count > Self.maximumNoticeLines {
            lines[lines.count - 1] = Self.fit("  " + wrapped[lines.count - 1], self.width - 1) + "…"
        }
        return lines
    }

    static let maximumNoticeLines = 3

    /// The conversation list's width and the message pane's (a line between them).
    var listWidth: Int { min(26, self.width / 3) }
    var viewWidth: Int { self.width - self.listWidth - 1 }

    /// The screen when the window is smaller than the layout needs: what is wrong and what to
    /// do, wrapped at word boundaries to the width (never cut mid-word when a word fits).
    func tooSmall() -> [String] {
        let text =
            "Window too small for polychat: it needs \(Self.minimumWidth)x\(Self.minimumHeight), "
            + "this is \(self.width)x\(self.height). Enlarge it, or press Ctrl-C to quit."
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            var word = Substring(word)
            if !line.isEmpty, line.count + 1 + word.count <= self.width {
                line += " " + word
                continue
            }
            if !line.isEmpty { lines.append(line) }
            line = ""
            // A word longer than the whole width is split.
            while word.count > self.width, self.width > 0 {
                lines.append(String(word.prefix(self.width)))
                word = word.dropFirst(self.width)
            }
            line = String(word)
        }
        if !line.isEmpty { lines.append(line) }
        let shown = lines.prefix(max(0, self.height)).map { Self.fit($0, self.width) }
        return shown + Array(repeating: Self.fit("", self.width), count: max(0, self.height - shown.count))
    }

    func header() -> String {
        let status: String =
            switch self.connection {
            case .connecting: "connecting…"
            case .connected: "● connected"
            case .waiting(let seconds, let reason): "○ offline (\(reason)), retrying in \(seconds)s"
            }
        let left = " polychat  \(self.me)"
        let room = max(1, self.width - Self.cells(status) - 1)
        return Self.fit(Self.fit(left, room) + status + " ", self.width)
    }

    func listLines(width: Int, height: Int) -> [String] {
        var lines: [String] = []
        if self.conversations.isEmpty {
            lines = ["", " no conversations", " yet: polychat dm USER", " or room create NAME"]
        }
        // Keep the selection visible.
        let selectedIndex = self.conversations.firstIndex { $0.id == self.selected } ?? 0
        let first = max(0, selectedIndex - height + 1)
        for record in self.conversations.dropFirst(first).prefix(height) {
            let marker = record.id == self.selected ? ">" : " "
            var glyph = " "
            if record.kind == .dm, let peer = record.peer {
                glyph = self.presence[peer] == "online" ? "●" : (self.presence[peer] == "offline" ? "○" : "·")
            }
            let unread = record.unread > 0 ? " (\(record.unread))" : ""
            let name = Self.fit(Self.title(record, petnames: self.petnames), max(1, width - 3 - Self.cells(unread)), pad: " ")
            lines.append(Self.fit("\(marker)\(glyph) \(name)\(unread)", width))
        }
        return (lines + Array(repeating: "", count: height)).prefix(height).map { Self.fit($0, width) }
    }

    func messageLines(width: Int, height: Int) -> [String] {
        guard let record = self.selectedRecord else {
            return Array(repeating: Self.fit("", width), count: height)
        }
        let (wrapped, range, target) = self.view(record, width: width, height: height)
        var visible = Array(wrapped[range]).map(\.line)
        if wrapped.isEmpty { visible = [" no messages yet in \(Self.title(record, petnames: self.petnames))"] }
        // The line of the file Ctrl-S saves ends with a hint (the file's last line).
        if let target, let last = range.last(where: { wrapped[$0].message == target }) {
            let line = wrapped[last].line
            visible[last - range.lowerBound] =
                Self.cells(line) + Self.cells(Self.saveHint) <= width
                ? line + Self.saveHint : Self.fit(line, max(0, width - Self.cells(Self.saveHint))) + Self.saveHint
        }
        let padded = Array(repeating: "", count: max(0, height - visible.count)) + visible
        return padded.map { Self.fit($0, width) }
    }

    /// What the message pane's layout shows of `record`: every wrapped line with the index of
    /// its message (nil: a line of the UI's own), the range of them on screen, and the newest
    /// message with a file that has a line there.
    func view(
        _ record: ConversationRecord,
        width: Int,
        height: Int
    ) -> (
        lines: [(line: String, message: Int?)], range: Range<Int>, file: Int?
    ) {
        var wrapped: [(line: String, message: Int?)] = []
        for (index, message) in record.messages.enumerated() {
            wrapped += Self.wrap(" " + Listing.message(message, withDate: false), width).map { ($0, index) }
        }
        if record.left { wrapped.append((" [you are no longer in this conversation]", nil)) }
        // Scrolling stops with the oldest line at the top.
        let end = max(min(height, wrapped.count), wrapped.count - self.scroll)
        let range = max(0, end - height)..<end
        let file = range.reversed().lazy.compactMap { wrapped[$0].message }.first { record.messages[$0].attachment != nil }
        return (wrapped, range, file)
    }

    /// The file Ctrl-S saves: the newest one with a line in the message pane (scroll back to
    /// reach older ones); nil when none is shown.
    package var fileInView: Attachment? {
        guard self.width >= Self.minimumWidth, self.height >= Self.minimumHeight, let record = self.selectedRecord else {
            return nil
        }
        return self.view(record, width: self.viewWidth, height: self.height - 2 - self.noticeLines().count).file.flatMap {
            record.messages[$0].attachment
        }
    }

    /// Ends the line of ``fileInView``.
    static let saveHint = " (Ctrl-S)"

    func inputLine() -> (String, Int) {
        let prompt = self.selectedRecord.map { "\(Self.title($0, petnames: self.petnames))> " } ?? "> "
        let promptCells = min(Self.cells(prompt), self.width / 3)
        let shownPrompt = Self.fit(prompt, promptCells)
        let room = self.width - promptCells - 1
        let characters = Array(self.input)
        let tail = String(characters.suffix(room))
        return (Self.fit(shownPrompt + tail, self.width), promptCells + tail.count)
    }

    /// A conversation's title: its name, or for a DM the peer's name — the one you gave them,
    /// else the one their messages carry — or id.
    package static func title(_ record: ConversationRecord, petnames: [String: String] = [:]) -> String {
        Listing.title(record, petnames: petnames)
    }

    // MARK: Cells

    static func cells(_ text: String) -> Int { text.count }

    /// `text` cut or padded to exactly `width` cells; newlines become spaces.
    static func fit(_ text: String, _ width: Int, pad: Character = " ") -> String {
        let flat = text.map { $0 == "\n" ? " " : $0 }
        if flat.count >= width { return String(flat.prefix(width)) }
        return String(flat) + String(repeating: pad, count: width - flat.count)
    }

    /// `text` wrapped at `width` cells (at spaces when there is one), continuation lines indented.
    static func wrap(_ text: String, _ width: Int) -> [String] {
        guard width > 8 else { return [Self.fit(text, max(0, width))] }
        var lines: [String] = []
        var rest = Substring(text.map { $0 == "\n" ? " " : $0 })
        while rest.count > width {
            let window = rest.prefix(width)
            let cut = window.lastIndex(of: " ").flatMap { $0 > window.startIndex ? $0 : nil } ?? window.endIndex
            lines.append(String(rest[..<cut]))
            rest = "   " + rest[cut...].drop { $0 == " " }
        }
        lines.append(String(rest))
        return lines
    }
}
