package import GatewayWire
package import Noise
import SwiftProtobuf
import Synchronization

/// What the client knows of a sealed connection (docs/GATEWAY_SPEC.md §14) once its Noise
/// handshake is done.
package struct SealedSession: Sendable {
    /// The gateway key the handshake was made with (the one pinned).
    package var gatewayKey: [UInt8]
    /// The handshake hash: what the device signs in `Authenticate` and `Resume`.
    package var handshakeHash: [UInt8]
    /// The keys the gateway has in force (its `SealedHello`), newest first: a client that
    /// pins keys learns a rotation here.
    package var keys: [Polygate_Gateway_V1_SealedKey]
}

/// The client's side of the handshake, as values: the first message to write, then the
/// gateway's answer read into the two cipher states.
struct SealedClientHandshake {
    var handshake: NoiseHandshake
    let gatewayKey: [UInt8]

    init(gatewayKey: [UInt8]) throws(GatewayClientError) {
        guard gatewayKey.count == 32 else {
            throw GatewayClientError(.sealedHandshake, "a gateway key is 32 bytes (64 hex characters)")
        }
        do {
            self.handshake = try NoiseHandshake(
                SealedChannel.noise,
                initiator: true,
                prologue: SealedChannel.prologue,
                remoteStatic: gatewayKey
            )
        } catch {
            throw GatewayClientError(.sealedHandshake, "\(error)")
        }
        self.gatewayKey = gatewayKey
    }

    /// The first message (an empty payload).
    mutating func first() throws(GatewayClientError) -> [UInt8] {
        do {
            return try self.handshake.writeMessage()
        } catch {
            throw GatewayClientError(.sealedHandshake, "\(error)")
        }
    }

    /// Reads the gateway's answer: the session and the two cipher states (send, receive).
    mutating func finish(_ answer: [UInt8]) throws(GatewayClientError) -> (SealedSession, NoiseCipherState, NoiseCipherState) {
        let payload: [UInt8]
        do {
            payload = try self.handshake.readMessage(answer)
        } catch {
            throw GatewayClientError(
                .gatewayKey,
                "the gateway's answer does not authenticate under the key pinned for it (\(error.code))"
            )
        }
        guard let transport = self.handshake.transport,
            let hello = try? Polygate_Gateway_V1_SealedHello(serializedBytes: payload)
        else {
            throw GatewayClientError(.sealedHandshake, "the gateway's answer holds no SealedHello")
        }
        let session = SealedSession(gatewayKey: self.gatewayKey, handshakeHash: transport.handshakeHash, keys: hello.keys)
        return (session, transport.send, transport.receive)
    }
}

/// Sends in nonce order: sealing and writing happen under one lock, so that two tasks sending
/// at once cannot put a later nonce on the wire first.
final class SealedSender: Sendable {
    private let cipher: Mutex<NoiseCipherState>
    private let lock = AsyncLock()

    init(_ cipher: NoiseCipherState) { self.cipher = Mutex(cipher) }

    /// Seals `frame` and hands the bytes to `write`, in order with every other call.
    func send(_ frame: [UInt8], _ write: ([UInt8]) async throws -> Void) async throws {
        await self.lock.acquire()
        defer { self.lock.release() }
        let sealed = try self.cipher.withLock { cipher throws(NoiseError) in try SealedChannel.seal(frame, with: &cipher) }
        try await write(sealed)
    }

    /// Runs `body` in order with the sends (a close after everything queued before it).
    func inOrder(_ body: () async -> Void) async {
        await self.lock.acquire()
        defer { self.lock.release() }
        await body()
    }
}

/// A first-in, first-out lock for async code.
final class AsyncLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        if self.state.withLock({ state in
            if state.held { return false }
            state.held = true
            return true
        }) {
            return
        }
        await withCheckedContinuation { continuation in
            let now = self.state.withLock { state -> Bool in
                if !state.held {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()  // stays held: handed over
        }
        next?.resume()
    }
}

/// The WebSocket's inbound iterator, handed from the sealed handshake to the reading task: one
/// task at a time uses it (the handshake finishes before the reader starts).
final class InboundIteratorBox<Iterator>: @unchecked Sendable {
    var iterator: Iterator
    init(_ iterator: Iterator) { self.iterator = iterator }
}
