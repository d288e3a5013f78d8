package import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of a running instance (a one-shot command routed through it, or
/// `polychat listen`): connects to the state directory's socket, sends requests, reads lines.
package final class InstanceClient {
    private let fd: Int32
    private var buffer = LineBuffer()
    private var lines: [[UInt8]] = []
    private var nextID: Int64 = 1

    /// Connects to the instance serving `directory`; nil when none answers (no socket, or a
    /// socket left by an instance that ended).
    package init?(directory: StateDirectory) {
        let path = InstanceProtocol.socketPath(directory)
        guard path.utf8.count < 108 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = InstanceServer.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(self.fd) }

    /// Sends a request and waits for its answer.
    ///
    /// - Throws: ``ChatError`` `unreachable` when the instance closes the connection first
    ///   (it ended), or the instance's error as a ``ChatError`` with its reason.
    package func call<P: Encodable, R: Decodable>(
        _ method: InstanceProtocol.Method,
        _ params: P,
        as type: R.Type = R.self
    ) throws(ChatError) -> R {
        let id = self.nextID
        self.nextID += 1
        try self.write(InstanceProtocol.request(method, params, id: id))
        while true {
            let line = try self.readLine()
            // Notifications (a subscriber's events) may come between: only the answer counts.
            guard let reply = InstanceProtocol.reply(R.self, line) else { continue }
            switch reply {
            case .success(let value): return value
            case .failure(let error):
                throw ChatError(ChatError.Code(reason: error.data?.reason ?? "refused"), error.message)
            }
        }
    }

    /// The next line the instance sends (an event after `subscribe`).
    ///
    /// - Throws: ``ChatError`` `unreachable` when the instance ended.
    package func readLine() throws(ChatError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while self.lines.isEmpty {
            let n = read(self.fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ChatError(.unreachable, "the running polychat ended the connection (it stopped)") }
            do {
                self.lines += try self.buffer.feed(chunk[0..<n])
            } catch {
                throw ChatError(.badState, "the running polychat sent a line over \(InstanceProtocol.maximumLine) bytes")
            }
        }
        return self.lines.removeFirst()
    }

    private func write(_ bytes: [UInt8]) throws(ChatError) {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ChatError(.unreachable, "the running polychat ended the connection (it stopped)") }
            written += n
        }
    }
}
