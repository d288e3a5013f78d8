package import Gateway
import GatewayWire
import HTTPTypes
package import Hummingbird
package import Logging
import NIOCore
import Primitives

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
        let peer = self.clientAddresses.clientAddress(of: request, context)
        if let refusal = self.realtime.admission(peer: peer).map(GatewayChildChannel.Refusal.init) {
            return Self.text(refusal.status, refusal.message, retryAfter: refusal.retryAfter)
        }
        guard let session = self.realtime.open(.sse, peer: peer) else {
            // Shutting down, or the last place for an unauthenticated session just went.
            return Self.text(.serviceUnavailable, "the gateway takes no new connection now", retryAfter: .seconds(1))
        }
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
                    group.addTask { await session.runInbound() }
                    var count: UInt64 = 0
                    writing: while let items = await session.outbox.next(limit: 64) {
                        var text = ""
                        var ended = false
                        for item in items {
                            switch item {
                            case .frame(let buffer):
                                count += 1
                                text += ServerSentEvents.event(id: count, frame: buffer.readableBytesView)
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
            body = try await request.body.collect(upTo: limit)
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
