#if canImport(Glibc)
import Glibc
#endif

/// A client connection of raw bytes (TCP on loopback or a Unix stream socket), for tests that
/// send what no well-behaved client would: malformed requests, unmasked frames, endless lines.
/// Blocking calls with timeouts; writes never raise SIGPIPE.
package final class RawConnection: @unchecked Sendable {
    // @unchecked: one test task uses a connection at a time; the descriptor is immutable.
    package let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { Glibc.close(self.fd) }

    /// Connects to 127.0.0.1:`port`.
    package static func tcp(port: Int) throws -> RawConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("connect to port \(port): errno \(code)")
        }
        return RawConnection(fd: fd)
    }

    /// Connects to the Unix stream socket at `path`.
    package static func unix(path: String) throws -> RawConnection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = TestSockets.unixAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestFailure("connect to \(path): errno \(code)")
        }
        return RawConnection(fd: fd)
    }

    /// Writes all of `bytes`; false when the peer closed the connection (EPIPE, ECONNRESET).
    @discardableResult
    package func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    package func write(_ text: String) -> Bool { self.write(Array(text.utf8)) }

    /// The bytes that arrive within `timeout` (reading until the timeout or the end), and
    /// whether the peer closed the connection.
    package func read(for timeout: Duration, until stop: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline, !stop(received) {
            let left = deadline - ContinuousClock.now
            var descriptor = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = recv(self.fd, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                return (received, true)
            }
        }
        return (received, false)
    }
}
