#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGWINCH as readable descriptors (self-pipes): the handlers only write a byte, and
/// gwctl's loops poll the read ends, so Ctrl-C can cancel a stream or clear the line, and a
/// resize can reach readline, outside signal context.
enum SignalPipes {
    /// Read ends: `interrupt` (SIGINT), `resize` (SIGWINCH). -1 until ``install(resize:)``.
    nonisolated(unsafe) static var interrupt: Int32 = -1
    nonisolated(unsafe) static var resize: Int32 = -1
    nonisolated(unsafe) private static var interruptWrite: Int32 = -1
    nonisolated(unsafe) private static var resizeWrite: Int32 = -1

    /// Installs the SIGINT handler (and with `resize`, the SIGWINCH one). Called once, before
    /// any thread starts.
    static func install(resize: Bool) {
        guard Self.interrupt < 0 else { return }
        (Self.interrupt, Self.interruptWrite) = Self.pipe()
        signal(SIGINT) { _ in
            var byte: UInt8 = 1
            _ = write(SignalPipes.interruptWrite, &byte, 1)
        }
        if resize {
            (Self.resize, Self.resizeWrite) = Self.pipe()
            signal(SIGWINCH) { _ in
                var byte: UInt8 = 1
                _ = write(SignalPipes.resizeWrite, &byte, 1)
            }
        }
    }

    /// Whether `fd` had a byte, consuming all of them.
    @discardableResult
    static func take(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var byte: UInt8 = 0
        var any = false
        while read(fd, &byte, 1) == 1 { any = true }
        return any
    }

    private static func pipe() -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { return (-1, -1) }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return (ends[0], ends[1])
    }
}
