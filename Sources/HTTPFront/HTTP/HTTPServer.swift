package import Gateway
package import HummingbirdCore
package import Logging
package import NIOCore
import NIOExtras
import NIOPosix
package import ServiceLifecycle
import Synchronization

/// polygated's HTTP listener: Hummingbird's HTTP/1 channel driven from NIO, so that it can serve
/// sockets inherited from systemd as well as sockets it binds itself (Hummingbird's `Server`
/// only binds). See docs/decisions/0002-http-server-on-inherited-sockets.md.
///
/// Call ``bind()`` first (start-up can then report where it listens before it is ready), then
/// ``run()`` as a `Service`. On graceful shutdown the listeners close at once, idle connections
/// close, and requests in flight finish; the service group's shutdown timeout bounds the drain.
package final class HTTPServer: Sendable {
    /// One listening socket.
    package enum Listener: Sendable, Hashable {
        /// A descriptor passed by socket activation; the server takes ownership.
        case inherited(fd: Int32)
        /// An address to bind.
        case address(ListenAddress)
    }

    typealias ServerChannel = NIOAsyncChannel<GatewayChildChannel.Value, Never>

    private let listeners: [Listener]
    private let channel: GatewayChildChannel
    private let logger: Logger
    private let quiescing: ServerQuiescingHelper
    private let bound = Mutex<[ServerChannel]?>(nil)

    /// - Parameters:
    ///   - listeners: the sockets to serve.
    ///   - responder: answers one request (see ``GatewayHTTP/makeResponder(router:logger:)``).
    ///   - realtime: the gateway behind `GET /v1/gateway` WebSocket upgrades (none: 404).
    ///   - idleTimeout: closes keep-alive connections idle this long.
    ///   - headerTimeout: closes a connection that owes a request head (a new one, or a
    ///     keep-alive one after a response) and sent none complete this long.
    ///   - maxWaitingConnections: how many connections may wait for their first request head
    ///     at once; more are closed on accept.
    ///   - clientAddresses: who the client is behind a trusted proxy (`[http] trusted_proxies`).
    ///   - tls: serve HTTPS (every listener) with this certificate (`[http] tls_certificate`).
    package init(
        listeners: [Listener],
        responder: @escaping HTTPChannelHandler.Responder,
        realtime: RealtimeGateway? = nil,
        idleTimeout: Duration? = .seconds(60),
        headerTimeout: Duration = .seconds(10),
        maxWaitingConnections: Int = 1024,
        clientAddresses: ClientAddressPolicy = ClientAddressPolicy(),
        tls: ServerTLS? = nil,
        logger: Logger
    ) {
        self.listeners = listeners
        self.channel = GatewayChildChannel(
            responder: responder,
            realtime: realtime,
            idleTimeout: idleTimeout,
            headTimeout: headerTimeout,
            waiting: WaitingConnections(limit: maxWaitingConnections),
            clientAddresses: clientAddresses,
            tls: tls
        )
        self.logger = logger
        self.quiescing = ServerQuiescingHelper(group: MultiThreadedEventLoopGroup.singleton)
    }

    /// Binds every listener (or adopts inherited descriptors) and returns the local addresses.
    /// Idempotent.
    ///
    /// - Throws: a NIO `IOError` when an address cannot be bound (e.g. in use).
    @discardableResult
    package func bind() async throws -> [ListenAddress] {
        if let channels = self.bound.withLock({ $0 }) {
            return channels.compactMap(Self.localAddress)
        }
        var channels: [ServerChannel] = []
        do {
            for listener in self.listeners {
                channels.append(try await self.open(listener))
            }
        } catch {
            for channel in channels { try? await channel.channel.close() }
            throw error
        }
        self.bound.withLock { $0 = channels }
        let addresses = channels.compactMap(Self.localAddress)
        self.logger.info(
            "HTTP listening",
            metadata: [
                "http.listen": "\(addresses.map(\.description).joined(separator: ", "))",
                "http.tls": "\(self.channel.tls != nil)",
            ]
        )
        return addresses
    }

    private func open(_ listener: Listener) async throws -> ServerChannel {
        let quiescing = self.quiescing
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            // Reads start at 512 bytes and grow with what the client sends: most connections
            // are idle, and a gateway frame or an HTTP request head is small.
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
        let child = self.channel
        let logger = self.logger
        switch listener {
        case .inherited(let fd):
            return try await bootstrap.bind(fd, cleanupExistingSocketFile: false, serverBackPressureStrategy: nil) { channel in
                child.setup(channel: channel, logger: logger)
            }
        case .address(let address):
            return try await bootstrap.bind(host: address.host, port: address.port, serverBackPressureStrategy: nil) { channel in
                child.setup(channel: channel, logger: logger)
            }
        }
    }

    private static func localAddress(_ channel: ServerChannel) -> ListenAddress? {
        guard let address = channel.channel.localAddress, let port = address.port else { return nil }
        return ListenAddress(host: address.ipAddress ?? "localhost", port: port)
    }
}

// MARK: - Service

extension HTTPServer: Service {
    /// Serves until graceful shutdown, then drains.
    package func run() async throws {
        try await self.bind()
        let channels = self.bound.withLock { $0 ?? [] }
        let child = self.channel
        let logger = self.logger
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { listeners in
                for server in channels {
                    listeners.addTask {
                        await withDiscardingTaskGroup { connections in
                            do {
                                try await server.executeThenClose { inbound in
                                    for try await connection in inbound {
                                        connections.addTask { await child.handle(value: connection, logger: logger) }
                                    }
                                }
                            } catch is CancellationError {
                                // The service group is cancelling: not a listener fault.
                            } catch {
                                logger.error("HTTP listener failed", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            logger.info("HTTP draining: listeners closed, finishing requests in flight")
            self.quiescing.initiateShutdown(promise: nil)
        }
        logger.info("HTTP stopped")
    }
}
