import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain HTTP/1.1 client for tests: one request per connection
/// (`Connection: close`), blocking socket I/O on a Dispatch thread, a hard timeout.
package enum HTTPTestClient {
    package struct Response: Sendable {
        package var status: Int
        /// Header names lower-cased.
        package var headers: [String: String]
        /// The body (de-chunked).
        package var bytes: [UInt8]
        /// The body as UTF-8 text.
        package var body: String { String(decoding: self.bytes, as: UTF8.self) }
    }

    /// Sends `method path` with a binary body (`Content-Length` set) and returns the raw response.
    package static func send(
        port: Int,
        method: String,
        _ path: String,
        headers: [String: String] = [:],
        body: [UInt8] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let raw = try await Self.exchange(port: port, request: Array(head.utf8) + body, timeout: timeout)
        return try Self.parse(raw)
    }

    /// Sends `GET path` to `127.0.0.1:port`.
    ///
    /// - Throws: ``TestFailure`` when the connection fails or no full response arrives in time.
    package static func get(
        port: Int,
        _ path: String,
        headers: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let raw = try await Self.exchange(port: port, request: Array(request.utf8), timeout: timeout)
        return try Self.parse(raw)
    }

    /// Polls `GET path` until `condition` holds for the response (connection errors count as not yet).
    @discardableResult
    package static func waitFor(
        port: Int,
        _ path: String,
        headers: [String: String] = [:],
        timeout: Duration = .seconds(30),
        until condition: (Response) -> Bool
    ) async throws -> Response {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last: String = "no response"
        while clock.now < deadline {
            do {
                let response = try await Self.get(port: port, path, headers: headers, timeout: .seconds(5))
                if condition(response) { return response }
                last = "status \(response.status): \(response.body)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("GET \(path) on port \(port) did not reach the expected state within \(timeout); last: \(last)")
    }

    /// Whether something accepts TCP connections on `127.0.0.1:port`.
    package static func isListening(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = Self.loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Waits until nothing accepts connections on `127.0.0.1:port`; false after `timeout`.
    package static func waitUntilClosed(port: Int, timeout: Duration = .seconds(10)) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while Self.isListening(port: port) {
            guard clock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func exchange(port: Int, request: [UInt8], timeout: Duration) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.blockingExchange(port: port, request: request, timeout: timeout) })
            }
        }
    }

    private static func blockingExchange(port: Int, request: [UInt8], timeout: Duration) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect to port \(port): errno \(errno)") }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send: errno \(errno)") }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw TestFailure("recv from port \(port): errno \(errno) after \(response.count) bytes") }
            response.append(contentsOf: buffer[0..<n])
        }
        return response
    }

    private static func parse(_ raw: [UInt8]) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = raw.indices.first(where: { raw[$0...].starts(with: separator) }) else {
            throw TestFailure("incomplete HTTP response: \(String(decoding: raw, as: UTF8.self))")
        }
        let text = String(decoding: raw[..<split], as: UTF8.self)
        let head = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestFailure("bad status line: \(text)") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        var body = Array(raw[(split + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try Self.dechunk(body) }
        return Response(status: status, headers: headers, bytes: body)
    }

    private static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var position = 0
        let crlf: [UInt8] = [13, 10]
        while true {
            guard let lineEnd = bytes[position...].indices.first(where: { bytes[$0...].starts(with: crlf) }),
                let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16)
            else { throw TestFailure("bad chunked body") }
            if size == 0 { return out }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { throw TestFailure("truncated chunk") }
            out += bytes[start..<(start + size)]
            position = start + size + 2
        }
    }
}
