import AsyncHTTPClient
import Gateway
import GatewayClient
import GatewayWire
import NIOCore
import NIOHTTP1
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

/// The SSE fallback and several daemons on one database (docs/GATEWAY_SPEC.md §2.2, §5).
@Suite struct GatewayTransportTests {
    typealias User = GatewayHarness.User

    static func text(_ delivery: Polygate_Gateway_V1_Delivery) -> String { String(decoding: delivery.message, as: UTF8.self) }

    @Test func anSSEClientSeesTheSameStreamAsAWebSocketClient() async throws {
        try await GatewayHarness.run { gateway in
            // The stream's headers keep proxies and CDNs from buffering or caching it. A client of
            // its own, shut down after the probes: the shared client kept their connections,
            // and the stream below once took one that the server was closing
            // (remoteConnectionClosed under load).
            let probes = HTTPClient(eventLoopGroupProvider: .singleton)
            var probe = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port)/v1/stream")
            probe.headers.add(name: "Accept", value: "text/event-stream")
            let head = try await probes.execute(probe, timeout: .seconds(10))
            #expect(head.status.code == 200)
            #expect(head.headers.first(name: "Content-Type") == "text/event-stream")
            #expect(head.headers.first(name: "Cache-Control") == "no-store, no-transform")
            #expect(head.headers.first(name: "X-Accel-Buffering") == "no")
            // A POST for a stream that does not exist.
            var stray = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port)/v1/send")
            stray.method = .POST
            stray.headers.add(name: "X-Polygate-Stream", value: Hex.encode(SecureRandom.bytes(count: 16)))
            stray.body = .bytes(ByteBuffer(bytes: [1, 2, 3]))
            let refused = try await probes.execute(stray, timeout: .seconds(10))
            #expect(refused.status.code == 404)
            #expect(refused.headers.first(name: "Cache-Control") == "no-store")
            try await probes.shutdown()

            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device(), try bob.device(), try carol.device())
            try await gateway.register(b, c)
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id, carol.id], devices: [b.deviceID.bytes, c.deviceID.bytes])
                for n in 0..<5 { try await ca.send(conv, epoch: 1, Array("backlog \(n)".utf8)) }
            }
            try await GatewayConnection.withSSE(host: "127.0.0.1", port: gateway.port) { sse in
                let challenge = try await sse.challenge()
                #expect(challenge.streamID.count == 16)
                #expect(sse.httpHeader("cache-control") == "no-store, no-transform")
                try await sse.authenticate(b, register: false)
                try await gateway.connected(c) { ws in
                    // The same Welcome and backlog on both transports.
                    var streams: [[String]] = []
                    for connection in [sse, ws] {
                        let welcome = try await connection.next("Welcome") { if case .welcome = $0.body { true } else { false } }
                        #expect(welcome.welcome.seq == 1)
                        let backlog = try await connection.backlog()
                        #expect(backlog.map(\.seq) == Array(2...6))
                        streams.append(backlog.map(Self.text))
                    }
                    #expect(streams[0] == streams[1])
                    // Live traffic, both ways: the SSE client sends with POST and sees its echo.
                    try await gateway.connected(a) { ca in
                        try await ca.send(conv, epoch: 1, Array("live".utf8))
                    }
                    let sent = try await sse.send(conv, epoch: 1, Array("from sse".utf8))
                    #expect(sent.seq == 8)
                    for connection in [sse, ws] {
                        let live = try await connection.deliveries(2)
                        #expect(live.map(\.seq) == [7, 8])
                        #expect(live.map(Self.text) == ["live", "from sse"])
                    }
                    var ping = Polygate_Gateway_V1_ClientFrame()
                    ping.ping.clientTimeMs = 7
                    try await sse.send(ping)
                    let pong = try await sse.next("Pong") { if case .pong = $0.body { true } else { false } }
                    #expect(pong.pong.clientTimeMs == 7)
                    try await sse.ack(conv, 8)
                }
            }
            // A request before authentication on SSE closes the stream the same way.
            try await GatewayConnection.withSSE(host: "127.0.0.1", port: gateway.port) { sse in
                _ = try await sse.challenge()
                var frame = Polygate_Gateway_V1_ClientFrame()
                frame.requestID = 1
                frame.countKeyPackages.cipherSuite = 1
                try await sse.send(frame)
                try await expectClosed(sse, CloseCode.protocolError)
            }
            // After the ack, a new SSE stream of Bob's has nothing to catch up on.
            try await GatewayConnection.withSSE(host: "127.0.0.1", port: gateway.port) { sse in
                try await sse.authenticate(b, register: false)
                let backlog = try await sse.backlog()
                #expect(backlog.isEmpty)
            }
        }
    }

    /// Issue 17: behind nginx with upstream `keepalive`, a WebSocket upgrade came on a
    /// connection that had served a request and was answered 426 (NIO upgrades only the first
    /// request), so clients fell back to SSE. Such an upgrade is now closed unanswered, for the
    /// proxy to send again on a new connection; the first request still upgrades.
    @Test func anUpgradeOnAKeepAliveConnectionIsClosedForARetry() async throws {
        try await GatewayHarness.run { gateway in
            let upgrade = """
                GET /v1/gateway HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n
                """
            let reused = try RawConnection.tcp(port: gateway.port)
            #expect(reused.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            // The whole response, body included (the JSON object's closing brace): what the
            // upgrade then reads must be the close alone.
            let first = reused.read(for: .seconds(5)) {
                let text = String(decoding: $0, as: UTF8.self)
                return text.contains("\r\n\r\n") && text.hasSuffix("}")
            }
            #expect(String(decoding: first.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            #expect(reused.write(upgrade))
            let second = reused.read(for: .seconds(5))
            #expect(second.closed && second.bytes.isEmpty, "\(String(decoding: second.bytes, as: UTF8.self))")
            // On a new connection the same request upgrades.
            let fresh = try RawConnection.tcp(port: gateway.port)
            #expect(fresh.write(upgrade))
            let switched = fresh.read(for: .seconds(5)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }
            #expect(String(decoding: switched.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
            // A plain request after a plain one is served as before.
            let plain = try RawConnection.tcp(port: gateway.port)
            #expect(plain.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/gateway HTTP/1.1\r\nHost: x\r\n\r\n"))
            let both = plain.read(for: .seconds(5)) { String(decoding: $0, as: UTF8.self).contains("426") }
            #expect(String(decoding: both.bytes, as: UTF8.self).contains("HTTP/1.1 426"))
        }
    }

    @Test func twoDaemonsOnOneDatabaseDeliverAcrossEachOther() async throws {
        try await GatewayHarness.run(daemons: 2, gatewayIDs: ["gw_a", "gw_b"]) { gateway in
            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device(), try bob.device(), try carol.device())
            try await gateway.connected(b, daemon: 1) { _ in }
            try await gateway.connected(c, daemon: 1) { _ in }
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a, daemon: 0) { ca in
                try await gateway.connected(b, daemon: 1) { cb in
                    try await gateway.connected(c, daemon: 0) { cc in
                        for connection in [ca, cb, cc] { _ = try await connection.backlog() }
                        try await ca.createConversation(conv)
                        try await ca.add(
                            conv,
                            epoch: 0,
                            users: [bob.id, carol.id],
                            devices: [b.deviceID.bytes, c.deviceID.bytes]
                        )
                        // Bob, on the other daemon, gets his Welcome live.
                        let welcome = try await cb.next("Welcome") { if case .welcome = $0.body { true } else { false } }
                        #expect(welcome.welcome.seq == 1)
                        // Messages accepted by either daemon reach devices on both, in one order.
                        for n in 0..<20 {
                            let sender = n % 2 == 0 ? ca : cb
                            try await sender.send(conv, epoch: 1, Array("m\(n)".utf8))
                        }
                        let seen = try await [(ca, 21), (cb, 20), (cc, 20)].asyncMap {
                            (connection: GatewayConnection, count: Int) in try await connection.deliveries(count)
                        }
                        let alices = seen[0].filter { $0.seq >= 2 }
                        for got in [alices, seen[1], seen[2]] {
                            #expect(got.map(\.seq) == Array(2...21))
                            #expect(got.map(Self.text) == (0..<20).map { "m\($0)" })
                            #expect(got.allSatisfy { $0.convHome == "gw_a" })
                        }
                        #expect(Set(seen[1].map(\.originGateway)) == ["gw_a", "gw_b"])
                        let fromBob = try await cb.call(
                            .send(
                                GatewayConnection.sendBody(
                                    conv,
                                    .application,
                                    epoch: 1,
                                    [1],
                                    msgID: SecureRandom.bytes(count: 16)
                                )
                            )
                        )
                        #expect(fromBob.gatewayID == "gw_b")
                        #expect(fromBob.convHome == "gw_a")
                        #expect(fromBob.originGateway == "gw_b")
                        for connection in [ca, cb, cc] { _ = try await connection.deliveries(1) }

                        // Commits racing through both daemons: exactly one wins the epoch.
                        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                            for (n, connection) in [ca, cb, cc, cb].enumerated() {
                                group.addTask {
                                    do {
                                        try await connection.send(conv, .commit, epoch: 1, Array("commit \(n)".utf8))
                                        return true
                                    } catch let error as GatewayClientError where error.serverCode == .staleEpoch {
                                        return false
                                    }
                                }
                            }
                            var wins: [Bool] = []
                            for try await won in group { wins.append(won) }
                            return wins
                        }
                        #expect(outcomes.filter { $0 }.count == 1)
                        for connection in [ca, cb, cc] {
                            let commit = try await connection.deliveries(1)
                            #expect(commit.map(\.seq) == [23])
                            #expect(commit[0].kind == .commit)
                        }
                    }
                }
            }
            // A device revoked through one daemon is disconnected from the other.
            try await gateway.connected(c, daemon: 1) { cc in
                _ = try await cc.backlog()
                try await withDatabase(gateway.databaseURL) { database in
                    _ = try await DeliveryRepositoryAccess.revoke(c.deviceID.bytes, database: database)
                }
                try await expectClosed(cc, CloseCode.deviceRevoked)
            }
        }
    }
}

/// Revokes a device as an admin would (gwctl, later), through the daemon's own repository code.
enum DeliveryRepositoryAccess {
    static func revoke(_ device: [UInt8], database: PostgresClient) async throws -> Bool {
        try await Gateway.DeliveryRepository(database: database, gatewayID: "gw_admin").revoke(DeviceID(device), by: "test")
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
