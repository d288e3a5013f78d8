import GatewayWire
import Logging
import Presence
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// Presence (docs/GATEWAY_SPEC.md §10): leases, invisibility, watching.
extension GatewaySession {
    /// `RenewLease`: this device's presence lease, for the TTL asked (or the default).
    func renewLease(_ renew: Polygate_Gateway_V1_RenewLease, _ identity: Identity, _ requestID: UInt64) {
        self.context.presence.renew(
            user: identity.userID,
            device: identity.deviceID,
            ttl: renew.ttlMs == 0 ? nil : .milliseconds(Int64(renew.ttlMs))
        )
        self.respond(self.response(requestID))
    }

    /// `SetPresence`: invisible or not.
    func setPresence(_ set: Polygate_Gateway_V1_SetPresence, _ identity: Identity, _ requestID: UInt64) async throws {
        try await self.context.presence.setInvisible(user: identity.userID, set.invisible)
        self.respond(self.response(requestID))
    }

    /// `Watch`: these users' presence, as far as each lets this user see it (rate-limited).
    func watch(_ watch: Polygate_Gateway_V1_Watch, _ identity: Identity, _ requestID: UInt64) async throws {
        guard try await self.limit(.watch, identity, requestID) else { return }
        guard watch.userIds.allSatisfy({ $0.count == 32 }) else {
            throw GatewayWireError(.badRequest, "user_ids are 32-byte keys")
        }
        var result = Polygate_Gateway_V1_WatchResult()
        result.presences = try await self.context.presence.watch(self, user: identity.userID, watch.userIds.map { UserID($0) })
        var response = self.response(requestID)
        response.watch = result
        self.respond(response)
    }

    /// `Unwatch`: no more presence of these users.
    func unwatch(_ unwatch: Polygate_Gateway_V1_Unwatch, _ requestID: UInt64) {
        self.context.presence.unwatch(self, unwatch.userIds.map { UserID($0) })
        self.respond(self.response(requestID))
    }
}
