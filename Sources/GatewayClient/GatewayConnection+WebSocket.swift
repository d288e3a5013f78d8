package import ClientTLS
import GatewayWire
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Noise
import Primitives
import Synchronization

extension GatewayConnection {
    /// Opens a WebSocket to `ws://host:port/path` (or `wss://` with `tls`; RFC 6455 over NIO),
    /// runs `body` with the connection, then closes it (close frame 1000, waiting briefly for
    /// the server's). With `sealedKey` (the gateway's static key, pinned), the connection is
    /// sealed (§14): `path` should be the sealed route (`/v1/sealed`), the Noise handshake runs
    /// first and every frame after it is sealed.
    ///
    /// - Throws: ``GatewayClientError`` `.refused` with the HTTP status when the server does
    ///   not upgrade (404, 429, 503 …), `.unreachable` when nothing listens, `.tls` when TLS
    ///   fails (with why: ``TLSFailure``), `.sealedHandshake` when the gateway does not hold
    ///   `sealedKey`; whatever `body` throws.
    package static func withWebSocket<T: Sendable>(
        host: String,
        port: Int,
        path: String = "/v1/gateway",
        tls: ClientTLS? = nil,
        headers: [(String, String)] = [],
        maxFrameBytes: Int = 16 << 20,
        sealedKey: [UInt8]? = nil,
        _ body: (GatewayConnection) async throws -> T
    ) async throws -> T {
        let status = StatusPeek.Box()
        let upgraded: EventLoopFuture<ClientUpgrade>
        let context: NIOSSLContext?
        do {
            context = try tls?.context()
        } catch {
            throw GatewayClientError(error)
        }
        do {
            upgraded = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(ClientTLS.handler(host: host, context: context))
                        }
                        try channel.pipeline.syncOperations.addHandler(StatusPeek(box: status))
                        let upgrader = NIOTypedWebSocketClientUpgrader<ClientUpgrade>(
                            maxFrameSize: maxFrameBytes,
                            upgradePipelineHandler: { channel, response in
                                channel.eventLoop.makeCompletedFuture {
                                    ClientUpgrade.webSocket(
                                        try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                            wrappingChannelSynchronously: channel
                                        ),
                                        response.headers.map { ($0.name.lowercased(), $0.value) }
                                    )
                                }
                            }
                        )
                        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                        head.headers.add(name: "Host", value: "\(host):\(port)")
                        head.headers.add(name: "Content-Length", value: "0")
                        for (name, value) in headers { head.headers.add(name: name, value: value) }
                        let configuration = NIOTypedHTTPClientUpgradeConfiguration<ClientUpgrade>(
                            upgradeRequestHead: head,
                            upgraders: [upgrader],
                            notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(.refused(channel)) }
                        )
                        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                        // The server's first frame (the Challenge) may share a TCP segment with the
                        // 101 response: keep those bytes (NIO's default drops them).
                        pipeline.leftOverBytesStrategy = .forwardBytes
                        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                    }
                }
        } catch {
            throw GatewayClientError(.unreachable, "cannot connect to \(host):\(port): \(error)")
        }
        let frames: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
        let upgradeHeaders: [(String, String)]
        do {
            switch try await upgraded.get() {
            case .webSocket(let channel, let headers):
                frames = channel
                upgradeHeaders = headers
            case .refused(let channel):
                try? await channel.close()
                var error = GatewayClientError(.refused, "the server did not upgrade to a WebSocket")
                error.httpStatus = status.status
                error.retryAfter = status.retryAfter
                throw error
            }
        } catch let error as GatewayClientError {
            throw error
        } catch {
            if let tls, let failure = await tls.explain(error, host: host, port: port) { throw GatewayClientError(failure) }
            var refused = GatewayClientError(.refused, "the upgrade failed: \(error)")
            refused.httpStatus = status.status
            refused.retryAfter = status.retryAfter
            throw refused
        }
        return try await frames.executeThenClose { inbound, outbound in
            let box = InboundIteratorBox(inbound.makeAsyncIterator())
            var sealed: (SealedSession, NoiseCipherState, NoiseCipherState)?
            if let sealedKey {
                sealed = try await Self.sealedHandshake(key: sealedKey, iterator: &box.iterator, outbound: outbound)
            }
            let transport = WebSocketClientTransport(outbound: outbound, sender: sealed.map { SealedSender($0.1) })
            let connection = GatewayConnection(transport: transport, httpHeaders: upgradeHeaders, sealed: sealed?.0)
            let receiver = sealed?.2
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await transport.read(box, receiver: receiver, into: connection) }
                do {
                    let result = try await body(connection)
                    await transport.finish()
                    group.cancelAll()
                    return result
                } catch {
                    await transport.finish()
                    group.cancelAll()
                    throw error
                }
            }
        }
    }

    /// The client's side of the sealed handshake: the first message out, the gateway's answer
    /// in (the first binary message; a close frame before it is a refusal).
    static func sealedHandshake(
        key: [UInt8],
        iterator: inout NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    ) async throws -> (SealedSession, NoiseCipherState, NoiseCipherState) {
        var handshake = try SealedClientHandshake(gatewayKey: key)
        try await outbound.write(
            WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: try handshake.first()))
        )
        var answer: [UInt8]?
        while true {
            guard let frame = try await iterator.next() else {
                throw GatewayClientError(.sealedHandshake, "the gateway closed the socket during the sealed handshake")
            }
            switch frame.opcode {
            case .binary:
                answer = Array(frame.unmaskedData.readableBytesView)
            case .continuation:
                answer? += Array(frame.unmaskedData.readableBytesView)
            case .connectionClose:
                var data = frame.unmaskedData
                let code = data.readInteger(as: UInt16.self)
                var error =
                    code == CloseCode.sealedHandshakeFailed
                    ? GatewayClientError(
                        .gatewayKey,
                        "the gateway refused the sealed handshake: it does not hold the key pinned for it "
                            + "(\(Hex.encode(key).prefix(16))…); its operator can print its keys with polygated show-key"
                    )
                    : GatewayClientError(
                        .sealedHandshake,
                        "the gateway closed the connection during the sealed handshake (\(code.map(String.init) ?? "no code"))"
                    )
                error.closeCode = code
                throw error
            default:
                continue
            }
            if frame.fin, let complete = answer { return try handshake.finish(complete) }
        }
    }

    /// WebSocket only: stops reading from the socket (the server's send queue then fills, as
    /// with a stuck client) until ``resumeReading()``.
    package func pauseReading() {
        (self.transport as? WebSocketClientTransport)?.gate.pause()
    }

    package func resumeReading() {
        (self.transport as? WebSocketClientTransport)?.gate.resume()
    }

    /// WebSocket only: sends a text frame (which the protocol forbids; for tests).
    package func sendText(_ text: String) async throws {
        try await (self.transport as? WebSocketClientTransport)?.sendText(text)
    }
}

