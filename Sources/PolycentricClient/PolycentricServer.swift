package import AsyncHTTPClient
package import ClientTLS
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
package import Polycentric
import SwiftProtobuf

/// One Polycentric v1 server (polygated or upstream's) at a base URL. Every event it returns is
/// verified before it is handed out; a server cannot forge or alter events.
package struct PolycentricServer: Sendable {
    /// `http(s)://host[:port][/prefix]` without a trailing slash.
    package let baseURL: String
    let client: HTTPClient
    let userAgent: String
    let timeout: TimeAmount
    /// For `https://`: explains TLS failures (the client carries the TLS settings).
    let tls: ClientTLS

    /// - Parameters:
    ///   - baseURL: e.g. `https://serv1.polycentric.io` or `http://127.0.0.1:8080`.
    ///   - client: the HTTP client (the process-wide shared one by default).
    package init(
        baseURL: String,
        client: HTTPClient = .shared,
        userAgent: String = "polygate",
        timeout: Duration = .seconds(30),
        tls: ClientTLS = ClientTLS()
    ) throws(ServerError) {
        self.tls = tls
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://"), base.split(separator: "/").count >= 2 else {
            throw ServerError(.badURL, "\(baseURL) is not http(s)://host[:port]")
        }
        self.baseURL = base
        self.client = client
        self.userAgent = userAgent
        self.timeout = .nanoseconds(
            Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
    }

    // MARK: Routes

    /// `POST /events` in one request.
    package func post(_ events: [VerifiedEvent]) async throws(ServerError) {
        var body = Userpackage_Events()
        body.events = events.map(\.signedEvent)
        _ = try await self.request(.POST, "/events", body: body.serialized)
    }

    /// `GET /ranges`: what the server has of `system`, per process.
    package func ranges(of system: Userpackage_PublicKey) async throws(ServerError) -> [(process: [UInt8], ranges: ClockRanges)] {
        let answer = try await self.get(RequestPaths.ranges(system: system), Userpackage_RangesForSystem.self)
        do {
            return try answer.clockRanges()
        } catch {
            throw ServerError(.badResponse, "ranges: \(error.message)")
        }
    }

    /// `GET /events` for the given clocks of one system.
    package func events(
        of system: Userpackage_PublicKey,
        _ ranges: [(process: Userpackage_Process, ranges: ClockRanges)]
    ) async throws(ServerError) -> [VerifiedEvent] {
        let answer = try await self.get(
            RequestPaths.events(system: system, ranges: Userpackage_RangesForSystem(ranges)),
            Userpackage_Events.self
        )
        return try Self.verified(answer.events, of: system)
    }

    /// `GET /query_latest`: the latest event per process of each type (profile fields).
    package func latest(of system: Userpackage_PublicKey, _ types: [ContentType]) async throws(ServerError) -> [VerifiedEvent] {
        let answer = try await self.get(RequestPaths.queryLatest(system: system, contentTypes: types), Userpackage_Events.self)
        return try Self.verified(answer.events, of: system)
    }

    /// `GET /query_index`: events of one type, newest first (a Delete stands in for a deleted one).
    package func index(
        of system: Userpackage_PublicKey,
        _ type: ContentType,
        before: UInt64? = nil,
        limit: Int = 10
    ) async throws(ServerError) -> [VerifiedEvent] {
        let answer = try await self.get(
            RequestPaths.queryIndex(system: system, contentType: type, after: before, limit: limit),
            Userpackage_QueryIndexResponse.self
        )
        return try Self.verified(answer.events, of: system)
    }

    /// `GET /head`.
    package func head(of system: Userpackage_PublicKey) async throws(ServerError) -> [VerifiedEvent] {
        try Self.verified(try await self.get(RequestPaths.head(system: system), Userpackage_Events.self).events, of: system)
    }

    /// `GET /query_references` (events verified; their systems vary).
    package func references(
        _ request: Userpackage_QueryReferencesRequest
    ) async throws(ServerError) -> (items: [(event: VerifiedEvent, counts: [UInt64])], counts: [UInt64], cursor: [UInt8]?) {
        let answer = try await self.get(RequestPaths.queryReferences(request), Userpackage_QueryReferencesResponse.self)
        var items: [(event: VerifiedEvent, counts: [UInt64])] = []
        for item in answer.items {
            items.append((try Self.verified(item.event), item.counts))
        }
        return (items, answer.counts, answer.hasCursor ? [UInt8](answer.cursor) : nil)
    }

    /// `GET /explore`.
    package func explore(
        cursor: [UInt8]? = nil,
        limit: Int = 10
    ) async throws(ServerError) -> (events: [VerifiedEvent], cursor: [UInt8]?) {
        let answer = try await self.get(
            RequestPaths.explore(cursor: cursor, limit: limit),
            Userpackage_ResultEventsAndRelatedEventsAndCursor.self
        )
        var events: [VerifiedEvent] = []
        for event in answer.resultEvents.events { events.append(try Self.verified(event)) }
        return (events, answer.hasCursor ? [UInt8](answer.cursor) : nil)
    }

    // MARK: Plumbing

    func get<M: SwiftProtobuf.Message>(_ path: String, _ type: M.Type) async throws(ServerError) -> M {
        let bytes = try await self.request(.GET, path)
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw ServerError(.badResponse, "\(path.split(separator: "?")[0]): the answer is not a \(M.protoMessageName)")
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws(ServerError) -> [UInt8] {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        request.headers.add(name: "x-polycentric-user-agent", value: self.userAgent)
        if let body {
            request.headers.add(name: "content-type", value: "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await self.client.execute(request, timeout: self.timeout)
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            var failure = ServerError(.unreachable, "\(method) \(self.baseURL)\(path.split(separator: "?")[0]): \(error)")
            failure.reason = Self.reason(error)
            if let (host, port) = self.secureAuthority, let tls = await self.tls.explain(error, host: host, port: port) {
                failure.tls = tls
                failure.reason = tls.message
            }
            throw failure
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let text = String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ServerError(
                .status,
                status: Int(response.status.code),
                "\(method) \(path.split(separator: "?")[0]): \(text.prefix(200))"
            )
        }
        return Array(buffer: bytes)
    }

    /// Host and port of an `https://` base URL (nil for `http://`).
    var secureAuthority: (String, Int)? {
        guard self.baseURL.lowercased().hasPrefix("https://") else { return nil }
        let rest = self.baseURL.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let port = Int(authority[authority.index(after: close)...].dropFirst()) ?? 443
            return (host, port)
        }
        if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
            return (String(authority[..<colon]), port)
        }
        return (String(authority), 443)
    }

    /// A transport failure in words a user can act on.
    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return Self.reason(errno: io.errnoCode) }
        if let connection = error as? NIOConnectionError {
            if let io = connection.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first {
                return Self.reason(errno: io.errnoCode)
            }
            if connection.connectionErrors.isEmpty, connection.dnsAError != nil || connection.dnsAAAAError != nil {
                return "host not found"
            }
        }
        if let http = error as? HTTPClientError {
            switch http {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: break
            }
        }
        return "\(error)"
    }

    static func reason(errno code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ECONNRESET: "connection reset"
        case ETIMEDOUT: "timed out"
        case EHOSTUNREACH, ENETUNREACH: "network unreachable"
        default: String(cString: strerror(code))
        }
    }

    static func verified(_ signed: Userpackage_SignedEvent) throws(ServerError) -> VerifiedEvent {
        do {
            return try VerifiedEvent(signed)
        } catch {
            throw ServerError(.badResponse, "the server sent an event that does not verify: \(error.message)")
        }
    }

    static func verified(
        _ events: [Userpackage_SignedEvent],
        of system: Userpackage_PublicKey
    ) throws(ServerError) -> [VerifiedEvent] {
        var result: [VerifiedEvent] = []
        for signed in events {
            let event = try Self.verified(signed)
            guard event.systemKey == [UInt8](system.key) else {
                throw ServerError(.badResponse, "the server sent another system's event")
            }
            result.append(event)
        }
        return result
    }
}
