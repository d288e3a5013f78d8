import Delivery
import GatewayWire
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
        // Long runs keep working after compaction.
        for n in 0..<1000 {
            #expect(queue.enqueue(n, bytes: 1) == .queued)
            #expect(queue.dequeue() == n)
        }
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
        live.authenticated(userID: [1], deviceID: [2])
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
        var machine = ConnectionStateMachine(limits: limits, now: .zero)
        machine.authenticated(userID: [1], deviceID: [2])
        #expect(machine.received(.send, now: .zero) == .process)
        #expect(machine.received(.send, now: .zero) == .process)
        for _ in 0..<4 {
            guard case .rateLimited(let wait) = machine.received(.send, now: .zero) else {
                Issue.record("expected rate_limited")
                return
            }
            #expect(wait == .seconds(1))
        }
        // Other requests are not limited by the send bucket.
        #expect(machine.received(.request, now: .zero) == .process)
        // The fifth refusal within a minute closes with 4029.
        guard case .close(let code, _, let after) = machine.received(.send, now: .zero) else {
            Issue.record("expected the penalty close")
            return
        }
        #expect(code == CloseCode.rateLimited)
        #expect(after == .seconds(60))
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
        slow.authenticated(userID: [1], deviceID: [2])
        guard case .close(let code, _, _) = slow.slowConsumer() else {
            Issue.record("expected a close")
            return
        }
        #expect(code == CloseCode.slowConsumer)
        var twice = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        twice.authenticated(userID: [1], deviceID: [2])
        guard case .close = twice.received(.authenticate, now: .zero) else {
            Issue.record("a second authentication must close")
            return
        }
    }
}