enum ClientUpgrade: Sendable {
    case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, [(String, String)])
    case refused(any Channel)
}

/// Reads the head of the HTTP response to the upgrade request — its status and `Retry-After` —
/// so that a refusal can be reported with them; passes every byte on and leaves after the head
/// (or 8 KiB of it).
final class StatusPeek: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    final class Box: Sendable {
        private let value = Mutex<(status: Int?, retryAfter: Int?)>((nil, nil))
        var status: Int? { self.value.withLock { $0.status } }
        var retryAfter: Int? { self.value.withLock { $0.retryAfter } }
        func set(status: Int, retryAfter: Int?) { self.value.withLock { $0 = ($0.status ?? status, retryAfter) } }
    }

    let box: Box
    private var seen: [UInt8] = []
    private var done = false

    init(box: Box) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        if !self.done {
            self.seen += buffer.readableBytesView.prefix(8192 - self.seen.count)
            let text = String(decoding: self.seen, as: UTF8.self)
            if let end = text.firstRange(of: "\r\n\r\n") {
                self.done = true
                let lines = text[..<end.lowerBound].split(separator: "\r\n")
                // "HTTP/1.1 429 Too Many Requests"
                let statusParts = lines.first?.split(separator: " ") ?? []
                if statusParts.count >= 2, let code = Int(statusParts[1]) {
                    let retry = lines.dropFirst().lazy.compactMap { line -> Int? in
                        let parts = line.split(separator: ":", maxSplits: 1)
                        guard parts.count == 2, parts[0].lowercased() == "retry-after" else { return nil }
                        return Int(parts[1].filter { $0 != " " && $0 != "\t" })
                    }.first
                    self.box.set(status: code, retryAfter: retry)
                }
            } else if self.seen.count >= 8192 {
                self.done = true
            }
        }
        context.fireChannelRead(data)
        if self.done { context.pipeline.syncOperations.removeHandler(self, promise: nil) }
    }
}

@available(*, unavailable)
extension StatusPeek: Sendable {}

