public import Hummingbird
public import NIOCore

/// The request context of polygated's routes: Hummingbird's basic context plus the client's
/// address (per-IP limits of the realtime gateway).
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public typealias Source = ApplicationRequestContextSource

    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (a CDN or reverse proxy when there is one).
    public let remoteAddress: SocketAddress?
    /// The connection (an SSE stream watches it for the client's hang-up).
    public let channel: any Channel

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
