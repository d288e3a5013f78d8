import AsyncHTTPClient
import Control
import GatewayClient
import GatewayWire
import NIOCore
import NIOHTTP1
import Primitives
import Store
import TestSupport
import Testing

/// The client's address behind a trusted proxy (`[http] trusted_proxies`,
/// `client_address_header`; docs/GATEWAY_SPEC.md §2.4): what the per-IP buckets, the audit
/// ledger and gwctl see. Here the test client is the proxy (it connects from 127.0.0.1 and sets
/// the header); ProxyTests does the same through a real nginx.
@Suite struct GatewayClientAddressTests {
    typealias User = GatewayHarness.User

    static let strict = """
        [gateway]
        connect_rate_per_ip = "1/1m"
        connect_burst_per_ip = 1
        auth_failures_per_ip = "5/10m"
        """

    static func connects(_ port: Int, _ headers: [(String, String)]) async throws -> GatewayClientError? {
        do {
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: port, headers: headers) { connection in
                _ = try await connection.challenge()
            }
            return nil
        } catch let error as GatewayClientError {
            return error
        }
    }

    static func streams(_ port: Int, _ headers: [(String, String)]) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/stream")
        request.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    }

    @Test func behindATrustedProxyEachClientHasItsOwnBuckets() async throws {
        try await GatewayHarness.run(gateway: Self.strict, http: "trusted_proxies = [\"127.0.0.1\"]") { gateway in
            let one = [("X-Forwarded-For", "198.51.100.1")]
            #expect(try await Self.connects(gateway.port, one) == nil)
            // The same client again: over its bucket of one, with how long to wait.
            let refused = try #require(try await Self.connects(gateway.port, one))
            #expect(refused.httpStatus == 429)
            #expect((refused.retryAfter ?? 0) >= 1)
            // A client further left is what the client wrote itself: not reached.
            let spoof = try #require(try await Self.connects(gateway.port, [("X-Forwarded-For", "203.0.113.50, 198.51.100.1")]))
            #expect(spoof.httpStatus == 429)
            // Another client behind the same proxy has a bucket of its own, WebSocket and SSE.
            #expect(try await Self.connects(gateway.port, [("X-Forwarded-For", "198.51.100.2")]) == nil)
            #expect(try await Self.streams(gateway.port, one).status.code == 429)
            let other = try await Self.streams(gateway.port, [("X-Forwarded-For", "2001:DB8::3")])
            #expect(other.status.code == 200)
            _ = try? await other.body.collect(upTo: 0)

            // The ledger, gwctl ratelimit show and conn list name the client, not the proxy.
            let stranger = try User().device()
            try await GatewayConnection.withWebSocket(
                host: "127.0.0.1",
                port: gateway.port,
                headers: [("X-Forwarded-For", "198.51.100.4")]
            ) { connection in
                await expectServerError(.unknownDevice) { try await connection.authenticate(stranger, register: false) }
            }
            let user = User()
            let device = try user.device()
            try await GatewayConnection.withWebSocket(
                host: "127.0.0.1",
                port: gateway.port,
                headers: [("X-Forwarded-For", "198.51.100.5")]
            ) { connection in
                try await connection.authenticate(device, register: true)
                let sessions = try await Gwctl.ok(["--json", "conn", "list"], socket: gateway.controlPath).items()
                #expect(sessions.first { $0["device"]?.string == Hex.encode(device.deviceID) }?["peer"]?.string == "198.51.100.5")
            }
            let levels = try await Gwctl.ok(["--json", "ratelimit", "show"], socket: gateway.controlPath).items()
            let keys = Set(levels.compactMap { $0["key"]?.string })
            #expect(keys.isSuperset(of: ["ip 198.51.100.1", "ip 198.51.100.2", "ip 2001:db8::3", "ip 198.51.100.4"]))
            #expect(!keys.contains("ip 127.0.0.1"))
            #expect(levels.contains { $0["key"]?.string == "ip 198.51.100.4" && $0["bucket"]?.string == "auth_failures" })
            try await withDatabase(gateway.databaseURL) { database in
                let rows = try await database.query(
                    "SELECT subject, details->>'ip' FROM audit_ledger WHERE event = 'auth.failed'"
                )
                let seen = try rows.map { [try $0[0].decode(String.self), try $0[1].decode(String.self)] }
                #expect(seen == [["198.51.100.4", "198.51.100.4"]])
            }
        }
    }

    @Test func headersFromAPeerThatIsNotATrustedProxyChangeNothing() async throws {
        // Only 192.0.2.1 is trusted; the test connects from 127.0.0.1.
        try await GatewayHarness.run(gateway: Self.strict, http: "trusted_proxies = [\"192.0.2.1\"]") { gateway in
            #expect(try await Self.connects(gateway.port, [("X-Forwarded-For", "198.51.100.1")]) == nil)
            // A "different client" by the header is the same address: refused.
            let refused = try #require(try await Self.connects(gateway.port, [("X-Forwarded-For", "198.51.100.2")]))
            #expect(refused.httpStatus == 429)
            #expect(
                try await Self.streams(gateway.port, [("X-Real-IP", "198.51.100.3"), ("X-Forwarded-For", "198.51.100.3")]).status
                    .code == 429
            )
            let levels = try await Gwctl.ok(["--json", "ratelimit", "show"], socket: gateway.controlPath).items()
            #expect(Set(levels.compactMap { $0["key"]?.string }) == ["ip 127.0.0.1"])
        }
        // No trusted proxies at all (the default): the same.
        try await GatewayHarness.run(gateway: Self.strict) { gateway in
            let first = try await Self.connects(gateway.port, [("CF-Connecting-IP", "198.51.100.1")])
            #expect(first == nil)
            let second = try await Self.connects(gateway.port, [("X-Forwarded-For", "198.51.100.2")])
            #expect(second?.httpStatus == 429)
        }
    }
}
