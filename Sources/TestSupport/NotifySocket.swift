#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket that plays systemd's side of the notify protocol (`NOTIFY_SOCKET`).
package final class NotifySocket: @unchecked Sendable {
    package let path: String
    private let fd: Int32

    /// Binds a new socket in the scratch directory.
    package init() throws {
        self.path = "\(TestEnvironment.makeDirectory("notify"))/notify.sock"
        self.fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard self.fd >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(self.path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw TestFailure("socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestFailure("bind \(self.path) failed: errno \(errno)") }
        // The daemon may run as another user in some set-ups.
        chmod(self.path, 0o666)
    }

    deinit { close(self.fd) }

    /// Receives one datagram, or nil after `timeout`.
    package func receive(timeout: Duration) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now < deadline {
            let n = recv(self.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { return String(decoding: buffer[0..<n], as: UTF8.self) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Receives datagrams until one satisfies `condition`; returns everything received.
    ///
    /// - Throws: ``TestFailure`` after `timeout`.
    @discardableResult
    package func receive(until condition: (String) -> Bool, timeout: Duration = .seconds(30)) async throws -> [String] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var messages: [String] = []
        while clock.now < deadline {
            guard let message = await self.receive(timeout: deadline - clock.now) else { break }
            messages.append(message)
            if condition(message) { return messages }
        }
        throw TestFailure("no matching notify message within \(timeout); received \(messages)")
    }
}
