import Foundation
import GatewayClient
import GatewayWire
import Primitives

/// `gateway-benchmark blob-token HOST PORT` (for scripts/bench-blobs.sh): a fresh user's device,
/// registered, and the upload token its session gives.
enum BlobTokenRun {
    static func fetch(host: String, port: Int) async throws -> [UInt8] {
        let key = SignatureAlgorithm.ed25519.generatePrivateKey()
        let device = try DeviceCredentials.make(
            systemKey: key,
            deviceName: "bench-blobs",
            nowMs: UInt64(Date().timeIntervalSince1970 * 1000)
        )
        return try await GatewayConnection.withWebSocket(host: host, port: port) { connection in
            try await connection.authenticate(device, register: true)
            return [UInt8](try await connection.call(.blobToken(.init())).blobToken.token)
        }
    }
}
