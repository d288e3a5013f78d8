import Control
import Gateway
import GatewayWire
import Primitives

/// gwctl's `blob stats` and `blob delete` (docs/GATEWAY_SPEC.md §13).
extension ControlHandler {
    func blobStatistics() async throws -> ControlValue {
        let statistics = try await self.context.realtime.blobs.statistics()
        return [
            "count": .int(statistics.count),
            "bytes": .int(statistics.bytes),
            "oldest": Self.iso(ms: statistics.oldestMs),
            "directory": .string(self.context.realtime.blobs.limits.directory),
            "users": .array(
                statistics.users.map { user in
                    ["user": .string(Hex.encode(user.user)), "blobs": .int(user.count), "bytes": .int(user.bytes)]
                }
            ),
        ]
    }

    func deleteBlob(_ text: String, peer: ControlPeer) async throws -> ControlValue {
        guard text.count == 64, let id = Hex.decode(text.lowercased()) else {
            throw ControlError(.badArguments, "a blob is named by its 64 hex characters (the id in its URL)")
        }
        guard let blob = try await self.context.realtime.blobs.delete(id, by: peer.description) else {
            throw ControlError(.notFound, "no blob \(text.lowercased())")
        }
        return [
            "blob": .string(Hex.encode(id)), "deleted": .bool(true), "user": .string(Hex.encode(blob.user)),
            "size": .int(blob.size),
        ]
    }
}
