import AsyncHTTPClient
import GatewayClient
import GatewayWire
import NIOCore
import NIOHTTP1
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

/// Abuse controls of the real daemon (docs/GATEWAY_SPEC.md §7–8): slow consumers, frame
/// limits, protocol errors, token buckets and their penalties, per-IP limits.
@Suite struct GatewayLimitsTests {
    typealias User = GatewayHarness.User

    @Test func aSlowConsumerIsClosedWith4008AndResumesFromItsCursor() async throws {
        let config = GatewayHarness.baseGatewayConfig + "\nsend_queue_frames = 16\nsend_queue_bytes = 1048576\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.register(b)
            let conv = SecureRandom.bytes(count: 16)
            let count = 400
            let payload = [UInt8](repeating: 0x5A, count: 48 << 10)
            try await gateway.connected(a) { ca in
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id], devices: [])
            }
            let token = try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { cb in
                let auth = try await cb.authenticate(b)
                _ = try await cb.backlog()
                // Bob stops reading; Alice sends ~19 MB: more than the socket buffers hold.
                cb.pauseReading()
                try await gateway.connected(a) { ca in
                    for n in 0..<count { try await ca.send(conv, epoch: 1, Array("\(n):".utf8) + payload) }
                }
                cb.resumeReading()
                try await expectClosed(cb, CloseCode.slowConsumer, timeout: .seconds(60))
                #expect(cb.goAway?.code == UInt32(CloseCode.slowConsumer))
                #expect(cb.goAway?.reconnectAfterMs == 1000)
                return [UInt8](auth.resumeToken)
            }
            // Resuming, Bob reads everything from his cursor (he acked nothing), paced by his
            // reading: the backlog never overflows the small queue.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { cb in
                try await cb.resume(b, token: token)
                let backlog = try await cb.backlog(timeout: .seconds(60))
                #expect(backlog.map(\.seq) == Array(2...UInt64(count + 1)))
                #expect(backlog.allSatisfy { $0.message.count == payload.count + "\($0.seq - 2):".utf8.count })
            }
        }
    }

    @Test func oversizeFramesTextFramesAndGarbageAreRefused() async throws {
        try await GatewayHarness.run { gateway in
            let device = try User().device()
            // A frame over max_frame_bytes (1 MiB): close 1009.
            try await gateway.connected(device) { connection in
                _ = try await connection.backlog()
                try await connection.send(raw: [UInt8](repeating: 1, count: (1 << 20) + 100))
                try await expectClosed(connection, CloseCode.frameTooLarge)
            }
            // A text frame: 4400.
            try await gateway.connected(device) { connection in
                try await connection.sendText("hello")
                try await expectClosed(connection, CloseCode.protocolError)
                #expect(connection.goAway?.code == UInt32(CloseCode.protocolError))
            }
            // Bytes that are not a ClientFrame: 4400.
            try await gateway.connected(device) { connection in
                try await connection.send(raw: [0xFF, 0xFF, 0xFF, 0xFF])
                try await expectClosed(connection, CloseCode.protocolError)
            }
            // request_id 0 is answered with bad_request; the connection stays.
            try await gateway.connected(device) { connection in
                var frame = Polygate_Gateway_V1_ClientFrame()
                frame.countKeyPackages.cipherSuite = 1
                try await connection.send(frame)
                let response = try await connection.next("a Response to request 0") {
                    if case .response = $0.body { true } else { false }
                }
                #expect(response.response.requestID == 0)
                #expect(response.response.error.code == "bad_request")
                let count = try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 1 }))
                #expect(count.count.count == 0)
            }
            // A WebSocket upgrade anywhere else is a 404; the gateway path without an upgrade, 426.
            do {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port, path: "/elsewhere") { _ in }
                Issue.record("upgraded on /elsewhere")
            } catch let error as GatewayClientError {
                #expect(error.code == .refused)
                #expect(error.httpStatus == 404)
            }
            let plain = try await HTTPTestClient.get(port: gateway.port, "/v1/gateway")
            #expect(plain.status == 426)
        }
    }

    @Test func rateLimitsAreReportedThenPenalised() async throws {
        let config = """
            [gateway]
            send_rate_per_device = "1/1m"
            send_burst_per_device = 3
            claim_rate_per_device = "1/1m"
            claim_burst_per_device = 2
            penalty_after_limits = 3
            """
        try await GatewayHarness.run(gateway: config) { gateway in
            let alice = User()
            let a = try alice.device()
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { connection in
                try await connection.createConversation(conv)
                for _ in 0..<3 { try await connection.send(conv, epoch: 0, Array("ok".utf8)) }
                for _ in 0..<2 {
                    do {
                        try await connection.send(conv, epoch: 0, Array("too fast".utf8))
                        Issue.record("not rate limited")
                    } catch let error as GatewayClientError {
                        #expect(error.serverCode == .rateLimited)
                        #expect((1...60_000).contains(error.server?.retryAfterMs ?? 0))
                    }
                }
                // Other requests are not limited by the send bucket.
                _ = try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 1 }))
                // The third refusal within a minute closes with 4029 and a 60 s hint.
                await expectServerError(.rateLimited) { try await connection.send(conv, epoch: 0, Array("again".utf8)) }
                try await expectClosed(connection, CloseCode.rateLimited)
                #expect(connection.goAway?.reconnectAfterMs == 60_000)
            }
            // Coming straight back does not help: the device is refused for the hint.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.rateLimited) { try await connection.authenticate(a) }
                try await expectClosed(connection, CloseCode.rateLimited)
                // The hint is what is left of the penalty, not another full minute (§3.2, §8).
                #expect((1..<60_000).contains(connection.goAway?.reconnectAfterMs ?? 0))
            }
            // Another device of the same user is not penalised; its claim bucket runs out on its own.
            try await gateway.connected(try alice.device("other")) { connection in
                let target = User()
                for _ in 0..<2 {
                    try await connection.call(
                        .claimKeyPackages(
                            .with {
                                $0.userID = .init(target.id)
                                $0.cipherSuite = 1
                            }
                        )
                    )
                }
                await expectServerError(.rateLimited) {
                    try await connection.call(
                        .claimKeyPackages(
                            .with {
                                $0.userID = .init(target.id)
                                $0.cipherSuite = 1
                            }
                        )
                    )
                }
            }
            try await withDatabase(gateway.databaseURL) { database in
                let rows = try await database.query("SELECT actor FROM audit_ledger WHERE event = 'ratelimit.penalty'")
                #expect(try rows.map { try $0[0].decode(String.self) } == [Hex.encode(a.deviceID)])
            }
        }
    }

    @Test func perIPConnectAndAuthenticationFailureLimitsAnswer429() async throws {
        let config = """
            [gateway]
            connect_rate_per_ip = "1/1m"
            connect_burst_per_ip = 4
            auth_failures_per_ip = "2/10m"
            """
        try await GatewayHarness.run(gateway: config) { gateway in
            let stranger = try User().device()
            // Two failed authentications (unknown device, no register)…
            for _ in 0..<2 {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                    await expectServerError(.unknownDevice) { try await connection.authenticate(stranger, register: false) }
                    try await expectClosed(connection, CloseCode.authenticationFailed)
                }
            }
            // …and the address is refused, WebSocket and SSE alike, with Retry-After.
            do {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { _ in }
                Issue.record("connected after two failed authentications")
            } catch let error as GatewayClientError {
                #expect(error.httpStatus == 429)
            }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port)/v1/stream")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 429)
            #expect(Int(response.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
            #expect(response.headers.first(name: "Cache-Control") == "no-store")
        }
        try await GatewayHarness.run(gateway: config) { gateway in
            // Four connections (the burst) are admitted, the fifth is not.
            for _ in 0..<4 {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                    _ = try await connection.challenge()
                }
            }
            do {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { _ in }
                Issue.record("a fifth connection was admitted")
            } catch let error as GatewayClientError {
                #expect(error.code == .refused)
                #expect(error.httpStatus == 429)
            }
        }
    }
}
