package import AsyncHTTPClient
package import ClientTLS
import GatewayWire
import NIOCore
import NIOHTTP1
import Noise
import Primitives
import SwiftProtobuf
import Synchronization

extension GatewayConnection {
    /// Opens the SSE fallback (docs/GATEWAY_SPEC.md §2.2): `GET /v1/stream` for the server's
    /// frames, `POST /v1/send` for each of ours. Runs `body` with the connection, then drops
    /// the stream.
    ///
    /// - Parameters:
    ///   - prefix: a path the routes are under behind a proxy (`/chat` for `/chat/v1/stream`).
    ///   - tls: `https://` with these settings; `client` must then be configured with
    ///     ``ClientTLS/configuration()`` (AsyncHTTPClient takes TLS settings per client).
    /// - Throws: ``GatewayClientError`` `.refused` with the HTTP status, `.unreachable`, `.tls`;
    ///   whatever `body` throws.
    package static func withSSE<T: Sendable>(
        host: String,
        port: Int,
        prefix: String = "",
        tls: ClientTLS? = nil,
        headers: [(String, String)] = [],
        client: HTTPClient = .shared,
        sealedKey: [UInt8]? = nil,
        _ body: (GatewayConnection) async throws -> T
    ) async throws -> T {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let base = "\(tls == nil ? "http" : "https")://\(authority)\(prefix)"
        var handshake: SealedClientHandshake?
        var path = "/v1/stream"
        if let sealedKey {
            var started = try SealedClientHandshake(gatewayKey: sealedKey)
            path = "/v1/sealed/stream?noise=" + Base64.encode(try started.first(), .urlSafe)
            handshake = started
        }
        var request = HTTPClientRequest(url: "\(base)\(path)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            if let tls, let failure = await tls.explain(error, host: host, port: port) { throw GatewayClientError(failure) }
            throw GatewayClientError(.unreachable, "cannot open \(base)/v1/stream: \(error)")
        }
        guard response.status == .ok else {
            var error = GatewayClientError(.refused, "GET \(path.prefix { $0 != "?" }) answered \(response.status.code)")
            if handshake != nil, response.status == .forbidden {
                error = GatewayClientError(
                    .gatewayKey,
                    "the gateway refused the sealed handshake: it does not hold the key pinned for it; "
                        + "its operator can print its keys with polygated show-key"
                )
            }
            error.httpStatus = Int(response.status.code)
            error.retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
            throw error
        }
        let events = InboundIteratorBox(SSEEvents(response.body.makeAsyncIterator()))
        var sealed: (SealedSession, NoiseCipherState, NoiseCipherState)?
        if var started = handshake {
            guard let event = try await events.iterator.next(), event.name == "handshake",
                let answer = Base64.decode(event.data)
            else {
                throw GatewayClientError(.sealedHandshake, "the sealed stream did not begin with the handshake's answer")
            }
            sealed = try started.finish(answer)
        }
        let transport = SSEClientTransport(client: client, url: "\(base)/v1/send", sender: sealed.map { SealedSender($0.1) })
        let connection = GatewayConnection(
            transport: transport,
            httpHeaders: response.headers.map { ($0.name.lowercased(), $0.value) },
            sealed: sealed?.0
        )
        let receiver = sealed?.2
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await transport.read(events, receiver: receiver, into: connection) }
            do {
                let result = try await body(connection)
                await transport.close(code: CloseCode.normal)
                group.cancelAll()
                return result
            } catch {
                await transport.close(code: CloseCode.normal)
                group.cancelAll()
                throw error
            }
        }
    }
}

/// The client side of SSE: the event stream in, one POST per frame out.
final class SSEClientTransport: FrameTransport {
    private struct State {
        var streamID: [UInt8]?
        var stopped = false
    }

    let client: HTTPClient
    let url: String
    /// Sealed streams: seals and POSTs one frame at a time, in nonce order.
    let sender: SealedSender?
    private let state = Mutex(State())
    private let stop: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    init(client: HTTPClient, url: String, sender: SealedSender? = nil) {
        self.client = client
        self.url = url
        self.sender = sender
        (self.stop, self.stopContinuation) = AsyncStream.makeStream()
    }

    func send(_ frame: [UInt8]) async throws {
        guard let sender else { return try await self.post(frame) }
        try await sender.send(frame) { sealed in try await self.post(sealed) }
    }

    /// One `POST /v1/send`.
    func post(_ frame: [UInt8]) async throws {
        guard let id = self.state.withLock({ $0.streamID }) else {
            throw GatewayClientError(.protocolViolation, "no stream id yet (the Challenge has not arrived)")
        }
        var request = HTTPClientRequest(url: self.url)
        request.method = .POST
        request.headers.add(name: "X-Polygate-Stream", value: Hex.encode(id))
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.body = .bytes(ByteBuffer(bytes: frame))
        let response = try await self.client.execute(request, timeout: .seconds(30))
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard response.status == .accepted else {
            var error = GatewayClientError(
                response.status == .notFound ? .closed : .refused,
                "POST /v1/send answered \(response.status.code)"
            )
            error.httpStatus = Int(response.status.code)
            throw error
        }
    }

    func close(code: UInt16) async {
        self.state.withLock { $0.stopped = true }
        self.stopContinuation.finish()
    }

    func read(
        _ events: InboundIteratorBox<SSEEvents>,
        receiver: NoiseCipherState?,
        into connection: GatewayConnection
    ) async {
        let stop = self.stop
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var receiver = receiver
                do {
                    while let event = try await events.iterator.next() {
                        guard var frame = ServerSentEvents.Parser.frame(of: event) else { continue }
                        if receiver != nil {
                            do {
                                frame = try SealedChannel.open(frame, with: &receiver!)
                            } catch {
                                connection.ended(
                                    GatewayClientError(
                                        .protocolViolation,
                                        "a sealed frame from the gateway did not authenticate: \(error)"
                                    )
                                )
                                return
                            }
                        }
                        if let challenge = try? Polygate_Gateway_V1_ServerFrame(serializedBytes: frame),
                            case .challenge(let c) = challenge.body
                        {
                            self.state.withLock { $0.streamID = [UInt8](c.streamID) }
                        }
                        connection.received(frame)
                    }
                    connection.ended(GatewayClientError(.closed, "the server ended the stream"))
                } catch {
                    connection.ended(GatewayClientError(.closed, "the stream failed: \(error)"))
                }
            }
            group.addTask {
                for await _ in stop {}
                connection.ended(GatewayClientError(.closed, "closed by the client"))
            }
            _ = await group.next()
            group.cancelAll()
        }
    }
}

/// The events of an SSE response body, one at a time.
struct SSEEvents {
    var body: HTTPClientResponse.Body.AsyncIterator
    var parser = ServerSentEvents.Parser()
    var ready: [ServerSentEvents.Event] = []

    init(_ body: HTTPClientResponse.Body.AsyncIterator) { self.body = body }

    /// The next event; nil when the stream ends.
    mutating func next() async throws -> ServerSentEvents.Event? {
        while self.ready.isEmpty {
            guard let chunk = try await self.body.next() else { return nil }
            self.ready = self.parser.feed(chunk.readableBytesView)
        }
        return self.ready.removeFirst()
    }
}
