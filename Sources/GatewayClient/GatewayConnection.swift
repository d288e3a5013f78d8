package import GatewayWire
import Primitives
package import SwiftProtobuf
import Synchronization

/// Sends a client frame over some transport.
protocol FrameTransport: Sendable {
    func send(_ frame: [UInt8]) async throws
    /// Closes from the client side (WebSocket: a close frame with `code`).
    func close(code: UInt16) async
}

/// One connection to a polygate gateway over WebSocket or SSE (docs/GATEWAY_SPEC.md): requests
/// with their responses matched by `request_id`, and every other server frame — deliveries,
/// Welcomes, `CaughtUp`, `GoAway` … — from ``nextEvent(timeout:)``, in the order they came.
///
/// Open one with ``withWebSocket(host:port:path:maxFrameBytes:_:)`` or
/// ``withSSE(host:port:_:)``; the connection lives for the closure.
package final class GatewayConnection: Sendable {
    package typealias ServerFrame = Polygate_Gateway_V1_ServerFrame
    package typealias ClientBody = Polygate_Gateway_V1_ClientFrame.OneOf_Body

    private struct State {
        var nextRequestID: UInt64 = 0
        var pending: [UInt64: AsyncThrowingStream<Polygate_Gateway_V1_Response, any Error>.Continuation] = [:]
        var challenge: Polygate_Gateway_V1_Challenge?
        var challengeWaiters: [AsyncThrowingStream<Polygate_Gateway_V1_Challenge, any Error>.Continuation] = []
        var ended: GatewayClientError?
        var goAway: Polygate_Gateway_V1_GoAway?
        var events: [ServerFrame] = []
        var eventsHead = 0
        var eventWaiter: AsyncStream<Void>.Continuation?
    }

    let transport: any FrameTransport
    private let state = Mutex(State())
    /// The headers of the server's HTTP response that opened the connection (the 101 of the
    /// WebSocket upgrade, or the SSE stream's 200), names in lower case.
    package let httpHeaders: [(name: String, value: String)]

    /// Sealed connections (§14): the handshake's outcome; nil on a plain connection.
    package let sealed: SealedSession?

    init(transport: any FrameTransport, httpHeaders: [(String, String)] = [], sealed: SealedSession? = nil) {
        self.transport = transport
        self.httpHeaders = httpHeaders.map { (name: $0.0, value: $0.1) }
        self.sealed = sealed
    }

    /// The value of an HTTP response header (see ``httpHeaders``).
    package func httpHeader(_ name: String) -> String? {
        self.httpHeaders.first { $0.name == name.lowercased() }?.value
    }

    private func enqueue(_ frame: ServerFrame) {
        let waiter = self.state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.events.append(frame)
            defer { state.eventWaiter = nil }
            return state.eventWaiter
        }
        waiter?.yield()
        waiter?.finish()
    }

    /// The next server frame that is not a response, waiting at most `timeout`; nil once the
    /// connection ended and every frame was taken.
    ///
    /// - Throws: ``GatewayClientError`` `.timeout`.
    package func nextEvent(timeout: Duration) async throws -> ServerFrame? {
        while true {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            if let taken = self.take(orWaitWith: continuation) { return taken }
            try await withTimeout(timeout, "no server frame within \(timeout)") {
                for await _ in stream { return }
            }
        }
    }

    /// The next server frame that is not a response, however long it takes; nil once the
    /// connection ended and every frame was taken, or when the task is cancelled.
    package func nextEvent() async -> ServerFrame? {
        while !Task.isCancelled {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            if let taken = self.take(orWaitWith: continuation) { return taken }
            for await _ in stream { break }
        }
        return nil
    }

    /// The next frame (`.some`), the end (`.some(nil)`), or nothing yet (nil: `waiter` is woken
    /// when something comes).
    private func take(orWaitWith waiter: AsyncStream<Void>.Continuation) -> ServerFrame?? {
        self.state.withLock { state -> ServerFrame?? in
            if state.eventsHead < state.events.count {
                defer {
                    state.eventsHead += 1
                    if state.eventsHead > 256, state.eventsHead * 2 > state.events.count {
                        state.events.removeFirst(state.eventsHead)
                        state.eventsHead = 0
                    }
                }
                return .some(state.events[state.eventsHead])
            }
            if state.ended != nil { return .some(nil) }
            state.eventWaiter = waiter
            return .none
        }
    }

    /// Server frames (not responses) until the connection ends; each waits at most `timeout`.
    package func events(timeout: Duration = .seconds(15)) -> AsyncThrowingStream<ServerFrame, any Error> {
        AsyncThrowingStream { try await self.nextEvent(timeout: timeout) }
    }

    /// Frames queued and not taken yet.
    package var pendingEvents: Int { self.state.withLock { $0.events.count - $0.eventsHead } }

    // MARK: From the transport

    /// A server frame arrived.
    func received(_ bytes: [UInt8]) {
        guard let frame = try? ServerFrame(serializedBytes: bytes) else {
            self.ended(GatewayClientError(.protocolViolation, "the server sent a frame that is not a ServerFrame"))
            return
        }
        switch frame.body {
        case .response(let response):
            guard let waiter = self.state.withLock({ $0.pending.removeValue(forKey: response.requestID) }) else {
                // Nobody asked (a frame sent with `send`, or a request that timed out): an event.
                self.enqueue(frame)
                return
            }
            waiter.yield(response)
            waiter.finish()
        case .challenge(let challenge):
            let waiters = self.state.withLock { state in
                state.challenge = challenge
                defer { state.challengeWaiters = [] }
                return state.challengeWaiters
            }
            for waiter in waiters {
                waiter.yield(challenge)
                waiter.finish()
            }
            self.enqueue(frame)
        case .goAway(let goAway):
            self.state.withLock { $0.goAway = goAway }
            self.enqueue(frame)
        default:
            self.enqueue(frame)
        }
    }

    /// The connection is over (closed by either side, or failed).
    func ended(_ reason: GatewayClientError) {
        let (pending, challengeWaiters, eventWaiter) = self.state.withLock { state in
            if state.ended == nil {
                var reason = reason
                if reason.closeCode == nil, let goAway = state.goAway { reason.closeCode = UInt16(clamping: goAway.code) }
                state.ended = reason
            }
            defer {
                state.pending = [:]
                state.challengeWaiters = []
                state.eventWaiter = nil
            }
            return (state.pending, state.challengeWaiters, state.eventWaiter)
        }
        let error = self.state.withLock { $0.ended } ?? reason
        for waiter in pending.values { waiter.finish(throwing: error) }
        for waiter in challengeWaiters { waiter.finish(throwing: error) }
        eventWaiter?.finish()
    }

    // MARK: Using the connection

    /// Why the connection ended, once it has.
    package var endReason: GatewayClientError? { self.state.withLock { $0.ended } }

    /// The close code the server chose (from its close frame, else its `GoAway`).
    package var closeCode: UInt16? { self.state.withLock { $0.ended?.closeCode ?? $0.goAway.map { UInt16(clamping: $0.code) } } }

    /// The last `GoAway` the server sent.
    package var goAway: Polygate_Gateway_V1_GoAway? { self.state.withLock { $0.goAway } }

    /// The server's `Challenge` (the first frame of every connection).
    package func challenge(timeout: Duration = .seconds(10)) async throws -> Polygate_Gateway_V1_Challenge {
        let (stream, continuation) = AsyncThrowingStream<Polygate_Gateway_V1_Challenge, any Error>.makeStream()
        try self.state.withLock { state throws(GatewayClientError) in
            if let challenge = state.challenge {
                continuation.yield(challenge)
                continuation.finish()
            } else if let ended = state.ended {
                throw ended
            } else {
                state.challengeWaiters.append(continuation)
            }
        }
        return try await withTimeout(timeout, "no Challenge") {
            for try await challenge in stream { return challenge }
            throw self.endReason ?? GatewayClientError(.closed, "the connection ended")
        }
    }

    /// Sends a frame without waiting for anything (pings, misbehaving tests).
    package func send(_ frame: Polygate_Gateway_V1_ClientFrame) async throws {
        try await self.transport.send(try frame.serializedBytes())
    }

    /// Sends raw bytes as one frame.
    package func send(raw bytes: [UInt8]) async throws {
        try await self.transport.send(bytes)
    }

    /// Sends a request and waits for its `Response` (whatever it says).
    package func request(_ body: ClientBody, timeout: Duration = .seconds(15)) async throws -> Polygate_Gateway_V1_Response {
        let (stream, continuation) = AsyncThrowingStream<Polygate_Gateway_V1_Response, any Error>.makeStream()
        let id = try self.state.withLock { state throws(GatewayClientError) -> UInt64 in
            if let ended = state.ended { throw ended }
            state.nextRequestID += 1
            state.pending[state.nextRequestID] = continuation
            return state.nextRequestID
        }
        var frame = Polygate_Gateway_V1_ClientFrame()
        frame.requestID = id
        frame.body = body
        do {
            try await self.send(frame)
        } catch {
            _ = self.state.withLock { $0.pending.removeValue(forKey: id) }
            throw self.endReason ?? GatewayClientError(.closed, "sending failed: \(error)")
        }
        do {
            return try await withTimeout(timeout, "no response to request \(id)") {
                for try await response in stream { return response }
                throw self.endReason ?? GatewayClientError(.closed, "the connection ended")
            }
        } catch {
            _ = self.state.withLock { $0.pending.removeValue(forKey: id) }
            throw error
        }
    }

    /// Sends a request; an `Error` response throws ``GatewayClientError`` `.server`.
    @discardableResult
    package func call(_ body: ClientBody, timeout: Duration = .seconds(15)) async throws -> Polygate_Gateway_V1_Response {
        let response = try await self.request(body, timeout: timeout)
        if response.hasError {
            var error = GatewayClientError(.server, response.error.message)
            error.server = response.error
            throw error
        }
        return response
    }

    /// Closes from the client side.
    package func close(code: UInt16 = CloseCode.normal) async {
        await self.transport.close(code: code)
    }

    // MARK: Handshake

    /// Answers the challenge with the device's certificate.
    @discardableResult
    package func authenticate(_ device: DeviceCredentials, register: Bool = true) async throws -> Polygate_Gateway_V1_AuthResult {
        let challenge = try await self.challenge()
        let body = try device.authenticate(challenge, register: register, binding: self.sealed?.handshakeHash)
        return try await self.call(.authenticate(body)).auth
    }

    /// Answers the challenge with a resume token.
    @discardableResult
    package func resume(_ device: DeviceCredentials, token: [UInt8]) async throws -> Polygate_Gateway_V1_AuthResult {
        let challenge = try await self.challenge()
        return try await self.call(.resume(try device.resume(challenge, token: token, binding: self.sealed?.handshakeHash))).auth
    }
}

/// Runs `body`, throwing ``GatewayClientError`` `.timeout` if it takes longer than `timeout`.
func withTimeout<T: Sendable>(
    _ timeout: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw GatewayClientError(.timeout, what)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw GatewayClientError(.timeout, what) }
        return first
    }
}
