import Gateway
import GatewayWire
import NIOCore
import Primitives
import TestSupport
import Testing

/// The connection state machine, token buckets and send queue, without I/O or clocks.
@Suite struct SessionTests {
    static func seconds(_ s: Double) -> Duration { .milliseconds(Int64(s * 1000)) }

    @Test func tokenBucketsRefillAtTheirRate() {
        var bucket = TokenBucket(.init(2, per: .seconds(1), burst: 3), now: .zero)
        #expect(bucket.take(now: .zero) == nil)
        #expect(bucket.take(now: .zero) == nil)
        #expect(bucket.take(now: .zero) == nil)
        #expect(bucket.take(now: .zero) == .milliseconds(500))  // empty: one token per 500 ms
        #expect(bucket.take(now: Self.seconds(0.5)) == nil)
        #expect(bucket.take(now: Self.seconds(0.5)) != nil)
        // Refill stops at the burst.
        for _ in 0..<3 { #expect(bucket.take(now: Self.seconds(100)) == nil) }
        #expect(bucket.take(now: Self.seconds(100)) != nil)
    }

    @Test func sendQueueBoundsFramesAndBytes() {
        var queue = SendQueue<Int>(maxFrames: 3, maxBytes: 100)
        #expect(queue.enqueue(1, bytes: 40) == .queued)
        #expect(queue.enqueue(2, bytes: 40) == .queued)
        #expect(queue.enqueue(3, bytes: 40) == .overflow)  // bytes
        #expect(queue.enqueue(3, bytes: 10) == .queued)
        #expect(queue.enqueue(4, bytes: 1) == .overflow)  // frames
        #expect(queue.dequeue() == 1)
        #expect(queue.queuedBytes == 50)
        #expect(queue.enqueue(4, bytes: 1) == .queued)
        #expect([queue.dequeue(), queue.dequeue(), queue.dequeue(), queue.dequeue()] == [2, 3, 4, nil])
        #expect(queue.count == 0)
        // An empty queue takes a frame larger than the byte bound (one big message still goes out).
        var small = SendQueue<Int>(maxFrames: 3, maxBytes: 100)
        #expect(small.hasRoom(for: 500))
        #expect(small.enqueue(1, bytes: 500) == .queued)
        #expect(!small.hasRoom(for: 1))
        #expect(small.enqueue(2, bytes: 1) == .overflow)
        // Long runs keep working after compaction.
        for n in 0..<1000 {
            #expect(queue.enqueue(n, bytes: 1) == .queued)
            #expect(queue.dequeue() == n)
        }
    }

    @Test func outboxWaitsForRoomForTheBacklogAndClosesLast() async {
        let outbox = Outbox(maxFrames: 2, maxBytes: 1000)
        #expect(outbox.push(ByteBuffer(bytes: [1])))
        #expect(outbox.push(ByteBuffer(bytes: [2])))
        #expect(!outbox.push(ByteBuffer(bytes: [3])))  // full: a live frame overflows
        let resumed = Collector<Int>()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await outbox.waitForRoom(bytes: 1)
                resumed.append(1)
            }
            try? await Task.sleep(for: .milliseconds(50))
            #expect(resumed.all.isEmpty)  // still full
            #expect(await outbox.next(limit: 1) == [.frame(ByteBuffer(bytes: [1]))])
            await group.waitForAll()
        }
        #expect(resumed.all == [1])
        // The close comes after what is queued, with the GoAway; then nothing.
        outbox.close(code: 4008, reason: "slow", finalFrame: ByteBuffer(bytes: [9]), discardQueued: false)
        #expect(!outbox.push(ByteBuffer(bytes: [4])))
        #expect(
            await outbox.next() == [
                .frame(ByteBuffer(bytes: [2])), .frame(ByteBuffer(bytes: [9])), .close(code: 4008, reason: "slow"),
            ]
        )
        #expect(await outbox.next() == nil)
        // A slow consumer's queue is dropped: only the GoAway and the close are left.
        let slow = Outbox(maxFrames: 4, maxBytes: 1000)
        for n in 0..<4 { #expect(slow.push(ByteBuffer(bytes: [UInt8(n)]))) }
        slow.close(code: 4008, reason: "slow", finalFrame: ByteBuffer(bytes: [9]), discardQueued: true)
        #expect(await slow.next() == [.frame(ByteBuffer(bytes: [9])), .close(code: 4008, reason: "slow")])
    }

    @Test func onlyHandshakeAndPingBeforeAuthentication() {
        var machine = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        #expect(machine.received(.ping, now: .zero) == .process)
        #expect(machine.received(.authenticate, now: .zero) == .process)
        guard case .close(let code, _, _) = machine.received(.send, now: .zero) else {
            Issue.record("a send before authentication must close")
            return
        }
        #expect(code == CloseCode.protocolError)
        #expect(machine.state == .closed(code: CloseCode.protocolError))
    }

    @Test func deadlines() {
        var waiting = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        #expect(waiting.tick(now: Self.seconds(9.9)) == nil)
        #expect(
            waiting.tick(now: Self.seconds(10))
                == .close(code: CloseCode.authenticationTimeout, reason: "no authentication in time", reconnectAfter: .seconds(1))
        )

        var live = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        live.authenticated(userID: UserID([1]), deviceID: DeviceID([2]))
        #expect(live.received(.ping, now: Self.seconds(40)) == .process)
        #expect(live.tick(now: Self.seconds(89)) == nil)  // 2.5 × 20 s after the last frame
        guard case .close(let code, _, _) = live.tick(now: Self.seconds(90)) else {
            Issue.record("expected a ping timeout")
            return
        }
        #expect(code == CloseCode.pingTimeout)
    }

    @Test func rateLimitsThenPenalty() {
        var limits = GatewayLimits()
        limits.sendPerDevice = .init(1, per: .seconds(1), burst: 2)
        let limiter = RateLimiter(limits: limits)
        var machine = ConnectionStateMachine(limits: limits, now: .zero)
        machine.authenticated(userID: UserID([1]), deviceID: DeviceID([2]))
        #expect(machine.received(.send, now: .zero) == .process)
        #expect(limiter.take(.send, device: DeviceID([2]), now: .zero) == nil)
        #expect(limiter.take(.send, device: DeviceID([2]), now: .zero) == nil)
        for _ in 0..<4 {
            guard let wait = limiter.take(.send, device: DeviceID([2]), now: .zero) else {
                Issue.record("expected an empty bucket")
                return
            }
            #expect(wait == .seconds(1))
            #expect(machine.limited(retryAfter: wait, now: .zero) == .rateLimited(retryAfter: .seconds(1)))
        }
        // The bucket is the device's, not the connection's: another device is not limited, and
        // neither is another kind of request.
        #expect(limiter.take(.send, device: DeviceID([3]), now: .zero) == nil)
        #expect(limiter.take(.claim, device: DeviceID([2]), now: .zero) == nil)
        #expect(machine.received(.request, now: .zero) == .process)
        // The fifth refusal within a minute closes with 4029.
        guard case .close(let code, _, let after) = machine.limited(retryAfter: .seconds(1), now: .zero) else {
            Issue.record("expected the penalty close")
            return
        }
        #expect(code == CloseCode.rateLimited)
        #expect(after == .seconds(60))
        // Refusals spread over more than a minute do not add up.
        var patient = ConnectionStateMachine(limits: limits, now: .zero)
        patient.authenticated(userID: UserID([1]), deviceID: DeviceID([2]))
        for minute in 0..<10 {
            #expect(patient.limited(retryAfter: .seconds(1), now: .seconds(61 * minute)) == .rateLimited(retryAfter: .seconds(1)))
        }
    }

    @Test func perIPConnectAndAuthenticationFailureBuckets() {
        var limits = GatewayLimits()
        limits.connectPerIP = .init(1, per: .seconds(10), burst: 2)
        limits.authFailuresPerIP = .init(2, per: .seconds(60), burst: 2)
        let limiter = RateLimiter(limits: limits)
        #expect(limiter.admit(ip: "10.0.0.1", now: .zero) == nil)
        #expect(limiter.admit(ip: "10.0.0.1", now: .zero) == nil)
        #expect(limiter.admit(ip: "10.0.0.1", now: .zero) == .seconds(10))
        #expect(limiter.admit(ip: "10.0.0.2", now: .zero) == nil)
        #expect(limiter.admit(ip: "10.0.0.1", now: .seconds(10)) == nil)
        // Two failures use up the window: the IP is refused until a failure's token is back.
        limiter.authenticationFailed(ip: "10.0.0.2", now: .zero)
        #expect(limiter.admit(ip: "10.0.0.2", now: .zero) == nil)
        limiter.authenticationFailed(ip: "10.0.0.2", now: .zero)
        #expect(limiter.admit(ip: "10.0.0.2", now: .seconds(1)) == .seconds(29))
        #expect(limiter.admit(ip: "10.0.0.2", now: .seconds(30)) == nil)
        // A device penalised with 4029 is refused for the reconnect hint.
        limiter.penalize(device: DeviceID([7]), until: .seconds(60))
        #expect(limiter.penalty(device: DeviceID([7]), now: .seconds(59)) == .seconds(1))
        #expect(limiter.penalty(device: DeviceID([7]), now: .seconds(60)) == nil)
        #expect(limiter.snapshot(now: .seconds(1)).contains { $0.key == "ip 10.0.0.1" })
    }

    /// A revoked device that keeps retrying is counted against itself, never against its
    /// address, and recorded at most once a minute after a burst of 3 (issue 15).
    @Test func aRevokedDeviceRetryingIsCountedAgainstTheDevice() {
        var limits = GatewayLimits()
        limits.authFailuresPerIP = .init(2, per: .seconds(60), burst: 2)
        let limiter = RateLimiter(limits: limits)
        var recorded = 0
        for second in 0..<60 where limiter.revokedAttempt(device: DeviceID([9]), now: .seconds(Int64(second))) { recorded += 1 }
        #expect(recorded == 3)
        #expect(limiter.revokedAttempt(device: DeviceID([9]), now: .seconds(80)))
        // Another revoked device has its own allowance; the address stays admitted throughout.
        #expect(limiter.revokedAttempt(device: DeviceID([8]), now: .seconds(80)))
        #expect(limiter.admit(ip: "10.0.0.9", now: .seconds(80)) == nil)
    }

    @Test func authenticationOutcomes() {
        var failed = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        #expect(
            failed.authenticationFailed(revoked: false)
                == .close(code: CloseCode.authenticationFailed, reason: "authentication failed", reconnectAfter: .seconds(5))
        )
        var revoked = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        #expect(
            revoked.authenticationFailed(revoked: true)
                == .close(code: CloseCode.deviceRevoked, reason: "device revoked", reconnectAfter: .zero)
        )
        var slow = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        slow.authenticated(userID: UserID([1]), deviceID: DeviceID([2]))
        guard case .close(let code, _, _) = slow.slowConsumer() else {
            Issue.record("expected a close")
            return
        }
        #expect(code == CloseCode.slowConsumer)
        var twice = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        twice.authenticated(userID: UserID([1]), deviceID: DeviceID([2]))
        guard case .close = twice.received(.authenticate, now: .zero) else {
            Issue.record("a second authentication must close")
            return
        }
    }
}

