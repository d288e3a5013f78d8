import NIOCore
import NIOHTTP1
import Synchronization

/// How many accepted connections wait for their first request head, shared by every connection
/// of a server: past `limit`, a new connection is closed at once (slowloris and connection
/// storms hold at most this many sockets; connections that sent a request are not counted).
package final class WaitingConnections: Sendable {
    package let limit: Int
    private let count = Atomic<Int>(0)

    package init(limit: Int) {
        self.limit = limit
    }

    /// Connections waiting now.
    package var current: Int { self.count.load(ordering: .relaxed) }

    /// Takes a place; false (and nothing taken) when all `limit` are taken.
    func enter() -> Bool {
        if self.count.wrappingAdd(1, ordering: .relaxed).newValue <= self.limit { return true }
        self.count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func leave() {
        self.count.wrappingSubtract(1, ordering: .relaxed)
    }
}

/// Guards a connection whenever it owes the server a request head: from its accept, and on a
/// keep-alive connection from the end of each response until the next head is complete. A
/// client that sends nothing, or only part of a request line or its headers (a browser's
/// preconnect, a port scanner, a slowloris — also after a first request), is closed after
/// `timeout`, and at once when the server drains. Until its first head a connection holds a
/// place in ``WaitingConnections``; with none left it is closed on accept.
///
/// Sits right after the request decoder. Removed when the connection becomes a WebSocket.
final class RequestHeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let timeout: TimeAmount
    let waiting: WaitingConnections
    private var deadline: Scheduled<Void>?
    /// Whether this connection holds a place in `waiting`.
    private var holdsPlace = false
    /// Whether a first head came (or the guard gave up its place).
    private var started = false
    /// Request heads received minus responses ended.
    private var outstanding = 0

    init(timeout: TimeAmount, waiting: WaitingConnections) {
        self.timeout = timeout
        self.waiting = waiting
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.accepted(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.accepted(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.disarm()
        self.leave()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
        self.leave()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = Self.unwrapInboundIn(data) {
            self.outstanding += 1
            self.disarm()
            self.leave()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = Self.unwrapOutboundIn(data) {
            self.outstanding = max(0, self.outstanding - 1)
            if self.outstanding == 0 { self.arm(context) }
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, self.deadline != nil {
            // Nothing is asked now: nothing to finish.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func accepted(_ context: ChannelHandlerContext) {
        guard !self.started, self.deadline == nil else { return }
        guard self.waiting.enter() else {
            self.started = true
            context.close(promise: nil)
            return
        }
        self.holdsPlace = true
        self.arm(context)
    }

    private func leave() {
        self.started = true
        if self.holdsPlace {
            self.holdsPlace = false
            self.waiting.leave()
        }
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard self.deadline == nil else { return }
        let channel = context.channel
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        self.deadline?.cancel()
        self.deadline = nil
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
