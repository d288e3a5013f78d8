import Gateway
import GatewayWire
import Logging
import NIOCore
import NIOWebSocket
import Noise
import Primitives
import SwiftProtobuf
import Synchronization

/// Carries one gateway session over an upgraded WebSocket (RFC 6455): binary messages in
/// (fragments reassembled up to the frame limit; a text message is a protocol error), the
/// session's outbox out in batches, pings answered, and the close handshake with the
/// session's close code. A sealed session (§14) first runs the Noise handshake — the client's
/// first message opened with one of the gateway's keys, the answer with its `SealedHello` —
/// then seals and opens every frame; its close frames carry the code only.
struct WebSocketTransport {
    let frames: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    let session: GatewaySession
    /// The largest frame.
    let maxMessageBytes: Int
    /// A sealed session's keys (nil: a plain session).
    let sealedKeys: GatewayKeyStore?
    /// For the sealed-handshake failure counter.
    let realtime: RealtimeGateway?
    let logger: Logger

    init(
        frames: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>,
        session: GatewaySession,
        maxMessageBytes: Int,
        sealedKeys: GatewayKeyStore? = nil,
        realtime: RealtimeGateway? = nil,
        logger: Logger
    ) {
        self.frames = frames
        self.session = session
        self.maxMessageBytes = maxMessageBytes
        self.sealedKeys = sealedKeys
        self.realtime = realtime
        self.logger = logger
    }

    /// How long to wait for the client's close frame after ours.
    static let closeTimeout: Duration = .seconds(3)

    /// The largest sealed message that carries a frame of `frame` bytes.
    static func sealedSize(ofFrame frame: Int) -> Int {
        let padded = SealedChannel.paddedSize(frame)
        return padded + (padded / (NoiseHandshake.maximumMessageLength - NoiseCipher.tagLength) + 1) * NoiseCipher.tagLength
    }

    /// The buckets sealed frames are padded to (`[gateway] sealed_padding`).
    var padding: [Int] { self.realtime?.configuration.limits.sealedPadding ?? SealedChannel.defaultBuckets }

    var wireLimit: Int { self.sealedKeys == nil ? self.maxMessageBytes : Self.sealedSize(ofFrame: self.maxMessageBytes) }

