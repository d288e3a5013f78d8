package import GatewayWire
import Logging
package import NIOCore
package import Noise
import Presence
import Primitives
import SwiftProtobuf
import Synchronization

/// One client connection of the gateway, whatever its transport (docs/GATEWAY_SPEC.md §3–5).
///
/// The transport hands it each received frame with ``receive(_:)`` (one at a time, in order)
/// and writes what ``outbox`` yields; database reads for delivery (backlogs, gaps) run in a
/// worker task that exists only while there is such work (``schedule(_:)``). Everything the
/// session decides goes through the value-type ``ConnectionStateMachine``; the fan-out offers
/// live log entries with ``offer(_:frame:)`` from any thread.
package final class GatewaySession: SessionOutlet {
    package enum Transport: String, Sendable, Hashable {
        case webSocket = "websocket"
        case sse
    }

    /// Who authenticated on this connection.
    package struct Identity: Sendable, Hashable {
        package var userID: UserID
        package var deviceID: DeviceID
        package var certificate: VerifiedDeviceCertificate
    }

    /// Work for the delivery task, which may wait for the database.
    enum Work: Sendable {
        case catchUp
        case pull(ConversationID)
        case refresh
    }

    struct State: Sendable {
        var machine: ConnectionStateMachine
        var identity: Identity?
        /// Backlog then live, no gap, no repeat (docs/GATEWAY_SPEC.md §5).
        var rule = DeliveryRule()
        var welcomesSent: Set<[UInt8]> = []
        var lastKeepAlive: Duration
        var closeCode: UInt16?
        /// Work for the delivery worker, in order, and whether one runs (``schedule(_:)``).
        var work: [Work] = []
        var working = false
        /// Sealed connections: the Noise handshake hash, once the handshake is done.
        var channelBinding: [UInt8]?
    }

    package let id: UInt64
    package let transport: Transport
    /// The client's address (for per-IP limits and the audit ledger).
    package let peer: String
    package let outbox: Outbox
    /// SSE only: the stream's bearer id (`Challenge.stream_id`).
    package let streamID: [UInt8]?
    /// Whether the connection is sealed (§14): frames pass through a Noise channel, and the
    /// device signs the handshake hash.
    package let sealed: Bool
    /// When the session opened (the gateway clock: monotonic).
    package let openedAt: Duration
    let nonce: [UInt8]
    /// What the session may call (the gateway's services; never the gateway itself).
    let context: SessionContext
    let state: Mutex<State>
    /// SSE: frames POSTed for this stream, processed in order by ``runInbound()``.
    let inbound: AsyncStream<[UInt8]>
    let inboundContinuation: AsyncStream<[UInt8]>.Continuation

    init(id: UInt64, transport: Transport, peer: String, sealed: Bool = false, context: SessionContext) {
        self.id = id
        self.transport = transport
        self.sealed = sealed
        self.peer = peer
        self.context = context
        self.nonce = SecureRandom.bytes(count: 32)
        self.streamID = transport == .sse ? SecureRandom.bytes(count: 16) : nil
        let limits = context.limits
        self.outbox = Outbox(maxFrames: limits.sendQueueFrames, maxBytes: limits.sendQueueBytes)
        let now = context.clock.now
        self.openedAt = now
        self.state = Mutex(State(machine: ConnectionStateMachine(limits: limits, now: now), lastKeepAlive: now))
        (self.inbound, self.inboundContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(256))
    }

    /// Who authenticated, once someone did.
    package var identity: Identity? { self.state.withLock { $0.identity } }

    /// How long the connection has to authenticate (a sealed one: its handshake included).
    package var authenticationTimeout: Duration { self.context.limits.authTimeout }

    /// A sealed connection's handshake is done: `handshakeHash` is what the device signs.
    package func bindChannel(_ handshakeHash: [UInt8]) {
        self.state.withLock { $0.channelBinding = handshakeHash }
    }

    /// Whether the session is closed or closing: the transport stops reading.
    package var isClosed: Bool { self.state.withLock { $0.machine.isClosed } }

    /// The close code the session chose, once it chose one.
    package var closeCode: UInt16? { self.state.withLock { $0.closeCode } }

    var logger: Logger {
        var logger = self.context.logger
        logger[metadataKey: "gw.session"] = "\(self.id)"
        return logger
    }

    /// Queues the `Challenge` (the first frame of every connection).
    func start() {
        var challenge = Polygate_Gateway_V1_Challenge()
        challenge.nonce = .init(self.nonce)
        challenge.gatewayID = self.context.gatewayID
        challenge.serverTimeMs = self.context.clock.wallMs
        challenge.pingIntervalMs = UInt32(clamping: self.context.limits.pingInterval.milliseconds)
        if let streamID { challenge.streamID = .init(streamID) }
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.challenge = challenge
        self.push(frame)
    }

    // MARK: Incoming frames

    /// Handles one frame from the client. Call in order, one at a time.
    ///
    /// The frame is handled in a child task of its own. A task keeps the memory its deepest
    /// call ever needed (Swift's task allocator frees its slabs only when the task ends), and the
    /// transport's task lives as long as the connection: handled in place, one authentication
    /// or request would leave ~15 KiB reserved in every idle connection (docs/BENCHMARKS.md,
    /// "Memory per connection").
    package func receive(_ bytes: [UInt8]) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.process(bytes) }
        }
    }

    private func process(_ bytes: [UInt8]) async {
        guard !self.isClosed else { return }
        guard bytes.count <= self.context.limits.maxFrameBytes else {
            self.close(
                code: CloseCode.frameTooLarge,
                reason: "frame over \(self.context.limits.maxFrameBytes) bytes",
                after: .zero
            )
            return
        }
        let frame: Polygate_Gateway_V1_ClientFrame
        do {
            frame = try Polygate_Gateway_V1_ClientFrame(serializedBytes: bytes)
        } catch {
            self.close(code: CloseCode.protocolError, reason: "the frame is not a ClientFrame", after: .seconds(5))
            return
        }
        guard let body = frame.body else {
            self.close(code: CloseCode.protocolError, reason: "a frame without a body", after: .seconds(5))
            return
        }
        let incoming = ConnectionStateMachine.Incoming(body)
        let now = self.context.clock.now
        let action = self.state.withLock { $0.machine.received(incoming, now: now) }
        switch action {
        case .close(let code, let reason, let after):
            self.perform(close: code, reason: reason, after: after)
            return
        case .rateLimited(let wait):
            self.refuseRateLimited(frame.requestID, wait)
            return
        case .process:
            break
        }
        switch frame.body {
        case .ping(let ping):
            if let identity = self.identity { self.context.presence.renew(user: identity.userID, device: identity.deviceID) }
            var pong = Polygate_Gateway_V1_Pong()
            pong.clientTimeMs = ping.clientTimeMs
            pong.serverTimeMs = self.context.clock.wallMs
            var out = Polygate_Gateway_V1_ServerFrame()
            out.pong = pong
            self.push(out)
        case .authenticate(let authenticate):
            await self.authenticate(authenticate, requestID: frame.requestID)
        case .resume(let resume):
            await self.resume(resume, requestID: frame.requestID)
        default:
            guard frame.requestID != 0 else {
                self.respond(0, error: GatewayWireError(.badRequest, "request_id must not be 0"))
                return
            }
            await self.handle(frame)
        }
    }

    /// SSE: queues a POSTed frame; false when the stream is closed or 256 frames are waiting.
    package func enqueueInbound(_ bytes: [UInt8]) -> Bool {
        guard !self.isClosed else { return false }
        if case .enqueued = self.inboundContinuation.yield(bytes) { return true }
        return false
    }

    /// SSE: processes POSTed frames in order until the session ends; a sealed stream's frames
    /// are opened with `receiver` first (§14), in the order they came.
    package func runInbound(receiver: NoiseCipherState? = nil) async {
        var receiver = receiver
        for await bytes in self.inbound {
            if receiver != nil {
                guard await self.receiveSealed(bytes, with: &receiver!) else { break }
            } else {
                await self.receive(bytes)
            }
            if self.isClosed { break }
        }
    }

    /// Opens one sealed message (§14.3) with `receiver` and handles the frame inside (its size
    /// is checked as any frame's). A message that does not authenticate closes the session with
    /// 4400, and nothing after it may be read: false then.
    package func receiveSealed(_ message: [UInt8], with receiver: inout NoiseCipherState) async -> Bool {
        let frame: [UInt8]
        do {
            frame = try SealedChannel.open(message, with: &receiver)
        } catch {
            self.close(
                code: CloseCode.protocolError,
                reason: "a sealed message did not authenticate (altered, replayed or out of order)",
                after: .seconds(5)
            )
            return false
        }
        await self.receive(frame)
        return true
    }

    // MARK: Time

    /// Called about twice a second: deadlines, and SSE keep-alives.
    func tick(now: Duration) {
        let (action, keepAlive) = self.state.withLock { state -> (ConnectionStateMachine.Action?, Bool) in
            let action = state.machine.tick(now: now)
            var keepAlive = false
            if self.transport == .sse, now - state.lastKeepAlive >= self.context.limits.pingInterval {
                state.lastKeepAlive = now
                keepAlive = true
            }
            return (action, keepAlive)
        }
        if case .close(let code, let reason, let after) = action {
            self.perform(close: code, reason: reason, after: after)
        } else if keepAlive {
            self.outbox.keepAlive()
        }
    }

    // MARK: Closing

    /// Closes the connection from the server side: `GoAway`, then the close.
    package func close(code: UInt16, reason: String, after: Duration) {
        let action = self.state.withLock { $0.machine.close(code: code, reason: reason, reconnectAfter: after) }
        if case .close(let code, let reason, let after) = action {
            self.perform(close: code, reason: reason, after: after)
        }
    }

    /// Carries out a close the state machine decided.
    func perform(close code: UInt16, reason: String, after: Duration, discardQueued: Bool = false) {
        let first = self.state.withLock { state -> Bool in
            guard state.closeCode == nil else { return false }
            state.closeCode = code
            return true
        }
        guard first else { return }
        var goAway = Polygate_Gateway_V1_GoAway()
        goAway.code = UInt32(code)
        goAway.reason = reason
        goAway.reconnectAfterMs = UInt32(clamping: after.milliseconds)
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.goAway = goAway
        self.outbox.close(code: code, reason: reason, finalFrame: Self.serialize(frame), discardQueued: discardQueued)
        self.logger.debug("closing", metadata: ["gw.close.code": "\(code)", "gw.close.reason": "\(reason)"])
        self.inboundContinuation.finish()
        self.context.ended(self)
    }

    /// The transport is gone (the peer closed or the socket failed).
    package func transportEnded() {
        self.state.withLock { state in
            if !state.machine.isClosed {
                _ = state.machine.close(code: CloseCode.normal, reason: "transport ended", reconnectAfter: .zero)
            }
        }
        self.outbox.finish()
        self.inboundContinuation.finish()
        self.context.ended(self)
    }

    // MARK: Output

    /// Queues a frame; an overflow closes the connection as a slow consumer.
    @discardableResult
    func push(_ frame: Polygate_Gateway_V1_ServerFrame) -> Bool {
        self.push(buffer: Self.serialize(frame))
    }

    @discardableResult
    package func push(buffer: ByteBuffer) -> Bool {
        if self.outbox.push(buffer) { return true }
        self.closeSlowConsumer()
        return false
    }

    /// The outbox overflowed: drop what is queued, `GoAway` 4008, close.
    func closeSlowConsumer() {
        guard !self.outbox.isClosing else { return }
        self.context.counters.add(.slowConsumers)
        let action = self.state.withLock { $0.machine.slowConsumer() }
        if case .close(let code, let reason, let after) = action {
            self.perform(close: code, reason: reason, after: after, discardQueued: true)
        }
    }

    static func serialize(_ frame: Polygate_Gateway_V1_ServerFrame) -> ByteBuffer {
        // Serializing a message that holds only bytes, strings and integers cannot fail.
        ByteBuffer(bytes: (try? frame.serializedBytes() as [UInt8]) ?? [])
    }

    /// A `Response` carrying the gateway's names.
    func response(_ requestID: UInt64, convHome: String? = nil) -> Polygate_Gateway_V1_Response {
        var response = Polygate_Gateway_V1_Response()
        response.requestID = requestID
        response.gatewayID = self.context.gatewayID
        response.convHome = convHome ?? self.context.gatewayID
        response.originGateway = self.context.gatewayID
        return response
    }

    func respond(_ response: Polygate_Gateway_V1_Response) {
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.response = response
        self.push(frame)
    }

    func respond(_ requestID: UInt64, error: GatewayWireError, convHome: String? = nil) {
        var response = self.response(requestID, convHome: convHome)
        response.error = error.wire
        self.respond(response)
    }

    func refuseRateLimited(_ requestID: UInt64, _ wait: Duration) {
        self.context.counters.add(.rateLimited)
        self.respond(requestID, error: Self.rateLimited(wait))
    }

    static func rateLimited(_ wait: Duration) -> GatewayWireError {
        var error = GatewayWireError(.rateLimited, "rate limited; retry in \(wait.milliseconds) ms")
        error.retryAfterMs = UInt64(clamping: wait.milliseconds)
        return error
    }
}
