import Gateway
import GatewayWire
import Logging
import NIOCore
import NIOWebSocket

/// Carries one gateway session over an upgraded WebSocket (RFC 6455): binary messages in
/// (fragments reassembled up to the frame limit; a text message is a protocol error), the
/// session's outbox out in batches, pings answered, and the close handshake with the
/// session's close code.
struct WebSocketTransport {
    let frames: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    let session: GatewaySession
    let maxMessageBytes: Int
    let logger: Logger

    /// How long to wait for the client's close frame after ours.
    static let closeTimeout: Duration = .seconds(3)

    func run() async {
        let channel = self.frames.channel
        do {
            try await self.frames.executeThenClose { inbound, outbound in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.write(outbound, channel: channel) }
                    await self.read(inbound, outbound)
                    self.session.transportEnded()
                    group.cancelAll()
                }
            }
        } catch {
            self.logger.trace("WebSocket ended", metadata: ["error": "\(error)"])
            self.session.transportEnded()
        }
    }

    private func read(
        _ inbound: NIOAsyncChannelInboundStream<WebSocketFrame>,
        _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    ) async {
        var message: [UInt8]? = nil
        do {
            for try await frame in inbound {
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
                    if message!.count > self.maxMessageBytes {
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
                        await self.session.receive(complete)
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

    /// Writes the outbox; after the close frame, waits for the client's close (bounded), then
    /// closes the socket.
    private func write(_ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, channel: any Channel) async {
        var closing = false
        while !closing, let items = await self.session.outbox.next(limit: 64) {
            var batch: [WebSocketFrame] = []
            batch.reserveCapacity(items.count)
            for item in items {
                switch item {
                case .frame(let buffer):
                    batch.append(WebSocketFrame(fin: true, opcode: .binary, data: buffer))
                case .keepAlive:
                    break
                case .close(let code, let reason):
                    var data = ByteBuffer()
                    data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
                    data.writeString(String(reason.utf8.prefix(120)) ?? "")
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
