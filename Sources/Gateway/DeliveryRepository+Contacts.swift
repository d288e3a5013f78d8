package import GatewayWire
import Primitives
package import Store

/// Contacts (migration 0005): the grants between users that presence consent rests on, asked
/// for, accepted and revoked (`gw_contact`). Modes and last-seen are the Presence target's
/// (`PresenceRepository`).
extension DeliveryRepository {
    /// The outcome of a contact action.
    package enum ContactOutcome: String, Sendable {
        case mutual
        case outgoing
        case none
        case noRequest = "no_request"
        case blockedByMe = "blocked_by_me"
        case blockedByThem = "blocked_by_them"
    }

    /// A contact action of `user` about `other`: `request`, `accept` or `revoke` (with the
    /// notifications to both users' devices, in the same statement).
    package func contact(_ action: String, user: UserID, other: UserID) async throws -> ContactOutcome {
        let rows = try await self.database.query("SELECT gw_contact(\(user), \(other), \(action))", format: .binary)
        return ContactOutcome(rawValue: try rows[0][0].decode(String.self)) ?? .none
    }

    /// A user's contacts: who it granted, who granted it.
    package func contacts(of user: UserID) async throws -> [(user: UserID, mine: Bool, theirs: Bool)] {
        let rows = try await self.database.query(
            """
            SELECT coalesce(m.grantee, t.granter), m.grantee IS NOT NULL, t.granter IS NOT NULL
            FROM (SELECT grantee FROM gw_presence_grants WHERE granter = \(user)) m
            FULL JOIN (
                -- Requests from users this user blocks stay unseen while the block stands.
                SELECT g.granter FROM gw_presence_grants g WHERE g.grantee = \(user)
                  AND NOT EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = \(user) AND b.blocked_user = g.granter)
            ) t ON t.granter = m.grantee
            ORDER BY 1
            """,
            format: .binary
        )
        return try rows.map { try $0.decode((UserID, Bool, Bool).self) }.map { (user: $0.0, mine: $0.1, theirs: $0.2) }
    }
}
