import CReadline
import Control

#if canImport(Glibc)
import Glibc
#endif

/// gwctl's interactive console: GNU readline through its callback interface, so that one poll
/// loop sees keys, Ctrl-C (clears the line) and resizes; history kept in ~/.gwctl_history;
/// Tab completes command words, options and live ids from the daemon; `?` shows what fits at
/// the cursor. Commands run inside readline's line handler, with the terminal restored.
final class Console {
    let runner: CommandRunner
    let historyPath: String?
    let prompt: String
    private var done = false
    private var lastLine = ""
    /// Candidates of the completion in progress (read by the generator readline calls).
    private var matches: [String] = []
    private var matchIndex = 0

    /// The console readline's C callbacks reach (there is one per process).
    nonisolated(unsafe) static var current: Console?

    init(runner: CommandRunner, hello: ControlProtocol.Hello, home: String?) {
        self.runner = runner
        self.historyPath = home.map { "\($0)/.gwctl_history" }
        self.prompt = "gwctl \(hello.gatewayID)\(hello.readOnly ? " (read-only)" : "")> "
    }

    /// Runs until Ctrl-D, `quit` or `exit`; returns 0.
    func run(banner: String) -> Int32 {
        ConsoleOutput.write(banner + "\n")
        SignalPipes.install(resize: true)
        Console.current = self
        // Readline keeps these pointers: C strings that live as long as the process.
        cshim_rl_set_readline_name(strdup("gwctl"))
        cshim_rl_set_catch_signals(0)
        cshim_rl_set_completer_word_break_characters(strdup(" \t="))
        using_history()
        stifle_history(1000)
        if let path = self.historyPath { _ = read_history(path) }
        cshim_rl_set_attempted_completion { text, start, _ in Console.current?.complete(text, start: Int(start)) }
        _ = rl_bind_key(
            Int32(UInt8(ascii: "?")),
            { _, _ in
                Console.current?.question()
                return 0
            }
        )
        rl_callback_handler_install(self.prompt, { line in Console.current?.accept(line) })
        while !self.done {
            var descriptors = [
                pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                pollfd(fd: SignalPipes.interrupt, events: Int16(POLLIN), revents: 0),
                pollfd(fd: SignalPipes.resize, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&descriptors, 3, -1) >= 0 || errno == EINTR else { break }
            if SignalPipes.take(SignalPipes.resize) { rl_resize_terminal() }
            if SignalPipes.take(SignalPipes.interrupt) {
                // Ctrl-C at the prompt: drop the line (and any search in progress), new prompt.
                rl_callback_sigcleanup()
                rl_replace_line("", 0)
                ConsoleOutput.write("^C\n")
                rl_on_new_line()
                rl_redisplay()
            }
            if descriptors[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { rl_callback_read_char() }
        }
        rl_callback_handler_remove()
        Console.current = nil
        return 0
    }

    /// A finished line (nil at end of input).
    func accept(_ pointer: UnsafeMutablePointer<CChar>?) {
        guard let pointer else {
            ConsoleOutput.write("\n")
            self.finish()
            return
        }
        let line = String(cString: pointer)
        free(pointer)
        let trimmed = line.trimmingBlanks
        guard !trimmed.isEmpty else { return }
        if ["quit", "exit", "q"].contains(trimmed.lowercased()) {
            self.finish()
            return
        }
        if trimmed != self.lastLine {
            add_history(trimmed)
            self.lastLine = trimmed
            self.saveHistory()
        }
        _ = self.runner.execute(line: trimmed)
        // A Ctrl-C that stopped a command is spent.
        SignalPipes.take(SignalPipes.interrupt)
    }

    private func finish() {
        self.done = true
        rl_callback_handler_remove()
    }

    private func saveHistory() {
        guard let path = self.historyPath else { return }
        if write_history(path) == 0 { chmod(path, 0o600) }
    }

    /// Readline's attempted-completion function: candidates from the registry and the daemon.
    func complete(_ text: UnsafePointer<CChar>?, start: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        cshim_rl_set_attempted_completion_over(1)
        let word = text.map { String(cString: $0) } ?? ""
        let before = Self.lineBuffer(upTo: start)
        self.matches = ControlCompletion.candidates(before: before, word: word) { kind, prefix in
            self.runner.ids(kind, prefix)
        }
        self.matchIndex = 0
        guard !self.matches.isEmpty else { return nil }
        return rl_completion_matches(text) { _, state in
            guard let console = Console.current else { return nil }
            if state == 0 { console.matchIndex = 0 }
            guard console.matchIndex < console.matches.count else { return nil }
            defer { console.matchIndex += 1 }
            return strdup(console.matches[console.matchIndex])
        }
    }

    /// `?`: what fits at the cursor, then the prompt and the line again.
    func question() {
        let before = Self.lineBuffer(upTo: Int(cshim_rl_point()))
        ConsoleOutput.write("\n" + ControlHelp.context(before: before, width: self.runner.output.width) + "\n")
        rl_on_new_line()
        rl_redisplay()
    }

    /// The first `count` bytes of readline's line buffer.
    static func lineBuffer(upTo count: Int) -> String {
        guard let buffer = cshim_rl_line_buffer() else { return "" }
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
            count: strlen(buffer)
        )
        return String(decoding: bytes.prefix(max(0, count)), as: UTF8.self)
    }
}

extension String {
    var trimmingBlanks: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
