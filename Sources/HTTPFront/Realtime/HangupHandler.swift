import NIOCore

/// Tells `onHangup` when the client of a long response goes away: its side of the connection
/// ends (a half-closure, which a client streaming Server-Sent Events never does otherwise) or
/// the connection closes. First in the pipeline; passes everything on.
final class HangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let onHangup: @Sendable () -> Void

    init(onHangup: @escaping @Sendable () -> Void) {
        self.onHangup = onHangup
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Gone before the handler came.
        if !context.channel.isActive { self.onHangup() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { self.onHangup() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.onHangup()
        context.fireChannelInactive()
    }
}
