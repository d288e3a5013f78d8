#if canImport(Glibc)
import Glibc
#endif

/// The controlling terminal: raw mode for the UI (restored on every way out, including
/// SIGTERM and SIGHUP), its size, and passphrase prompts without echo.
package enum Terminal {
    /// Whether `fd` is a terminal.
    package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The size of the terminal on `fd` (nil when it is not one or reports 0).
    package static func size(_ fd: Int32 = 1) -> (width: Int, height: Int)? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Writes all of `text` to `fd`.
    package static func write(_ text: String, to fd: Int32 = 1) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            guard n > 0 else { return }
            offset += n
        }
        bytes.removeAll()
    }

    /// Bytes available on `fd` now (non-blocking; empty when none).
    package static func readAvailable(_ fd: Int32 = 0) -> [UInt8]? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        if n == 0 { return nil }  // end of input
        guard n > 0 else { return errno == EINTR || errno == EAGAIN ? [] : nil }
        return Array(buffer.prefix(n))
    }

    /// Asks for a secret on /dev/tty with echo off.
    ///
    /// - Returns: nil when there is no terminal to ask on.
    package static func readSecret(prompt: String) -> String? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        Self.write(prompt, to: fd)
        tcsetattr(fd, TCSAFLUSH, &quiet)
        defer { tcsetattr(fd, TCSAFLUSH, &saved) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 0x0a, byte != 0x0d { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }
}

/// Raw mode on a terminal for the UI's lifetime (alternate screen, no echo, no line buffering,
/// Ctrl-C as a key). ``restore()`` puts everything back; so do SIGTERM and SIGHUP.
package final class RawMode: @unchecked Sendable {
    let fd: Int32
    private var saved = termios()
    private var active = false

    package init(fd: Int32 = 0) { self.fd = fd }

    package func enable() throws {
        guard tcgetattr(self.fd, &self.saved) == 0 else { throw RawModeError() }
        var raw = self.saved
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        guard tcsetattr(self.fd, TCSAFLUSH, &raw) == 0 else { throw RawModeError() }
        self.active = true
        rawModeSaved = self.saved
        rawModeFD = self.fd
        signal(SIGTERM, rawModeSignal)
        signal(SIGHUP, rawModeSignal)
        Terminal.write("\u{1b}[?1049h\u{1b}[H\u{1b}[2J")  // alternate screen, cleared
    }

    package func restore() {
        guard self.active else { return }
        self.active = false
        Terminal.write("\u{1b}[?25h\u{1b}[?1049l")
        tcsetattr(self.fd, TCSAFLUSH, &self.saved)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, SIG_DFL)
    }

    deinit { self.restore() }
}

/// The terminal is not one that can be put in raw mode.
package struct RawModeError: Error, CustomStringConvertible {
    package var description: String { "the terminal cannot be put in raw mode" }
}

// For the signal handler (which may touch nothing else): the saved mode and its descriptor.
nonisolated(unsafe) private var rawModeSaved = termios()
nonisolated(unsafe) private var rawModeFD: Int32 = -1

private func rawModeSignal(_ signal: Int32) {
    // Async-signal-safe only: write, tcsetattr, _exit. The state on disk is always consistent.
    let leave: [UInt8] = Array("\u{1b}[?25h\u{1b}[?1049l".utf8)
    _ = leave.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
    if rawModeFD >= 0 { tcsetattr(rawModeFD, TCSANOW, &rawModeSaved) }
    _exit(128 + signal)
}