/// Pauses a reader between frames.
final class ReadGate: Sendable {
    private struct State {
        var paused = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func pause() { self.state.withLock { $0.paused = true } }

    func resume() {
        let waiters = self.state.withLock { state in
            state.paused = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        // Not paused (nearly always): no suspension at all.
        guard self.state.withLock({ $0.paused }) else { return }
        await withCheckedContinuation { continuation in
            let open = self.state.withLock { state -> Bool in
                if !state.paused { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }
}

/// The client side of the WebSocket: masked binary frames out, frames in, the close handshake.
final class WebSocketClientTransport: FrameTransport {
    private struct State {
        var closeSent = false
        var closeReceived = false
    }

    let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    let gate = ReadGate()
    /// Sealed connections: seals every frame, in order.
    let sender: SealedSender?
    private let state = Mutex(State())
    private let closed: AsyncStream<Void>
    private let closedContinuation: AsyncStream<Void>.Continuation

    init(outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, sender: SealedSender? = nil) {
        self.outbound = outbound
        self.sender = sender
        (self.closed, self.closedContinuation) = AsyncStream.makeStream()
    }

    func send(_ frame: [UInt8]) async throws {
        guard let sender else {
            try await self.outbound.write(
                WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: frame))
            )
            return
        }
        try await sender.send(frame) { sealed in
            try await self.outbound.write(
                WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: sealed))
            )
        }
    }

    func sendText(_ text: String) async throws {
        try await self.outbound.write(
            WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text))
        )
    }

    func close(code: UInt16) async {
        let first = self.state.withLock { state -> Bool in
            defer { state.closeSent = true }
            return !state.closeSent && !state.closeReceived
        }
        guard first else { return }
        var data = ByteBuffer()
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
        if let sender {
            await sender.inOrder { try? await self.outbound.write(frame) }
        } else {
            try? await self.outbound.write(frame)
        }
    }

    /// Ends the connection: our close frame, then (at most 2 s) the server's.
    func finish() async {
        await self.close(code: CloseCode.normal)
        self.gate.resume()
        _ = try? await withTimeout(.seconds(2), "close") { [closed] in
            for await _ in closed {}
            return true
        }
    }

    /// Reads frames (opening sealed ones with `receiver`) into `connection` until the end.
    func read(
        _ box: InboundIteratorBox<NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator>,
        receiver: NoiseCipherState?,
        into connection: GatewayConnection
    ) async {
        var message: [UInt8]? = nil
        var closeCode: UInt16?
        var receiver = receiver
        do {
            while true {
                await self.gate.wait()
                guard let frame = try await box.iterator.next() else { break }
                switch frame.opcode {
                case .binary:
                    message = Array(frame.unmaskedData.readableBytesView)
                case .continuation:
                    message? += Array(frame.unmaskedData.readableBytesView)
                case .ping:
                    try? await self.outbound.write(
                        WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
                    )
                    continue
                case .connectionClose:
                    var data = frame.unmaskedData
                    closeCode = data.readInteger(as: UInt16.self)
                    let reply = self.state.withLock { state -> Bool in
                        state.closeReceived = true
                        defer { state.closeSent = true }
                        return !state.closeSent
                    }
                    if reply {
                        var echo = ByteBuffer()
                        echo.writeInteger(closeCode ?? CloseCode.normal)
                        try? await self.outbound.write(
                            WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
                        )
                    }
                    var error = GatewayClientError(.closed, "the server closed the connection")
                    error.closeCode = closeCode
                    connection.ended(error)
                    self.closedContinuation.finish()
                    return
                default:
                    continue
                }
                if frame.fin, let complete = message {
                    message = nil
                    if receiver != nil {
                        do {
                            connection.received(try SealedChannel.open(complete, with: &receiver!))
                        } catch {
                            connection.ended(
                                GatewayClientError(
                                    .protocolViolation,
                                    "a sealed frame from the gateway did not authenticate: \(error)"
                                )
                            )
                            await self.close(code: CloseCode.protocolError)
                            self.closedContinuation.finish()
                            return
                        }
                    } else {
                        connection.received(complete)
                    }
                }
            }
        } catch {
            var ended = GatewayClientError(.closed, "the connection failed: \(error)")
            ended.closeCode = closeCode
            connection.ended(ended)
            self.closedContinuation.finish()
            return
        }
        connection.ended(GatewayClientError(.closed, "the server closed the socket without a close frame"))
        self.closedContinuation.finish()
    }
}
