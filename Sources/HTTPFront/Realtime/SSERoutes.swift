package import Gateway
import GatewayWire
import HTTPTypes
package import Hummingbird
package import Logging
import NIOCore
import Noise
import Primitives
import SwiftProtobuf

/// The SSE fallback of the gateway (docs/GATEWAY_SPEC.md §2.2): `GET /v1/stream` is the
/// server→client event stream of one session, `POST /v1/send` carries the client's frames to
/// it, named by the stream's bearer id in `X-Polygate-Stream`.
package struct SSERoutes: Sendable {
    package let realtime: RealtimeGateway
    let logger: Logger
    /// Who the client is behind a trusted proxy.
    let clientAddresses: ClientAddressPolicy

    package static let streamHeader = HTTPField.Name("X-Polygate-Stream")!

    package init(realtime: RealtimeGateway, clientAddresses: ClientAddressPolicy = ClientAddressPolicy(), logger: Logger) {
        self.realtime = realtime
        self.clientAddresses = clientAddresses
        self.logger = logger
    }

    package func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/stream") { request, context in self.stream(request, context) }
        router.get("/v1/sealed/stream") { request, context in self.sealedStream(request, context) }
        router.post("/v1/send") { request, _ in await self.send(request) }
        router.get("/v1/gateway") { _, _ in
            Self.text(.upgradeRequired, "this endpoint is a WebSocket (GET with Upgrade: websocket); SSE clients use /v1/stream")
        }
    }

    static func text(_ status: HTTPResponse.Status, _ message: String, retryAfter: Duration? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        if let retryAfter {
            headers[.retryAfter] = "\(max(1, retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0)))"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    func stream(_ request: Request, _ context: GatewayRequestContext) -> Response {
        if self.realtime.configuration.limits.sealed == .required {
            return Self.text(
                .forbidden,
                "this gateway accepts only sealed sessions: open \(Self.sealedStreamPath) with the Noise handshake "
                    + "(GET /v1/info lists its keys; docs/GATEWAY_SPEC.md section 14)"
            )
        }
        let peer = self.clientAddresses.clientAddress(of: request, context)
        if let refusal = self.realtime.admission(peer: peer).map(GatewayChildChannel.Refusal.init) {
            return Self.text(refusal.status, refusal.message, retryAfter: refusal.retryAfter)
        }
        return self.open(peer: peer, context, sealed: nil)
    }

    /// The sealed stream's route (§14.6).
    package static let sealedStreamPath = "/v1/sealed/stream"

    /// `GET /v1/sealed/stream?noise=<base64url>`: the handshake's first message in the query,
    /// its answer as the stream's first event; then sealed frames.
    func sealedStream(_ request: Request, _ context: GatewayRequestContext) -> Response {
        guard self.realtime.configuration.servesSealed, let keys = self.realtime.configuration.sealedKeys else {
            return Self.text(.notFound, "sealed sessions are off on this gateway ([gateway] sealed); use /v1/stream")
        }
        guard let text = request.uri.queryParameters["noise"], let first = Base64.decode(String(text)) else {
            return Self.text(.badRequest, "the handshake's first message goes in ?noise= (base64url)")
        }
        // Admission before any DH work: a flood of handshakes meets the per-address limit.
        let peer = self.clientAddresses.clientAddress(of: request, context)
        if let refusal = self.realtime.admission(peer: peer).map(GatewayChildChannel.Refusal.init) {
            return Self.text(refusal.status, refusal.message, retryAfter: refusal.retryAfter)
        }
        do {
            let (answer, transport) = try keys.accept(first)
            return self.open(peer: peer, context, sealed: (answer, transport))
        } catch {
            self.realtime.sealedHandshakeFailed()
            return Self.text(
                .forbidden,
                "sealed handshake failed: no key of this gateway opens it (check the key pinned for it: polygated show-key)"
            )
        }
    }

    /// The stream of a new session (admitted), plain or sealed (the handshake's answer and
    /// cipher states).
    func open(
        peer: String,
        _ context: GatewayRequestContext,
        sealed: (answer: [UInt8], transport: NoiseTransport)?
    ) -> Response {
        guard let session = self.realtime.open(.sse, peer: peer, sealed: sealed != nil) else {
            // Shutting down, or the last place for an unauthenticated session just went.
            return Self.text(.serviceUnavailable, "the gateway takes no new connection now", retryAfter: .seconds(1))
        }
        if let sealed { session.bindChannel(sealed.transport.handshakeHash) }
        let headers: HTTPFields = [
            .contentType: "text/event-stream",
            .cacheControl: "no-store, no-transform",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        let channel = context.channel
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                // The client's hang-up ends the session at once (otherwise only a failed write
                // would tell, and `POST /v1/send` would be accepted for a stream nobody reads).
                let hangup = HangupHandler { session.close(code: CloseCode.normal, reason: "the client hung up", after: .zero) }
                try? await channel.pipeline.addHandler(hangup, position: .first).get()
                defer { channel.pipeline.removeHandler(hangup, promise: nil) }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await session.runInbound(receiver: sealed?.transport.receive) }
                    var count: UInt64 = 0
                    var sender = sealed?.transport.send
                    if let sealed {
                        do {
                            try await writer.write(ByteBuffer(string: ServerSentEvents.handshake(sealed.answer)))
                        } catch {
                            session.transportEnded()
                            group.cancelAll()
                            return
                        }
                    }
                    writing: while let items = await session.outbox.next(limit: 64) {
                        var text = ""
                        var ended = false
                        for item in items {
                            switch item {
                            case .frame(let buffer):
                                count += 1
                                if sender != nil {
                                    guard
                                        let sealedFrame = try? SealedChannel.seal(
                                            Array(buffer.readableBytesView),
                                            with: &sender!,
                                            buckets: self.realtime.configuration.limits.sealedPadding
                                        )
                                    else { break writing }
                                    text += ServerSentEvents.event(id: count, frame: sealedFrame)
                                } else {
                                    text += ServerSentEvents.event(id: count, frame: buffer.readableBytesView)
                                }
                            case .keepAlive:
                                text += ServerSentEvents.keepAlive
                            case .close:
                                ended = true
                            }
                        }
                        do {
                            if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                        } catch {
                            break writing
                        }
                        if ended { break }
                    }
                    session.transportEnded()
                    group.cancelAll()
                }
                try? await writer.finish(nil)
            }
        )
    }

    func send(_ request: Request) async -> Response {
        guard let hex = request.headers[Self.streamHeader], let id = Hex.decode(hex), id.count == 16,
            let session = self.realtime.stream(id: id)
        else {
            return Self.text(.notFound, "no open stream with that X-Polygate-Stream id")
        }
        let limit = self.realtime.configuration.limits.maxFrameBytes
        let body: ByteBuffer
        do {
            // A sealed frame is larger than the frame inside (padding, tags); that one is checked
            // once opened.
            body = try await request.body.collect(upTo: session.sealed ? WebSocketTransport.sealedSize(ofFrame: limit) : limit)
        } catch {
            session.close(code: CloseCode.frameTooLarge, reason: "frame over \(limit) bytes", after: .zero)
            return Self.text(.contentTooLarge, "frame over \(limit) bytes")
        }
        guard session.enqueueInbound(Array(buffer: body)) else {
            return session.isClosed
                ? Self.text(.notFound, "the stream is closed")
                : Self.text(.tooManyRequests, "too many frames waiting on this stream", retryAfter: .seconds(1))
        }
        return Response(status: .accepted, headers: [.cacheControl: "no-store", .contentLength: "0"])
    }
}
