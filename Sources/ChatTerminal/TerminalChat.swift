package import ChatClient
import GatewayWire

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
    /// Called every tick with the live session (nil while disconnected): the running
    /// instance's socket is served here; true when it did something (the screen is redrawn).
    let tick: ((ChatSession?) async -> Bool)?

    package init(engine: ChatEngine, conversation: String?, tick: ((ChatSession?) async -> Bool)? = nil) {
        self.engine = engine
        self.screen.selected = conversation
        self.tick = tick
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
                        let served = await self.tick?(session) ?? false
                        if typed || processed || served || self.resized { await self.refresh() }
                    }
                }
            } catch let error as ChatError where error.code == .revoked || error.code == .gatewayKey {
                // Never retried: the terminal is restored, the reason printed once, exit 6 (or 8:
                // the gateway did not prove its pinned key).
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
                    _ = await self.tick?(nil)
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
        case .saveFile:
            guard let file = self.screen.fileInView else {
                self.screen.notice = "no file shown here: Ctrl-S saves the newest file on screen (PgUp reaches older ones)"
                return
            }
            _ = await self.save(file, path: nil)
        }
    }

    /// The input line: a command, or a message to the selected conversation.
    func submit(_ session: ChatSession?) async {
        let text = self.screen.input.trimmingCharacters(in: " ")
        guard !text.isEmpty else { return }
        if text.hasPrefix("/") {
            switch SlashCommand.parse(text) {
            case .success(let command):
                // Cleared first: a command may open another conversation (whose draft this is not).
                self.screen.input = ""
                if !(await self.perform(command, session)) { self.screen.input = text }
            case .failure(let problem):
                self.screen.notice = problem.description
            }
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

    /// Carries out a command from the input line; whether it is done (the line is cleared).
    /// What happened, or why not, goes to the notice line.
    func perform(_ command: SlashCommand, _ session: ChatSession?) async -> Bool {
        switch command {
        case .quit:
            self.quit = true
            return true
        case .help:
            self.screen.notice = SlashCommand.helpText
            return true
        case .join(let name):
            if let record = try? await self.engine.conversation(named: name) {
                self.screen.selected = record.id
                self.screen.notice = "opened \(ChatScreen.title(record, petnames: await self.engine.petnames))"
                return true
            }
            guard !name.hasPrefix("@") else {
                return await self.perform(.directMessage(user: name, text: ""), session)
            }
            return await self.withSession(session) { session in
                let record = try await self.engine.createRoom(name, session: session)
                self.screen.selected = record.id
                self.screen.notice = "created the room \(Listing.clean(record.name)); /invite USER adds people"
            }
        case .directMessage(let user, let text):
            return await self.withSession(session) { session in
                let id = try await self.engine.resolveUser(user)
                let record = try await self.engine.dm(id, session: session)
                if !text.isEmpty { try await self.engine.send(text, to: record.id, session: session) }
                self.screen.selected = record.id
                self.screen.scroll = 0
                self.screen.notice = ""
            }
        case .invite(let user):
            guard let record = self.screen.selectedRecord, record.kind == .room else {
                self.screen.notice = "open a room first (/join NAME): /invite adds to the open room"
                return false
            }
            return await self.withSession(session) { session in
                let id = try await self.engine.resolveUser(user)
                try await self.engine.invite(id, to: record.id, session: session)
                self.screen.notice = "added \(await self.engine.label(id.hex)) to \(Listing.clean(record.name))"
            }
        case .leave:
            guard let record = self.screen.selectedRecord else {
                self.screen.notice = "no conversation is open"
                return false
            }
            return await self.withSession(session) { session in
                try await self.engine.leave(record.id, session: session)
                self.screen.notice = "you left \(ChatScreen.title(record, petnames: await self.engine.petnames))"
            }
        case .save(let name, let path):
            guard let record = self.screen.selectedRecord else {
                self.screen.notice = "no conversation is open"
                return false
            }
            do {
                return await self.save(try await self.engine.attachment(name, in: record.id), path: path)
            } catch {
                self.screen.notice = "\(error)"
                return false
            }
        case .invisible(let invisible):
            return await self.withSession(session) { session in
                try await self.engine.setInvisible(invisible, session: session)
                self.screen.notice =
                    invisible ? "you are invisible (you look offline to everyone)" : "you are visible to your contacts"
            }
        }
    }

    /// Saves `file` to `path` (default: its name in the working directory; a directory: its
    /// name in there), never over an existing file; whether it is saved. Progress and outcome
    /// go to the notice line.
    func save(_ file: Attachment, path: String?) async -> Bool {
        var target = StateDirectory.absolute(path ?? file.name)
        var status = stat()
        if stat(target, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { target += "/" + file.name }
        guard access(target, F_OK) != 0 else {
            self.screen.notice = "\(Listing.clean(target)) exists: /save \(file.blob.prefix(8)) OTHER-PATH saves it elsewhere"
            return false
        }
        self.screen.notice = "saving \(Listing.clean(file.name))…"
        self.draw()
        do {
            try await self.engine.save(file, to: target)
            self.screen.notice = "saved \(Listing.clean(target)) (\(Listing.size(file.size)))"
            return true
        } catch {
            self.screen.notice = "\(error)"
            return false
        }
    }

    /// Runs `body` with the live session; false (and a notice) when not connected or it fails.
    func withSession(_ session: ChatSession?, _ body: (ChatSession) async throws -> Void) async -> Bool {
        guard let session else {
            self.screen.notice = "not connected: try again once connected (the line stays)"
            return false
        }
        do {
            try await body(session)
            return true
        } catch {
            self.screen.notice = "\(error)"
            return false
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
