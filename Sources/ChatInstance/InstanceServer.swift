package import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// The running instance's Unix socket (`polychat.sock` in the state directory, mode 0600):
/// non-blocking, polled by the instance's one loop between gateway frames, so requests are
/// handled one at a time by the task that owns the engine. Only the directory's owner may
/// connect (the directory is 0700, the socket 0600, and the peer's uid is checked).
package final class InstanceServer {
    /// A request line from a client.
    package struct Incoming {
        package var client: Int32
        package var line: [UInt8]
    }

    struct Client {
        var input = LineBuffer()
        var output: [UInt8] = []
        var subscribed = false
        /// The client closed its side (or sent too long a line): it is closed once its
        /// requests are answered and what is queued is written (a subscriber stays open).
        var readEnded = false
        /// Requests read and not yet answered.
        var pending = 0
    }

    /// A client's queued output over this is dropped with the client (a subscriber that does
    /// not read).
    static let maximumQueued = 8 << 20
    /// `SO_PEERCRED` on Linux (not exported to Swift).
    static let peerCredentials: Int32 = 17

    package let path: String
    private var listener: Int32
    private var clients: [Int32: Client] = [:]
    private let owner = getuid()

    /// Binds the socket. The caller holds the state directory's lock, so a socket file already
    /// there was left by an instance that ended without removing it, and is replaced.
    package init(directory: StateDirectory) throws(ChatError) {
        let path = InstanceProtocol.socketPath(directory)
        guard path.utf8.count < 108 else {
            throw ChatError(.io, "\(path) is too long for a socket path (107 bytes): use a shorter POLYCHAT_HOME")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ChatError(.io, "cannot make a socket: \(Self.errorText())") }
        self.path = path
        var address = Self.address(path)
        // Created 0600 from the start: no moment where another user could connect.
        let mask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(mask)
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = Self.errorText()
            Glibc.close(fd)
            throw ChatError(.io, "cannot listen on \(path): \(reason)")
        }
        chmod(path, 0o600)
        self.listener = fd
    }

    deinit { self.close() }

    /// Stops listening, closes every client and removes the socket file.
    package func close() {
        guard self.listener >= 0 else { return }
        for fd in self.clients.keys { Glibc.close(fd) }
        self.clients = [:]
        Glibc.close(self.listener)
        self.listener = -1
        unlink(self.path)
    }

    /// Whether any client subscribed to events.
    package var hasSubscribers: Bool { self.clients.values.contains { $0.subscribed } }

    /// Accepts new clients, writes what is queued, and reads the complete request lines that
    /// came; never blocks.
    package func poll() -> [Incoming] {
        self.accept()
        var incoming: [Incoming] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for fd in Array(self.clients.keys) {
            self.flush(fd)
            guard self.clients[fd] != nil, self.clients[fd]?.readEnded == false else { continue }
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 {
                    do {
                        for line in try self.clients[fd]!.input.feed(buffer[0..<n]) where !line.isEmpty {
                            incoming.append(Incoming(client: fd, line: line))
                            self.clients[fd]!.pending += 1
                        }
                    } catch {
                        self.clients[fd]!.readEnded = true
                        self.send(
                            InstanceProtocol.failure(
                                .invalidRequest("a line over \(InstanceProtocol.maximumLine) bytes"),
                                id: nil
                            ),
                            to: fd
                        )
                        break
                    }
                    continue
                }
                if n < 0, errno == EINTR { continue }
                if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
                // The client closed its side: answer what it asked, then close.
                self.clients[fd]?.readEnded = true
                self.flush(fd)
                break
            }
        }
        return incoming
    }

    /// Queues the answer to one of a client's requests.
    package func reply(_ line: [UInt8], to fd: Int32) {
        if let pending = self.clients[fd]?.pending, pending > 0 { self.clients[fd]!.pending = pending - 1 }
        self.send(line, to: fd)
    }

    /// Queues a line for one client and writes what the socket takes now.
    package func send(_ line: [UInt8], to fd: Int32) {
        guard self.clients[fd] != nil else { return }
        self.clients[fd]!.output += line
        if self.clients[fd]!.output.count > Self.maximumQueued {
            self.drop(fd)
            return
        }
        self.flush(fd)
    }

    /// Marks a client as a subscriber of events.
    package func subscribe(_ fd: Int32) { self.clients[fd]?.subscribed = true }

    /// Queues a line for every subscriber.
    package func publish(_ line: [UInt8]) {
        for (fd, client) in self.clients where client.subscribed { self.send(line, to: fd) }
    }

    private func accept() {
        while true {
            let fd = Glibc.accept(self.listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            // Only this user: the directory and socket modes say so, and the peer's uid agrees.
            var credentials: (Int32, UInt32, UInt32) = (0, UInt32.max, UInt32.max)
            var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
            guard getsockopt(fd, SOL_SOCKET, Self.peerCredentials, &credentials, &length) == 0, credentials.1 == self.owner
            else {
                Glibc.close(fd)
                continue
            }
            self.clients[fd] = Client()
        }
    }

    private func flush(_ fd: Int32) {
        guard var client = self.clients[fd] else { return }
        while !client.output.isEmpty {
            let n = client.output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                client.output.removeFirst(n)
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
            self.drop(fd)
            return
        }
        self.clients[fd] = client
        if client.readEnded, client.output.isEmpty, client.pending == 0, !client.subscribed { self.drop(fd) }
    }

    private func drop(_ fd: Int32) {
        guard self.clients.removeValue(forKey: fd) != nil else { return }
        Glibc.close(fd)
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        return address
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
