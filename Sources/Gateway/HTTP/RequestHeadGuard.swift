import NIOCore
import NIOHTTP1

/// Guards a connection from its accept until its first request head is complete (or it is
/// upgraded): a client that sends nothing, or only part of a request line or its headers (a
/// browser's preconnect, a port scanner, a slowloris), is closed after `timeout`, and at once
/// when the server drains. Removed by the pipeline's owner once the head has come: from then on
/// the HTTP connection handler's idle timeout and quiescing apply.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Nothing was asked yet: nothing to finish.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard self.deadline == nil else { return }
        let channel = context.channel
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
            channel.close(promise: nil)
        }
    }
}

/// Answers a request that does not parse and closes its connection (NIO's own handler answers
/// 400 and leaves the connection open until the negotiation times out): 431 when the request
/// line and headers are too large, 400 otherwise — unless a response is already under way,
/// which is then only cut off.
final class HTTPParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responding = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if self.responding {
            context.close(promise: nil)
        } else {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            let head = HTTPResponseHead(
                version: .http1_1,
                status: status,
                headers: ["Connection": "close", "Content-Length": "0", "Cache-Control": "no-store"]
            )
            context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: self.responding = true
        case .end: self.responding = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