/// The NOTIFY payloads daemons exchange.
@Suite struct SignalTests {
    @Test func payloadsRoundTripAndJunkIsRefused() {
        let id = Array(repeating: UInt8(0xAB), count: 32)
        for signal in [
            SessionSignal.membership(userID: UserID(id)), .revoked(deviceID: DeviceID(id)),
            .keyPackagesLow(deviceID: DeviceID(id), cipherSuite: 3, count: 7),
        ] {
            #expect(SessionSignal(payload: signal.payload) == signal)
        }
        #expect(
            SessionSignal.keyPackagesLow(deviceID: DeviceID(id), cipherSuite: 3, count: 7).payload
                == "k:\(String(repeating: "ab", count: 32)):3:7"
        )
        for junk in [
            "", "u", "u:", "u:zz", "u:abab", "x:\(String(repeating: "ab", count: 32))",
            "k:\(String(repeating: "ab", count: 32)):3",
        ] {
            #expect(SessionSignal(payload: junk) == nil, "\(junk)")
        }
        let append = AppendSignal(convID: ConversationID([1, 2, 255]), seq: 42)
        #expect(append.payload == "0102ff:42")
        #expect(AppendSignal(payload: append.payload) == append)
        for junk in ["", ":1", "0102", "0102:", "0102:x", "zz:1"] { #expect(AppendSignal(payload: junk) == nil, "\(junk)") }
    }
}
