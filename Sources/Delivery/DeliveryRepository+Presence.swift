public import Presence
import Primitives
public import Store

/// Presence consent and settings (migration 0005): grants between users, each user's mode and
/// last-seen time. Leases are not stored.
extension DeliveryRepository {
    /// The outcome of a contact action.
    public enum ContactOutcome: String, Sendable {
        case mutual
        case outgoing
        case none
        case noRequest = "no_request"
        case blockedByMe = "blocked_by_me"
        case blockedByThem = "blocked_by_them"
    }

    /// A contact action of `user` about `other`: `request`, `accept` or `revoke` (with the
    /// notifications to both users' devices, in the same statement).
    public func contact(_ action: String, user: [UInt8], other: [UInt8]) async throws -> ContactOutcome {
        let rows = try await self.database.query("SELECT gw_contact(\(user), \(other), \(action))", format: .binary)
        return ContactOutcome(rawValue: try rows[0][0].decode(String.self)) ?? .none
    }

    /// A user's contacts: who it granted, who granted it.
    public func contacts(of user: [UInt8]) async throws -> [(user: [UInt8], mine: Bool, theirs: Bool)] {
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
        return try rows.map { try $0.decode(([UInt8], Bool, Bool).self) }.map { (user: $0.0, mine: $0.1, theirs: $0.2) }
    }

    /// Which of `others` are mutual contacts of `user`.
    public func mutualContacts(of user: [UInt8], among others: [[UInt8]]) async throws -> Set<[UInt8]> {
        guard !others.isEmpty else { return [] }
        let rows = try await self.database.query(
            """
            SELECT a.grantee FROM gw_presence_grants a
            JOIN gw_presence_grants b ON b.granter = a.grantee AND b.grantee = a.granter
            WHERE a.granter = \(user) AND a.grantee = ANY(\(PostgresArray(others)))
            """,
            format: .binary
        )
        return Set(try rows.map { try $0[0].decode([UInt8].self) })
    }

    /// Users' modes and last-seen times (absent users: visible, never seen).
    public func presenceSettings(of users: [[UInt8]]) async throws -> [[UInt8]: (invisible: Bool, lastSeenMs: UInt64?)] {
        guard !users.isEmpty else { return [:] }
        let rows = try await self.database.query(
            "SELECT user_id, invisible, last_seen_ms FROM gw_presence_settings WHERE user_id = ANY(\(PostgresArray(users)))",
            format: .binary
        )
        var out: [[UInt8]: (Bool, UInt64?)] = [:]
        for row in rows {
            let (user, invisible, seen) = try row.decode(([UInt8], Bool, Int64?).self)
            out[user] = (invisible, seen.map { UInt64(max($0, 0)) })
        }
        return out
    }

    /// Sets a user's mode and tells every daemon. Turning invisible while holding a lease
    /// records "last seen now": watchers see the user go offline at that moment.
    public func setInvisible(_ user: [UInt8], _ invisible: Bool, seenNowMs: UInt64?) async throws {
        _ = try await self.database.pipeline([
            """
            INSERT INTO gw_presence_settings (user_id, invisible, last_seen_ms) VALUES (\(user), \(invisible), \(seenNowMs.map { Int64(clamping: $0) }))
            ON CONFLICT (user_id) DO UPDATE SET invisible = excluded.invisible,
                last_seen_ms = coalesce(excluded.last_seen_ms, gw_presence_settings.last_seen_ms)
            """,
            "SELECT pg_notify(\(PresenceSignal.channel), \(PresenceSignal.invisible(user: user, invisible).payloads[0]))",
        ])
    }

    /// Records that users were last seen at `nowMs` — not for invisible users, whose last-seen
    /// stays frozen.
    /// (A user may be named twice — its last lease ended twice within one tick — and is
    /// written once: one statement must not update a row twice.)
    public func recordLastSeen(_ users: [[UInt8]], nowMs: UInt64) async throws {
        guard !users.isEmpty else { return }
        try await self.database.query(
            """
            INSERT INTO gw_presence_settings (user_id, last_seen_ms)
            SELECT DISTINCT u, \(Int64(clamping: nowMs)) FROM unnest(\(PostgresArray(users))) AS s(u)
            ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms WHERE NOT gw_presence_settings.invisible
            """
        )
    }

    /// Sends presence signals to every daemon (this one included).
    public func announce(_ signals: [PresenceSignal]) async throws {
        let statements: [PostgresQuery] = signals.flatMap(\.payloads).map { "SELECT pg_notify(\(PresenceSignal.channel), \($0))" }
        guard !statements.isEmpty else { return }
        _ = try await self.database.pipeline(statements)
    }
}