    func run() async {
        let channel = self.frames.channel
        let handshake = SealedHandshakeSignal()
        do {
            try await self.frames.executeThenClose { inbound, outbound in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.write(outbound, channel: channel, handshake: handshake) }
                    var iterator = inbound.makeAsyncIterator()
                    var receiver: NoiseCipherState?
                    if let keys = self.sealedKeys {
                        receiver = await self.acceptSealed(&iterator, outbound, keys: keys, signal: handshake)
                        guard receiver != nil else {
                            // The writer sends the close frame and closes the socket.
                            self.session.transportEnded()
                            await group.waitForAll()
                            return
                        }
                    }
                    await self.read(&iterator, outbound, receiver: receiver)
                    self.session.transportEnded()
                    group.cancelAll()
                }
            }
        } catch {
            self.logger.trace("WebSocket ended", metadata: ["error": "\(error)"])
            self.session.transportEnded()
        }
    }

    private func failed() { self.realtime?.sealedHandshakeFailed() }

    /// The gateway's side of the sealed handshake: the client's first message (within the
    /// authentication timeout), the answer; nil (and the writer told to close with 4010) when
    /// it fails.
    private func acceptSealed(
        _ iterator: inout NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        keys: GatewayKeyStore,
        signal: SealedHandshakeSignal
    ) async -> NoiseCipherState? {
        var message: [UInt8]? = nil
        do {
            while let frame = try await iterator.next() {
                switch frame.opcode {
                case .binary: message = Array(frame.unmaskedData.readableBytesView)
                case .continuation: message? += Array(frame.unmaskedData.readableBytesView)
                case .ping:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                    continue
                case .connectionClose:
                    signal.fail(code: nil)
                    return nil
                default:
                    self.failed()
                    signal.fail(code: CloseCode.sealedHandshakeFailed)
                    return nil
                }
                guard (message?.count ?? 0) <= NoiseHandshake.maximumMessageLength else {
                    self.failed()
                    signal.fail(code: CloseCode.sealedHandshakeFailed)
                    return nil
                }
                guard frame.fin, let first = message else { continue }
                let (answer, transport) = try keys.accept(first)
                try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: answer)))
                self.session.bindChannel(transport.handshakeHash)
                signal.succeed(transport.send)
                return transport.receive
            }
        } catch {
            self.logger.debug("sealed handshake failed", metadata: ["error": "\(error)", "gw.peer": "\(self.session.peer)"])
        }
        self.failed()
        signal.fail(code: CloseCode.sealedHandshakeFailed)
        return nil
    }

    private func read(
        _ iterator: inout NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        receiver: NoiseCipherState?
    ) async {
        var message: [UInt8]? = nil
        var receiver = receiver
        /// A sealed message failed: the session is closing; what else comes is not read.
        var broken = false
        do {
            while let frame = try await iterator.next() {
                // RFC 6455 §5.1: a server must close the connection on a frame from the client
                // that is not masked.
                guard frame.maskKey != nil else {
                    self.session.close(
                        code: CloseCode.webSocketProtocolError,
                        reason: "client frames must be masked",
                        after: .seconds(5)
                    )
                    continue
                }
                switch frame.opcode {
                case .binary, .continuation:
                    if frame.opcode == .binary {
                        guard message == nil else {
                            self.session.close(
                                code: CloseCode.protocolError,
                                reason: "a new message inside a fragmented one",
                                after: .seconds(5)
                            )
                            continue
                        }
                        message = []
                    }
                    guard message != nil else {
                        self.session.close(
                            code: CloseCode.protocolError,
                            reason: "a continuation without a message",
                            after: .seconds(5)
                        )
                        continue
                    }
                    var data = frame.unmaskedData
                    message!.append(contentsOf: data.readBytes(length: data.readableBytes) ?? [])
                    if message!.count > self.wireLimit {
                        message = nil
                        self.session.close(
                            code: CloseCode.frameTooLarge,
                            reason: "message over \(self.maxMessageBytes) bytes",
                            after: .zero
                        )
                        continue
                    }
                    if frame.fin, let complete = message {
                        message = nil
                        if broken { continue }
                        guard receiver != nil else {
                            await self.session.receive(complete)
                            continue
                        }
                        broken = !(await self.session.receiveSealed(complete, with: &receiver!))
                    }
                case .text:
                    self.session.close(
                        code: CloseCode.protocolError,
                        reason: "text frames are not part of the protocol",
                        after: .seconds(5)
                    )
                case .ping:
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
                case .pong:
                    break
                case .connectionClose:
                    if !self.session.isClosed {
                        // The client said goodbye: echo its code and stop.
                        var data = frame.unmaskedData
                        let code = data.readWebSocketErrorCode() ?? .normalClosure
                        var reply = ByteBuffer()
                        reply.write(webSocketErrorCode: code)
                        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply))
                    }
                    return
                default:
                    self.session.close(code: CloseCode.protocolError, reason: "unknown opcode", after: .seconds(5))
                }
            }
        } catch {
            self.logger.trace("WebSocket read ended", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the outbox (sealed: once the handshake is done, each frame sealed); after the
    /// close frame, waits for the client's close (bounded), then closes the socket.
    private func write(
        _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        channel: any Channel,
        handshake: SealedHandshakeSignal
    ) async {
        var closing = false
        var sender: NoiseCipherState?
        if self.sealedKeys != nil {
            switch await handshake.wait(timeout: self.session.authenticationTimeout) {
            case .ready(let cipher):
                sender = cipher
            case .failed(let code):
                // No channel, no GoAway: the close frame's code alone (none when the client left).
                if let code {
                    var data = ByteBuffer()
                    data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
                    try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
                    try? await Task.sleep(for: .milliseconds(200))
                }
                try? await channel.close()
                return
            }
        }
        while !closing, let items = await self.session.outbox.next(limit: 64) {
            var batch: [WebSocketFrame] = []
            batch.reserveCapacity(items.count)
            for item in items {
                switch item {
                case .frame(let buffer):
                    guard sender != nil else {
                        batch.append(WebSocketFrame(fin: true, opcode: .binary, data: buffer))
                        continue
                    }
                    do {
                        let sealed = try buffer.withUnsafeReadableBytes { (frame) throws(NoiseError) in
                            try SealedChannel.seal(frame, with: &sender!, buckets: self.padding)
                        }
                        batch.append(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: sealed)))
                    } catch {
                        // 2^64 frames: not in this universe; end the connection if it happens.
                        try? await channel.close()
                        return
                    }
                case .keepAlive:
                    break
                case .close(let code, let reason):
                    var data = ByteBuffer()
                    data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
                    // Sealed: the reason went in the sealed GoAway; the proxy sees the code only.
                    if sender == nil { data.writeString(String(reason.utf8.prefix(120)) ?? "") }
                    batch.append(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
                    closing = true
                }
            }
            do {
                if !batch.isEmpty { try await outbound.write(contentsOf: batch) }
            } catch {
                return
            }
        }
        guard closing else { return }
        try? await Task.sleep(for: Self.closeTimeout)
        try? await channel.close()
    }
}

/// The sealed handshake's outcome, from the reading side to the writing side.
final class SealedHandshakeSignal: Sendable {
    enum Outcome: Sendable {
        /// The sending cipher state.
        case ready(NoiseCipherState)
        /// The close code to send (nil: the client is gone).
        case failed(UInt16?)
    }

    private struct State {
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
    }

    private let state = Mutex(State())

    func succeed(_ cipher: NoiseCipherState) { self.settle(.ready(cipher)) }
    func fail(code: UInt16?) { self.settle(.failed(code)) }

    private func settle(_ outcome: Outcome) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// The outcome, or a failure with 4002 when none comes within `timeout`.
    func wait(timeout: Duration) async -> Outcome {
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.settle(.failed(CloseCode.authenticationTimeout))
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> Outcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
