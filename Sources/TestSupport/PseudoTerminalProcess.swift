import Synchronization

#if canImport(Glibc)
package import Glibc
#endif

/// A real child process on a pseudo-terminal (for terminal UIs): its standard input, output
/// and error are the terminal's slave side, in a new session, with a window of the given size.
/// The test types with ``type(_:)`` and reads the screen's bytes with ``waitFor(_:timeout:)``.
package final class PseudoTerminalProcess: @unchecked Sendable {
    package let pid: pid_t
    private let master: Int32
    private let output = Mutex<[UInt8]>([])
    private var exitStatus: Int32?

    package init(
        executable: String,
        arguments: [String],
        environment: [String: String],
        columns: UInt16 = 80,
        rows: UInt16 = 24
    ) throws {
        // posix_openpt/unlockpt/ptsname are not visible to Swift's Glibc module: their Linux
        // equivalents, /dev/ptmx and two ioctls (asm-generic numbers, as on x86-64 and arm64).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw TestFailure("no pseudo-terminal: errno \(errno)") }
        let unlockPTY: UInt = 0x4004_5431  // TIOCSPTLCK
        let ptyNumber: UInt = 0x8004_5430  // TIOCGPTN
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, unlockPTY, &unlock) == 0, ioctl(master, ptyNumber, &number) == 0 else {
            close(master)
            throw TestFailure("cannot unlock the pseudo-terminal: errno \(errno)")
        }
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        let slave = "/dev/pts/\(number)"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // In a new session, the first terminal opened becomes the controlling one.
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        closeInheritedDescriptors(&actions, from: 3)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc 2.26+), not visible to Swift either
        do {
            self.pid = try spawn(executable, arguments, environment, &actions, flags: setsid)
        } catch {
            close(master)
            throw error
        }
        self.master = master
    }

    deinit {
        self.kill9()
        close(self.master)
    }

    /// Sends keys (bytes, as a terminal would: "\r" for Enter, "\u{3}" for Ctrl-C).
    package func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(self.master, $0.baseAddress, $0.count) }
    }

    /// Everything the process wrote to the terminal so far (escape sequences included).
    package var screen: String {
        self.drain(waitMs: 0)
        return String(decoding: self.output.withLock { $0 }, as: UTF8.self)
    }

    /// Waits until the terminal output contains `text`.
    ///
    /// - Throws: ``TestFailure`` with the output's tail when it does not come in time.
    package func waitFor(_ text: String, after offset: Int = 0, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        let needle = Array(text.utf8)
        while ContinuousClock.now < deadline {
            self.drain(waitMs: 50)
            let found = self.output.withLock { bytes in
                bytes.count >= offset && Self.contains(bytes[offset...], needle)
            }
            if found { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let tail = String(decoding: self.output.withLock { $0 }.suffix(3000), as: UTF8.self)
        throw TestFailure("the terminal never showed '\(text)'; its last output:\n\(tail)")
    }

    /// Bytes written so far (to wait for something *new* with `after:`).
    package var outputCount: Int {
        self.drain(waitMs: 0)
        return self.output.withLock { $0.count }
    }

    /// Reads what is available on the master side.
    private func drain(waitMs: Int32) {
        var descriptor = pollfd(fd: self.master, events: Int16(POLLIN), revents: 0)
        var wait = waitMs
        while poll(&descriptor, 1, wait) > 0 {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(self.master, &buffer, buffer.count)
            guard n > 0 else { return }  // EIO once the child closed its side
            self.output.withLock { $0 += buffer.prefix(n) }
            wait = 0
        }
    }

    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// Waits for the process to exit (reading its output meanwhile); the exit code, or 128 +
    /// the signal.
    @discardableResult
    package func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        if let status = self.exitStatus { return status }
        let deadline = ContinuousClock.now + timeout
        while true {
            self.drain(waitMs: 0)
            var status: Int32 = 0
            if waitpid(self.pid, &status, WNOHANG) == self.pid {
                self.drain(waitMs: 0)
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                self.exitStatus = code
                return code
            }
            if ContinuousClock.now >= deadline {
                self.kill9()
                throw TestFailure("the process on the terminal did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Kills the process if it still runs.
    package func kill9() {
        guard self.exitStatus == nil else { return }
        kill(self.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(self.pid, &status, 0)
        self.exitStatus = 137
    }
}
