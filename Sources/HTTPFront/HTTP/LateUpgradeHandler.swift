import NIOCore
import NIOHTTP1

/// A WebSocket upgrade on a keep-alive connection that already served a request is closed
/// without an answer, so that the client (a reverse proxy reusing an idle upstream connection,
/// as nginx does with `keepalive`) sends it again on a new connection, where it is the first
/// request and upgrades. NIO upgrades only a connection's first request (swift-nio#680); a
/// client may retry an idempotent request whose connection closed before any answer
/// (RFC 9112 §9.3.1), and nginx, HAProxy and browsers do. Answering 426 instead would end the
/// client's attempt for good.
///
/// Sits after ``RequestHeadGuard``; removed when the connection becomes a WebSocket.
final class LateUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// Request heads seen on this connection.
    private var heads = 0
    /// The connection is closing for a late upgrade: nothing more is passed on.
    private var closing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closing else { return }
        if case .head(let head) = Self.unwrapInboundIn(data) {
            self.heads += 1
            if self.heads > 1, Self.isWebSocketUpgrade(head) {
                self.closing = true
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }

    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
    }
}
