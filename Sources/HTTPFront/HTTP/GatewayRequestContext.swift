package import Hummingbird
package import NIOCore

/// The request context of polygated's routes: Hummingbird's basic context plus the client's
/// address (per-IP limits of the realtime gateway).
package struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    package typealias Source = ApplicationRequestContextSource

    package var coreContext: CoreRequestContextStorage
    /// The TCP peer (a CDN or reverse proxy when there is one).
    package let remoteAddress: SocketAddress?
    /// The connection (an SSE stream watches it for the client's hang-up).
    package let channel: any Channel

    package init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
