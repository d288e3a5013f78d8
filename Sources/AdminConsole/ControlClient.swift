package import Control

#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of the control protocol (docs/CONTROL_PROTOCOL.md) over the daemon's Unix
/// socket: connects, reads `hello`, then sends requests and reads their answers line by line.
/// Waits can be cut short by an interrupt descriptor becoming readable (gwctl's Ctrl-C).
package final class ControlClient {
    /// Why a call did not get an answer.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package enum Code: String, Sendable {
            /// No daemon answers at the path (missing socket, refused, permission denied).
            case unreachable
            /// The daemon spoke something else, or a version this client does not know.
            case badProtocol = "protocol"
            /// The connection ended before the answer.
            case closed
            /// The interrupt descriptor fired while waiting.
            case interrupted
            case timeout
        }

        package var code: Code
        package var message: String
        package var description: String { self.message }
    }

    package let path: String
    package let hello: ControlProtocol.Hello
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 1
    /// Whether the last call was a stream that the interrupt cancelled.
    package private(set) var lastCallCancelled = false

    /// Connects and reads the daemon's hello.
    ///
    /// - Throws: ``Failure`` `unreachable` (with what to do about it), `protocol` or `timeout`.
    package init(path: String, timeoutMs: Int32 = 5000) throws(Failure) {
        self.path = path
        guard path.utf8.count < 108 else { throw Failure(code: .unreachable, message: "\(path): too long for a socket path") }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(code: .unreachable, message: "cannot make a socket: \(Self.errorText(errno))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw Failure(code: .unreachable, message: Self.unreachable(path, code))
        }
        self.fd = fd
        // `hello` must come first; the id counter starts after it.
        let line: [UInt8]
        do {
            line = try Self.readLine(fd, &self.buffer, timeoutMs: timeoutMs, interrupt: nil)
        } catch {
            close(fd)
            throw error.code == .closed
                ? Failure(
                    code: .unreachable,
                    message: "\(path) closed the connection at once (is it polygated's control socket?)"
                )
                : error
        }
        let hello: ControlProtocol.Hello
        do throws(ControlError) {
            hello = try ControlProtocol.decode(ControlProtocol.Hello.self, line)
        } catch {
            close(fd)
            throw Failure(code: .badProtocol, message: "\(path) does not speak the control protocol (no hello)")
        }
        guard hello.protocol == ControlProtocol.version else {
            close(fd)
            throw Failure(
                code: .badProtocol,
                message: "\(hello.server) speaks control protocol \(hello.protocol); this gwctl speaks \(ControlProtocol.version)"
            )
        }
        self.hello = hello
    }

    deinit { close(self.fd) }

    /// Sends a request and reads its answer; stream events go to `event` as they come. When
    /// `interrupt` becomes readable during a stream the stream is cancelled (and its final line
    /// still read); during any other wait the call throws `interrupted`.
    package func call(
        _ command: ParsedCommand,
        interrupt: Int32? = nil,
        timeoutMs: Int32 = 120_000,
        event: (ControlValue) -> Void = { _ in }
    ) throws(Failure) -> ControlProtocol.Response {
        let id = self.nextID
        self.nextID += 1
        try self.send(command.request(id: id))
        var cancelled = false
        defer { self.lastCallCancelled = cancelled }
        while true {
            let line: [UInt8]
            do {
                line = try Self.readLine(
                    self.fd,
                    &self.buffer,
                    timeoutMs: command.command.streams ? -1 : timeoutMs,
                    interrupt: interrupt
                )
            } catch  where error.code == .interrupted && command.command.streams && !cancelled {
                if let interrupt { Self.drain(interrupt) }
                try self.send(ControlProtocol.Request.cancel(id))
                cancelled = true
                continue
            }
            let response: ControlProtocol.Response
            do throws(ControlError) {
                response = try ControlProtocol.decode(ControlProtocol.Response.self, line)
            } catch {
                throw Failure(code: .badProtocol, message: "the daemon sent a line that is not a response")
            }
            guard response.id == id else { continue }
            if let value = response.event, !response.isFinal {
                event(value)
                continue
            }
            return response
        }
    }

    /// Live ids of a kind starting with `prefix` (for completion); empty when the daemon cannot say.
    package func ids(_ kind: ControlCommand.Kind, prefix: String) -> [String] {
        guard let command = ControlCommands.named("complete") else { return [] }
        let parsed = ParsedCommand(
            command: command,
            arguments: prefix.isEmpty ? [kind.rawValue] : [kind.rawValue, prefix],
            options: [:]
        )
        guard let response = try? self.call(parsed, timeoutMs: 3000), response.ok == true,
            let items = response.result?["items"]?.array
        else { return [] }
        return items.compactMap { $0["id"]?.text }
    }

    private func send(_ request: ControlProtocol.Request) throws(Failure) {
        let bytes = ControlProtocol.line(request)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(code: .closed, message: "the connection to polygated is gone (\(Self.errorText(errno)))")
            }
            sent += count
        }
    }

    /// The next line (without its newline).
    private static func readLine(
        _ fd: Int32,
        _ buffer: inout [UInt8],
        timeoutMs: Int32,
        interrupt: Int32?
    ) throws(Failure) -> [UInt8] {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            guard buffer.count <= ControlProtocol.maximumLine else {
                throw Failure(
                    code: .badProtocol,
                    message: "the daemon sent a line longer than \(ControlProtocol.maximumLine) bytes"
                )
            }
            var descriptors = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if let interrupt { descriptors.append(pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMs)
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(code: .closed, message: "poll: \(Self.errorText(errno))")
            }
            if ready == 0 { throw Failure(code: .timeout, message: "polygated did not answer in \(timeoutMs / 1000) s") }
            if descriptors.count > 1, descriptors[1].revents & Int16(POLLIN) != 0 {
                throw Failure(code: .interrupted, message: "interrupted")
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw Failure(code: .closed, message: "the connection to polygated is gone (\(Self.errorText(errno)))")
            }
            if count == 0 { throw Failure(code: .closed, message: "polygated closed the connection") }
            buffer += chunk[..<count]
        }
    }

    /// Empties a self-pipe.
    static func drain(_ fd: Int32) {
        var byte: UInt8 = 0
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&descriptor, 1, 0) > 0, read(fd, &byte, 1) == 1 {}
    }

    /// What went wrong reaching `path`, and what to do about it.
    static func unreachable(_ path: String, _ code: Int32) -> String {
        switch code {
        case ENOENT:
            "cannot reach polygated at \(path): no such socket (is polygated running? is [control] listen set? --socket PATH)"
        case ECONNREFUSED:
            "cannot reach polygated at \(path): connection refused (polygated is not running; the socket file is stale)"
        case EACCES, EPERM:
            "cannot reach polygated at \(path): permission denied (the socket is for the polygate-admin group: add yourself with adduser USER polygate-admin, or use sudo)"
        default:
            "cannot reach polygated at \(path): \(Self.errorText(code))"
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
