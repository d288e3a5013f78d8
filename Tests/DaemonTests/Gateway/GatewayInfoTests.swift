import Foundation
import TestSupport
import Testing

@testable import Daemon

/// `GET /v1/info` (docs/GATEWAY_SPEC.md §11) from the real daemon: the document states the
/// configuration in force, in the documented shape, and may be cached for a minute.
@Suite struct GatewayInfoTests {
    static let config = """
        [gateway]
        max_message_bytes = 65536
        send_rate_per_device = "7/3s"
        send_burst_per_device = 9
        pairing_ttl = "2m"

        [presence]
        max_watched = 7
        lease_ttl = "90s"
        """

    @Test func infoStatesTheConfigurationInForce() async throws {
        try await GatewayHarness.run(gateway: Self.config) { gateway in
            let response = try await HTTPTestClient.get(port: gateway.port, "/v1/info")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.headers["cache-control"] == "public, max-age=60")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
            #expect(document["gateway_id"] as? String == "gw_test")
            #expect(document["version"] as? String == Daemon.version)
            #expect(document["protocol"] as? String == "polygate.gateway.v1")
            #expect(document["cipher_suites"] as? [Int] == [1, 3])
            let transports = try #require(document["transports"] as? [String: Any])
            #expect(transports["websocket"] as? String == "/v1/gateway")
            #expect((transports["sse"] as? [String: String]) == ["stream": "/v1/stream", "send": "/v1/send"])
            let limits = try #require(document["limits"] as? [String: Any])
            #expect(limits["max_message_bytes"] as? Int == 65536)
            #expect((limits["send_per_device"] as? [String: Int]) == ["count": 7, "period_ms": 3000, "burst": 9])
            #expect(limits["max_frame_bytes"] as? Int == 1 << 20)
            let presence = try #require(document["presence"] as? [String: Any])
            #expect(presence["max_watched"] as? Int == 7)
            #expect(presence["lease_ttl_ms"] as? Int == 90_000)
            let pairing = try #require(document["pairing"] as? [String: Any])
            #expect(pairing["path"] as? String == "/v1/pairing")
            #expect(pairing["ttl_ms"] as? Int == 120_000)
            #expect((pairing["attempts_per_ip"] as? [String: Int]) == ["count": 20, "period_ms": 600_000, "burst": 20])
            // One line, keys in the documented order.
            let keys = ["gateway_id", "version", "protocol", "transports", "cipher_suites", "limits", "presence", "pairing"]
            let positions = keys.compactMap { response.body.range(of: "\"\($0)\":")?.lowerBound }
            #expect(positions.count == keys.count && positions == positions.sorted())
            #expect(response.body.hasSuffix("}\n") && response.body.split(separator: "\n").count == 1)
        }
    }
}
