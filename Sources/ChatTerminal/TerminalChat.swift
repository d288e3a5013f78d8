package import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// `polychat` on a terminal: the ``ChatScreen`` drawn in raw mode, keys read from standard
/// input, frames from the gateway processed as they come, reconnection with jittered backoff
/// shown in the header. One task does everything (keys are polled between frames, every
/// 40 ms at most), so the engine never sees two callers at once.
package final class TerminalChat {
    let engine: ChatEngine
    var screen = ChatScreen()
    var decoder = KeyDecoder()
    var quit = false
    /// The lines on the terminal now (nil: repaint everything).
    var shown: [String]?
    var shownCursor = (0, 0)

    package init(engine: ChatEngine, conversation: String?) {
        self.engine = engine
        self.screen.selected = conversation
    }

    /// Runs until the user quits (Ctrl-C, Ctrl-D on an empty line, `/quit`) or input ends.
    package func run() async throws {
        let raw = RawMode(fd: 0)
        try raw.enable()
        defer { raw.restore() }
        self.screen.me = Listing.user(self.engine.userID, name: await self.engine.username)
        var backoff = Backoff()
        /// Whether the last connection ended: what the status line says while disconnected is
        /// about that, and is cleared once connected again.
        var disconnected = false
        while !self.quit {
            self.screen.connection = .connecting
            await self.refresh()
            do {
                try await self.engine.withSession { session in
                    backoff.reset()
                    self.screen.connection = .connected
                    if disconnected { self.screen.notice = "" }
                    disconnected = false
                    await self.engine.watchPeers(session: session)
                    await self.refresh()
                    while !self.quit {
                        let typed = await self.readKeys(session)
                        let processed = try await session.step(timeout: .milliseconds(40))
                        if typed || processed || self.resized { await self.refresh() }
                    }
                }
            } catch let error as ChatError where error.code == .revoked {
                // Never retried: the terminal is restored, the reason printed once, exit 6.
                throw error
            } catch {
                guard !self.quit else { break }
                let reason = (error as? ChatError)?.code == .unreachable ? "unreachable" : "\(error)"
                self.screen.notice = "\(error)"
                disconnected = true
                let deadline = ContinuousClock.now + backoff.next()
                while !self.quit, ContinuousClock.now < deadline {
                    let left = Int(((deadline - ContinuousClock.now) / .seconds(1)).rounded(.up))
                    self.screen.connection = .waiting(seconds: left, reason: reason)
                    _ = await self.readKeys(nil)
                    await self.refresh()
                    try? await Task.sleep(for: .milliseconds(40))
                }
            }
        }
    }

    // MARK: Keys

    /// Reads and acts on the keys typed since the last call; whether there were any.
    func readKeys(_ session: ChatSession?) async -> Bool {
        guard let bytes = Terminal.readAvailable(0) else {
            self.quit = true  // standard input ended
            return true
        }
        guard !bytes.isEmpty else { return false }
        for key in self.decoder.feed(bytes) where !self.quit { await self.act(key, session) }
        return true
    }

    func act(_ key: Key, _ session: ChatSession?) async {
        switch key {
        case .text(let text): self.screen.input += text
        case .backspace: if !self.screen.input.isEmpty { self.screen.input.removeLast() }
        case .clearLine: self.screen.input = ""
        case .tab, .down: self.screen.move(1)
        case .up: self.screen.move(-1)
        case .pageUp: self.screen.scroll += max(1, (self.screen.height - 3) / 2)
        case .pageDown: self.screen.scroll = max(0, self.screen.scroll - max(1, (self.screen.height - 3) / 2))
        case .interrupt: self.quit = true
        case .endOfInput: if self.screen.input.isEmpty { self.quit = true }
        case .redraw: self.shown = nil
        case .enter: await self.submit(session)
        }
    }

    /// The input line: a command, or a message to the selected conversation.
    func submit(_ session: ChatSession?) async {
        let text = self.screen.input.trimmingCharacters(in: " ")
        guard !text.isEmpty else { return }
        if text.hasPrefix("/") {
            if text == "/quit" || text == "/q" {
                self.quit = true
            } else {
                self.screen.notice = "commands: /quit. Up/Down or Tab: conversation; PgUp/PgDn: scroll; Ctrl-C: quit"
            }
            self.screen.input = ""
            return
        }
        guard let session else {
            self.screen.notice = "not connected: the message stays in the input line"
            return
        }
        guard let conv = self.screen.selected else {
            self.screen.notice = "no conversation to send to (polychat dm USER TEXT starts one)"
            return
        }
        do {
            try await self.engine.send(text, to: conv, session: session)
            self.screen.input = ""
            self.screen.scroll = 0
        } catch {
            self.screen.notice = "not sent: \(error)"
        }
    }

    // MARK: Drawing

    /// The terminal's size changed since the last drawing (checked every tick: no SIGWINCH
    /// handler is needed).
    var resized: Bool {
        guard let size = Terminal.size(1) else { return false }
        return size.width != self.screen.width || size.height != self.screen.height
    }

    /// Pulls the engine's state into the screen and draws what changed.
    func refresh() async {
        if let size = Terminal.size(1) {
            if size.width != self.screen.width || size.height != self.screen.height { self.shown = nil }
            (self.screen.width, self.screen.height) = size
        }
        if let selected = self.screen.selected { _ = await self.engine.markRead(selected) }
        self.screen.update(await self.engine.conversations)
        self.screen.presence = await self.engine.presenceByUser
        self.screen.petnames = await self.engine.petnames
        if let last = await self.engine.takeNotices().last { self.screen.notice = last }
        self.draw()
    }

    func draw() {
        let (lines, row, column) = self.screen.render()
        var out = "\u{1b}[?25l"
        if self.shown == nil { out += "\u{1b}[H\u{1b}[2J" }
        for (index, line) in lines.enumerated() where self.shown.map({ index >= $0.count || $0[index] != line }) ?? true {
            out += "\u{1b}[\(index + 1);1H" + line
        }
        out += "\u{1b}[\(row + 1);\(column + 1)H\u{1b}[?25h"
        if self.shown != lines || self.shownCursor != (row, column) { Terminal.write(out) }
        self.shown = lines
        self.shownCursor = (row, column)
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
