package import Gateway
import HTTPTypes
package import HummingbirdCore
package import Logging
package import NIOCore
import NIOHTTP1
package import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
package import NIOWebSocket

/// One accepted TCP connection of polygated: HTTP/1.1 for the routes, or — for
/// `GET /v1/gateway` with an upgrade — a WebSocket carrying the gateway protocol
/// (docs/GATEWAY_SPEC.md §2.1). Built on NIO's typed upgrader so that a refused upgrade gets a
/// real status: 404 for another path, 429 with `Retry-After` for an IP over its connect rate,
/// 503 while the gateway is not ready.
package struct GatewayChildChannel: ServerChildChannel, HTTPChannelHandler {
    /// Why an upgrade (or an SSE stream) was refused, as it is answered in HTTP.
    package struct Refusal: Sendable {
        var status: HTTPResponse.Status
        var message: String
        var retryAfter: Duration?

        init(status: HTTPResponse.Status, message: String, retryAfter: Duration? = nil) {
            self.status = status
            self.message = message
            self.retryAfter = retryAfter
        }

        /// The gateway's refusal of a new connection: 503 or 429, with `Retry-After`.
        init(_ refusal: RealtimeGateway.Refusal) {
            switch refusal {
            case .notReady: self.init(status: .serviceUnavailable, message: "the gateway is not ready", retryAfter: .seconds(1))
            case .crowded:
                self.init(
                    status: .serviceUnavailable,
                    message: "too many connections are waiting to authenticate; retry shortly",
                    retryAfter: .seconds(1)
                )
            case .rateLimited(let wait):
                self.init(status: .tooManyRequests, message: "too many connections from this address", retryAfter: wait)
            }
        }
    }

    /// What the connection turned into.
    package enum Negotiated: Sendable {
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, GatewaySession?)
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Refusal)
    }

    package struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        package let channel: any Channel
    }

    /// The WebSocket path.
    package static let webSocketPath = "/v1/gateway"

    package let responder: HTTPChannelHandler.Responder
    let realtime: RealtimeGateway?
    let idleTimeout: Duration?
    /// How long a connection has to send a complete request head.
    let headTimeout: Duration
    /// Connections that have not sent a first request head yet.
    let waiting: WaitingConnections
    let maxFrameBytes: Int
    /// The largest WebSocket message (a sealed one is larger than its frame).
    let maxWireMessageBytes: Int
    /// Who the client is behind a trusted proxy.
    let clientAddresses: ClientAddressPolicy
    /// The native TLS listener's certificate (none: plain HTTP).
    let tls: ServerTLS?

    package init(
        responder: @escaping HTTPChannelHandler.Responder,
        realtime: RealtimeGateway?,
        idleTimeout: Duration?,
        headTimeout: Duration = .seconds(10),
        waiting: WaitingConnections = WaitingConnections(limit: 1024),
        clientAddresses: ClientAddressPolicy = ClientAddressPolicy(),
        tls: ServerTLS? = nil
    ) {
        self.clientAddresses = clientAddresses
        self.tls = tls
        self.responder = responder
        self.realtime = realtime
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.waiting = waiting
        self.maxFrameBytes = realtime?.configuration.limits.maxFrameBytes ?? (1 << 20)
        // A sealed message carries a padded frame and a tag per 65,535 bytes.
        self.maxWireMessageBytes = WebSocketTransport.sealedSize(ofFrame: self.maxFrameBytes)
    }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // TLS first, with the certificate in use now (a reload affects later connections).
            if let tls = self.tls {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            }
            // After the request decoder (below): times every wait for a request head.
            let guardHandler = RequestHeadGuard(
                timeout: .milliseconds(
                    self.headTimeout.components.seconds * 1000 + self.headTimeout.components.attoseconds / 1_000_000_000_000_000
                ),
                waiting: self.waiting
            )
            let parserErrors = HTTPParserErrorResponder()
            let lateUpgrades = LateUpgradeHandler()
            // The handlers are only touched on the channel's event loop.
            let handlers = NIOLoopBound((guardHandler, parserErrors, lateUpgrades), eventLoop: channel.eventLoop)
            let refusal = NIOLoopBoundBox<Refusal?>(nil, eventLoop: channel.eventLoop)
            let sealed = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let realtime = self.realtime
            let policy = self.clientAddresses
            let secure = self.tls != nil
            let tcpPeer = channel.remoteAddress?.ipAddress ?? "unknown"
            // The client's address, from the upgrade request's head (behind a trusted proxy).
            let client = NIOLoopBoundBox(tcpPeer, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: self.maxWireMessageBytes,
                shouldUpgrade: { channel, head in
                    let peer = policy.clientAddress(peer: tcpPeer, values: head.headers[policy.header.rawValue])
                    client.value = peer
                    let decision = Self.decide(head: head, realtime: realtime, peer: peer)
                    refusal.value = decision
                    sealed.value = Self.path(of: head) == Self.sealedWebSocketPath
                    var headers = HTTPHeaders()
                    headers.add(name: "Cache-Control", value: "no-store")
                    return channel.eventLoop.makeSucceededFuture(decision == nil ? headers : nil)
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        // HTTP is over on this connection: its head guard, error responder and
                        // late-upgrade closer go with it.
                        channel.pipeline.syncOperations.removeHandler(handlers.value.0, promise: nil)
                        channel.pipeline.syncOperations.removeHandler(handlers.value.1, promise: nil)
                        channel.pipeline.syncOperations.removeHandler(handlers.value.2, promise: nil)
                        let frames = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: false)
                        )
                        return Negotiated.webSocket(frames, realtime?.open(.webSocket, peer: client.value, sealed: sealed.value))
                    }
                }
            )
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: secure))
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: self.idleTimeout, logger: logger)
                        )
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if let refused = refusal.value { return Negotiated.refused(http, refused) }
                        return Negotiated.http(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false
            // A request that does not parse is answered 400 or 431 and closed (below).
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                configuration: configuration
            )
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(parserErrors, position: .after(decoder))
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .after(parserErrors))
            try channel.pipeline.syncOperations.addHandler(lateUpgrades, position: .after(guardHandler))
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    /// The sealed WebSocket path (§14).
    package static let sealedWebSocketPath = ServerInfo.sealedWebSocketPath

    static func path(of head: HTTPRequestHead) -> String {
        head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
    }

    /// nil: upgrade. Else why not.
    static func decide(head: HTTPRequestHead, realtime: RealtimeGateway?, peer: String) -> Refusal? {
        let path = Self.path(of: head)
        guard let realtime, path == Self.webSocketPath || path == Self.sealedWebSocketPath else {
            return Refusal(status: .notFound, message: "no WebSocket endpoint at \(path); use \(Self.webSocketPath)")
        }
        let configuration = realtime.configuration
        if path == Self.sealedWebSocketPath, !configuration.servesSealed {
            return Refusal(
                status: .notFound,
                message: "sealed sessions are off on this gateway ([gateway] sealed); use \(Self.webSocketPath)"
            )
        }
        if path == Self.webSocketPath, configuration.limits.sealed == .required {
            return Refusal(
                status: .forbidden,
                message:
                    "this gateway accepts only sealed sessions: connect to \(Self.sealedWebSocketPath) with the Noise handshake "
                    + "(GET /v1/info lists its keys; docs/GATEWAY_SPEC.md section 14)"
            )
        }
        return realtime.admission(peer: peer).map(Refusal.init)
    }

    package func handle(value: Value, logger: Logger) async {
        do {
            // Waiting for the head is not cancellable by itself: cancelling closes the connection.
            let negotiated = try await withTaskCancellationHandler {
                try await value.negotiated.get()
            } onCancel: {
                value.channel.close(promise: nil)
            }
            switch negotiated {
            case .http(let http):
                await self.handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let refusal):
                await Self.refuse(http, refusal, logger: logger)
            case .webSocket(let frames, let session):
                guard let session else {
                    // Accepted as the gateway began to shut down: close at once.
                    try? await frames.channel.close()
                    return
                }
                await WebSocketTransport(
                    frames: frames,
                    session: session,
                    maxMessageBytes: self.maxFrameBytes,
                    sealedKeys: session.sealed ? self.realtime?.configuration.sealedKeys : nil,
                    realtime: self.realtime,
                    logger: logger
                )
                .run()
            }
        } catch {
            // A connection gone before its head came: nothing owns the channel yet, so close it.
            logger.debug("connection ended during negotiation", metadata: ["error": "\(error)"])
            try? await value.channel.close()
        }
    }

    private static func refuse(
        _ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>,
        _ refusal: Refusal,
        logger: Logger
    ) async {
        do {
            try await http.executeThenClose { _, outbound in
                let body = ByteBuffer(string: refusal.message + "\n")
                var fields: HTTPFields = [
                    .connection: "close", .contentType: "text/plain; charset=utf-8", .cacheControl: "no-store",
                    .contentLength: "\(body.readableBytes)",
                ]
                if let wait = refusal.retryAfter {
                    fields[.retryAfter] = "\(max(1, (wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0)))"
                }
                try await outbound.write(.head(HTTPResponse(status: refusal.status, headerFields: fields)))
                try await outbound.write(.body(body))
                try await outbound.write(.end(nil))
            }
        } catch {
            logger.trace("refusal not written", metadata: ["error": "\(error)"])
        }
    }
}
