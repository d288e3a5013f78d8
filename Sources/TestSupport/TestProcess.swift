#if canImport(Glibc)
package import Glibc
#endif

/// A real child process for tests, started with `posix_spawn`: explicit environment, output to
/// files, and optional inherited descriptors placed at fd 3, 4, … (for socket activation).
package final class TestProcess: @unchecked Sendable {
    package let pid: pid_t
    package let executable: String
    package let stdoutPath: String
    package let stderrPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the complete environment (nothing is inherited unless passed).
    ///   - passing: descriptors that appear in the child as fd 3, 4, … in this order.
    ///   - standardInput: the file read as standard input.
    ///   - outputDirectory: where `stdout`/`stderr` files are written.
    package init(
        executable: String,
        arguments: [String],
        environment: [String: String],
        passing descriptors: [Int32] = [],
        standardInput: String = "/dev/null",
        outputDirectory: String
    ) throws {
        self.executable = executable
        let tag = "\(executable.split(separator: "/").last ?? "proc")-\(UInt32.random(in: 0...UInt32.max))"
        self.stdoutPath = "\(outputDirectory)/\(tag).stdout"
        self.stderrPath = "\(outputDirectory)/\(tag).stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, self.stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Move the passed descriptors out of the way first, then to 3, 4, …
        var staged: [Int32] = []
        for fd in descriptors {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            guard copy >= 0 else { throw TestFailure("dup of fd \(fd) failed: errno \(errno)") }
            staged.append(copy)
        }
        defer { for fd in staged { close(fd) } }
        for (index, fd) in staged.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(3 + index))
        }
        closeInheritedDescriptors(&actions, from: Int32(3 + staged.count))

        // Own process group, so that a test's Ctrl-C does not reach it and kill(-pgid) can.
        self.pid = try spawn(executable, arguments, environment, &actions, flags: POSIX_SPAWN_SETPGROUP)
    }

    /// Sends `signal` to the process.
    package func signal(_ signal: Int32) {
        if self.exitStatus == nil { kill(self.pid, signal) }
    }

    /// Waits for the process to exit. Returns the exit code, or 128 + signal number when killed.
    ///
    /// - Throws: ``TestFailure`` when it is still running after `timeout` (it is then killed).
    @discardableResult
    package func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        if let status = self.exitStatus { return status }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(self.pid, &status, WNOHANG)
            if result == self.pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                self.exitStatus = code
                return code
            }
            if clock.now >= deadline {
                kill(self.pid, SIGKILL)
                _ = waitpid(self.pid, &status, 0)
                self.exitStatus = 137
                throw TestFailure("\(self.executable) did not exit within \(timeout); killed. stderr:\n\(self.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The exit status if the process has ended (without waiting), else nil.
    package var exitedStatus: Int32? {
        if let status = self.exitStatus { return status }
        var status: Int32 = 0
        guard waitpid(self.pid, &status, WNOHANG) == self.pid else { return nil }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        self.exitStatus = code
        return code
    }

    /// Everything the process wrote to standard output so far.
    package var stdout: String { readFile(self.stdoutPath) }
    /// Everything the process wrote to standard error so far.
    package var stderr: String { readFile(self.stderrPath) }

    /// Kills the process if it still runs. Call from test cleanup.
    package func kill9() {
        guard self.exitStatus == nil else { return }
        kill(self.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(self.pid, &status, 0)
        self.exitStatus = 137
    }

    /// Runs a command to completion and returns its exit code and combined output.
    package static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = TestEnvironment.baseEnvironment,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let process = try TestProcess(
            executable: executable,
            arguments: arguments,
            environment: environment,
            outputDirectory: TestEnvironment.scratchDirectory
        )
        let status = try await process.waitForExit(timeout: timeout)
        let output = process.stdout + process.stderr
        unlink(process.stdoutPath)
        unlink(process.stderrPath)
        return (status, output)
    }
}

/// Nothing else of this process leaks into a child: sockets of concurrent tests are not always
/// close-on-exec, and a child holding a listener keeps it listening.
func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t, from first: Int32) {
    for fd in openDescriptors() where fd >= first {
        posix_spawn_file_actions_addclose(&actions, fd)  // EBADF at spawn time is ignored by glibc
    }
}

/// The descriptors open in this process, from /proc/self/fd.
private func openDescriptors() -> [Int32] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    let own = dirfd(directory)
    var descriptors: [Int32] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = Int32(name), fd != own { descriptors.append(fd) }
    }
    return descriptors
}

/// A failure in test set-up, with a readable message.
package struct TestFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Reads a whole file as UTF-8 (empty when missing).
package func readFile(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `text` to `path`, replacing the file.
package func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard fd >= 0 else { throw TestFailure("cannot write \(path): errno \(errno)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw TestFailure("write to \(path) failed: errno \(errno)") }
        written += n
    }
}

/// `posix_spawn` with a clean signal state: nothing blocked, the usual signals at their defaults,
/// `flags` (a new process group or session) on top. A new process group is process group 0.
func spawn(
    _ executable: String,
    _ arguments: [String],
    _ environment: [String: String],
    _ actions: inout posix_spawn_file_actions_t,
    flags: Int32
) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var emptyMask = sigset_t()
    sigemptyset(&emptyMask)
    posix_spawnattr_setsigmask(&attributes, &emptyMask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)

    let argv = [executable] + arguments
    let envp = environment.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let rc = withCStrings(argv) { argvPointers in
        withCStrings(envp) { envPointers in
            posix_spawn(&pid, executable, &actions, &attributes, argvPointers, envPointers)
        }
    }
    guard rc == 0 else { throw TestFailure("posix_spawn \(executable) failed: \(rc)") }
    return pid
}

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for copy in copies { free(copy) } }
    return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
}
