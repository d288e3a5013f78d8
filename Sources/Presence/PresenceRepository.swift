package import GatewayWire
import Primitives
package import Store

/// Presence consent and settings in PostgreSQL (migration 0005): which grants are mutual, each
/// user's mode and last-seen time, and the `polygate_presence` announcements. Leases are not
/// stored.
package struct PresenceRepository: Sendable {
    let database: PostgresClient

    package init(database: PostgresClient) {
        self.database = database
    }

    /// Which of `others` are mutual contacts of `user`.
    package func mutualContacts(of user: UserID, among others: [UserID]) async throws -> Set<UserID> {
        guard !others.isEmpty else { return [] }
        let rows = try await self.database.query(
            """
            SELECT a.grantee FROM gw_presence_grants a
            JOIN gw_presence_grants b ON b.granter = a.grantee AND b.grantee = a.granter
            WHERE a.granter = \(user.bytes) AND a.grantee = ANY(\(PostgresArray(others.map(\.bytes))))
            """,
            format: .binary
        )
        return Set(try rows.map { UserID(try $0[0].decode([UInt8].self)) })
    }

    /// Users' modes and last-seen times (absent users: visible, never seen).
    package func presenceSettings(of users: [UserID]) async throws -> [UserID: (invisible: Bool, lastSeenMs: UInt64?)] {
        guard !users.isEmpty else { return [:] }
        let rows = try await self.database.query(
            "SELECT user_id, invisible, last_seen_ms FROM gw_presence_settings WHERE user_id = ANY(\(PostgresArray(users.map(\.bytes))))",
            format: .binary
        )
        var out: [UserID: (Bool, UInt64?)] = [:]
        for row in rows {
            let (user, invisible, seen) = try row.decode(([UInt8], Bool, Int64?).self)
            out[UserID(user)] = (invisible, seen.map { UInt64(max($0, 0)) })
        }
        return out
    }

    /// Sets a user's mode and tells every daemon. Turning invisible while holding a lease
    /// records "last seen now": watchers see the user go offline at that moment.
    package func setInvisible(_ user: UserID, _ invisible: Bool, seenNowMs: UInt64?) async throws {
        _ = try await self.database.pipeline([
            """
            INSERT INTO gw_presence_settings (user_id, invisible, last_seen_ms) VALUES (\(user.bytes), \(invisible), \(seenNowMs.map { Int64(clamping: $0) }))
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
    package func recordLastSeen(_ users: [UserID], nowMs: UInt64) async throws {
        guard !users.isEmpty else { return }
        try await self.database.query(
            """
            INSERT INTO gw_presence_settings (user_id, last_seen_ms)
            SELECT DISTINCT u, \(Int64(clamping: nowMs)) FROM unnest(\(PostgresArray(users.map(\.bytes)))) AS s(u)
            ON CONFLICT (user_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms WHERE NOT gw_presence_settings.invisible
            """
        )
    }

    /// Records that devices were last seen at `nowMs` (their own user sees it in `ListDevices`;
    /// invisible or not: nobody else does).
    package func recordDevicesSeen(_ devices: [DeviceID], nowMs: UInt64) async throws {
        guard !devices.isEmpty else { return }
        try await self.database.query(
            """
            UPDATE gw_devices SET last_seen_at = to_timestamp(\(Double(nowMs) / 1000))
            WHERE device_id = ANY(\(PostgresArray(devices.map(\.bytes))))
            """
        )
    }

    /// Sends presence signals to every daemon (this one included).
    package func announce(_ signals: [PresenceSignal]) async throws {
        let statements: [PostgresQuery] = signals.flatMap(\.payloads).map { "SELECT pg_notify(\(PresenceSignal.channel), \($0))" }
        guard !statements.isEmpty else { return }
        _ = try await self.database.pipeline(statements)
    }
}
