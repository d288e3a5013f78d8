package import GatewayWire
import Primitives
package import Store

/// What gwctl reads and changes (docs/CONTROL_PROTOCOL.md): metadata only — ids, counters,
/// times — never message contents or keys. Ids come back as lowercase hex, times as ISO 8601
/// UTC text.
extension DeliveryRepository {
    /// `to_char` pattern of every time shown to the admin.
    static let iso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"

    package struct ConversationSummary: Sendable, Hashable {
        package var conv: String
        package var home: String
        package var epoch: Int64
        package var seq: Int64
        package var members: Int64
        package var created: String
        package var lastActivityMs: Int64?
    }

    /// Conversations, newest activity first (of `member`, when given). The newest `limit` are
    /// picked first, on their last log entry alone; the rest of each row is read for those only.
    /// Without a member this still reads every conversation's last entry (one index probe each).
    package func conversations(member: UserID?, limit: Int) async throws -> [ConversationSummary] {
        let newest: PostgresQuery =
            if let member {
                """
                SELECT c.conv_id, c.created_at,
                       (SELECT l.accepted_at_ms FROM gw_log l WHERE l.conv_id = c.conv_id ORDER BY l.seq DESC LIMIT 1) AS last
                FROM gw_members m JOIN gw_conversations c ON c.conv_id = m.conv_id
                WHERE m.user_id = \(member) AND m.left_seq IS NULL
                ORDER BY 3 DESC NULLS LAST, 2 DESC LIMIT \(Int64(limit))
                """
            } else {
                """
                SELECT c.conv_id, c.created_at,
                       (SELECT l.accepted_at_ms FROM gw_log l WHERE l.conv_id = c.conv_id ORDER BY l.seq DESC LIMIT 1) AS last
                FROM gw_conversations c
                ORDER BY 3 DESC NULLS LAST, 2 DESC LIMIT \(Int64(limit))
                """
            }
        // The same parameters, in a query around it.
        var query = newest
        query.sql = """
            SELECT encode(c.conv_id, 'hex'), c.conv_home, c.epoch, c.next_seq - 1,
                   (SELECT count(*) FROM gw_members m WHERE m.conv_id = c.conv_id AND m.left_seq IS NULL),
                   to_char(c.created_at AT TIME ZONE 'UTC', \(Self.iso)), t.last
            FROM (\(newest.sql)) AS t JOIN gw_conversations c ON c.conv_id = t.conv_id
            ORDER BY t.last DESC NULLS LAST, t.created_at DESC
            """
        let rows = try await self.database.query(query)
        return try rows.map { row in
            let (conv, home, epoch, seq, members, created, last) = try row.decode(
                (String, String, Int64, Int64, Int64, String, Int64?).self
            )
            return ConversationSummary(
                conv: conv,
                home: home,
                epoch: epoch,
                seq: seq,
                members: members,
                created: created,
                lastActivityMs: last
            )
        }
    }

    package struct ConversationDetail: Sendable, Hashable {
        package struct Member: Sendable, Hashable {
            package var user: String
            package var joinedSeq: Int64
            package var leftSeq: Int64?
        }

        package struct Device: Sendable, Hashable {
            package var device: String
            package var user: String
            package var name: String
            package var ackedSeq: Int64?
            /// When it was revoked (its leaves stay in the group until a member removes them).
            package var revoked: String?
        }

        package var summary: ConversationSummary
        package var createdBy: String
        package var pendingWelcomes: Int64
        package var groupInfoBytes: Int64
        package var members: [Member]
        package var devices: [Device]
    }

    /// One conversation's metadata (nil when unknown).
    package func conversation(hex conv: String) async throws -> ConversationDetail? {
        guard let id = Hex.decode(conv) else { return nil }
        let results = try await self.database.pipeline([
            """
            SELECT encode(c.conv_id, 'hex'), c.conv_home, c.epoch, c.next_seq - 1,
                   (SELECT count(*) FROM gw_members m WHERE m.conv_id = c.conv_id AND m.left_seq IS NULL),
                   to_char(c.created_at AT TIME ZONE 'UTC', \(unescaped: Self.iso)),
                   (SELECT l.accepted_at_ms FROM gw_log l WHERE l.conv_id = c.conv_id ORDER BY l.seq DESC LIMIT 1),
                   encode(c.created_by, 'hex'),
                   (SELECT count(*) FROM gw_welcomes w WHERE w.conv_id = c.conv_id),
                   octet_length(c.group_info)::int8
            FROM gw_conversations c WHERE c.conv_id = \(id)
            """,
            "SELECT encode(user_id, 'hex'), joined_seq, left_seq FROM gw_members WHERE conv_id = \(id) ORDER BY joined_seq, user_id",
            """
            SELECT encode(d.device_id, 'hex'), encode(d.user_id, 'hex'), d.name, cu.acked_seq,
                   to_char(d.revoked_at AT TIME ZONE 'UTC', \(unescaped: Self.iso))
            FROM gw_members m JOIN gw_devices d ON d.user_id = m.user_id
            LEFT JOIN gw_cursors cu ON cu.device_id = d.device_id AND cu.conv_id = m.conv_id
            WHERE m.conv_id = \(id) AND m.left_seq IS NULL
            ORDER BY d.user_id, d.registered_at
            """,
        ])
        guard let row = results[0].first else { return nil }
        let (conv, home, epoch, seq, members, created, last, creator, welcomes, infoBytes) = try row.decode(
            (String, String, Int64, Int64, Int64, String, Int64?, String, Int64, Int64).self
        )
        return ConversationDetail(
            summary: ConversationSummary(
                conv: conv,
                home: home,
                epoch: epoch,
                seq: seq,
                members: members,
                created: created,
                lastActivityMs: last
            ),
            createdBy: creator,
            pendingWelcomes: welcomes,
            groupInfoBytes: infoBytes,
            members: try results[1].map { row in
                let (user, joined, left) = try row.decode((String, Int64, Int64?).self)
                return .init(user: user, joinedSeq: joined, leftSeq: left)
            },
            devices: try results[2].map { row in
                let (device, user, name, acked, revoked) = try row.decode((String, String, String, Int64?, String?).self)
                return .init(device: device, user: user, name: name, ackedSeq: acked, revoked: revoked)
            }
        )
    }

    package struct DeviceSummary: Sendable, Hashable {
        package var device: String
        package var user: String
        package var name: String
        package var registered: String
        package var revoked: String?
        package var keyPackages: Int64
        package var lastResort: Bool
    }

    /// A user's devices, oldest first.
    package func devices(of user: UserID) async throws -> [DeviceSummary] {
        let rows = try await self.database.query(
            """
            SELECT encode(d.device_id, 'hex'), encode(d.user_id, 'hex'), d.name,
                   to_char(d.registered_at AT TIME ZONE 'UTC', \(unescaped: Self.iso)),
                   to_char(d.revoked_at AT TIME ZONE 'UTC', \(unescaped: Self.iso)),
                   (SELECT count(*) FROM gw_key_packages k WHERE k.device_id = d.device_id AND NOT k.last_resort),
                   EXISTS (SELECT 1 FROM gw_key_packages k WHERE k.device_id = d.device_id AND k.last_resort)
            FROM gw_devices d WHERE d.user_id = \(user) ORDER BY d.registered_at, d.device_id
            """
        )
        return try rows.map { row in
            let (device, user, name, registered, revoked, count, lastResort) = try row.decode(
                (String, String, String, String, String?, Int64, Bool).self
            )
            return DeviceSummary(
                device: device,
                user: user,
                name: name,
                registered: registered,
                revoked: revoked,
                keyPackages: count,
                lastResort: lastResort
            )
        }
    }

    /// A device as its own user sees it (`ListDevices`).
    package struct OwnDevice: Sendable {
        package var device: DeviceID
        package var certificate: [UInt8]
        package var registeredMs: Int64
        package var revokedMs: Int64?
        /// When its first connection on a daemon started or its last one there ended.
        package var lastSeenMs: Int64?
    }

    /// A user's devices as the user may see them (`ListDevices`), oldest first.
    package func ownDevices(
        of user: UserID
    ) async throws -> [OwnDevice] {
        let rows = try await self.database.query(
            """
            SELECT device_id, certificate, (extract(epoch FROM registered_at) * 1000)::int8,
                   (extract(epoch FROM revoked_at) * 1000)::int8, (extract(epoch FROM last_seen_at) * 1000)::int8
            FROM gw_devices WHERE user_id = \(user) ORDER BY registered_at, device_id
            """,
            format: .binary
        )
        return try rows.map { row in
            let (device, certificate, registered, revoked, seen) = try row.decode((DeviceID, [UInt8], Int64, Int64?, Int64?).self)
            return OwnDevice(
                device: device,
                certificate: certificate,
                registeredMs: registered,
                revokedMs: revoked,
                lastSeenMs: seen
            )
        }
    }

    package struct PoolLevel: Sendable, Hashable {
        package var device: String
        package var user: String
        package var suite: Int64?
        package var oneTime: Int64
        package var lastResort: Bool
    }

    /// KeyPackage pools of active devices per cipher suite: of `user`, or (nil) every pool with
    /// fewer than `below` one-time packages (devices with none at all included).
    package func keyPackagePools(of user: UserID?, below: Int) async throws -> [PoolLevel] {
        let rows = try await self.database.query(
            """
            SELECT encode(d.device_id, 'hex'), encode(d.user_id, 'hex'), k.cipher_suite::int8,
                   count(k.id) FILTER (WHERE NOT k.last_resort), coalesce(bool_or(k.last_resort), false)
            FROM gw_devices d LEFT JOIN gw_key_packages k ON k.device_id = d.device_id
            WHERE d.revoked_at IS NULL AND (\(user)::bytea IS NULL OR d.user_id = \(user))
            GROUP BY d.device_id, d.user_id, k.cipher_suite
            HAVING \(user)::bytea IS NOT NULL OR count(k.id) FILTER (WHERE NOT k.last_resort) < \(Int64(below))
            ORDER BY 4, 1
            LIMIT 1000
            """
        )
        return try rows.map { row in
            let (device, user, suite, count, lastResort) = try row.decode((String, String, Int64?, Int64, Bool).self)
            return PoolLevel(device: device, user: user, suite: suite, oneTime: count, lastResort: lastResort)
        }
    }

    /// The users `user` blocks (hex).
    package func blocks(of user: UserID) async throws -> [String] {
        try await self.blockedUsers(of: user).map { Hex.encode($0) }
    }

    /// Ids of a kind that start with a hex prefix (at most `limit`): `conversation`, `user`
    /// (users with a registered device) or `device`.
    package func ids(_ kind: String, prefix: String, limit: Int) async throws -> [String] {
        // User and device ids are 32 bytes; conversation ids up to 64.
        let longest = kind == "conversation" ? 128 : 64
        let hex = String(prefix.lowercased().filter(\.isHexDigit).prefix(longest))
        // Every id starting with the hex prefix lies between prefix+0… and prefix+f…: a range
        // the primary keys' (and gw_devices_user's) indexes answer without a scan.
        let low = Hex.decode(hex.count % 2 == 0 ? hex : hex + "0") ?? []
        let high = Hex.decode(hex + String(repeating: "f", count: longest - hex.count)) ?? []
        let pattern = hex + "%"
        let query: PostgresQuery =
            switch kind {
            case "conversation":
                """
                SELECT encode(conv_id, 'hex') FROM gw_conversations
                WHERE conv_id BETWEEN \(low) AND \(high) AND encode(conv_id, 'hex') LIKE \(pattern)
                ORDER BY conv_id LIMIT \(Int64(limit))
                """
            case "user":
                """
                SELECT DISTINCT encode(user_id, 'hex') FROM gw_devices
                WHERE user_id BETWEEN \(low) AND \(high) AND encode(user_id, 'hex') LIKE \(pattern)
                ORDER BY 1 LIMIT \(Int64(limit))
                """
            default:
                """
                SELECT encode(device_id, 'hex') FROM gw_devices
                WHERE device_id BETWEEN \(low) AND \(high) AND encode(device_id, 'hex') LIKE \(pattern)
                ORDER BY device_id LIMIT \(Int64(limit))
                """
            }
        return try await self.database.query(query).map { try $0.decode(String.self) }
    }

    package struct LedgerEntry: Sendable, Hashable {
        package var id: Int64
        package var at: String
        package var gateway: String
        package var event: String
        package var actor: String?
        package var subject: String?
        /// The details as JSON text.
        package var details: String
    }

    /// Audit-ledger entries after `after` (oldest first, at most `limit`), or with `after` nil
    /// the newest `limit` (still oldest first); of events starting with `prefix`.
    package func ledger(after: Int64?, limit: Int, prefix: String?) async throws -> [LedgerEntry] {
        let pattern = prefix.map { $0.replacing("%", with: "\\%").replacing("_", with: "\\_") + "%" }
        let query: PostgresQuery =
            if let after {
                """
                SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', \(unescaped: Self.iso)), gateway_id, event, actor, subject, details::text
                FROM audit_ledger WHERE id > \(after) AND (\(pattern)::text IS NULL OR event LIKE \(pattern))
                ORDER BY id LIMIT \(Int64(limit))
                """
            } else {
                """
                SELECT * FROM (
                    SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', \(unescaped: Self.iso)), gateway_id, event, actor, subject, details::text
                    FROM audit_ledger WHERE \(pattern)::text IS NULL OR event LIKE \(pattern)
                    ORDER BY id DESC LIMIT \(Int64(limit))
                ) AS newest ORDER BY 1
                """
            }
        return try await self.database.query(query).map { row in
            let (id, at, gateway, event, actor, subject, details) = try row.decode(
                (Int64, String, String, String, String?, String?, String).self
            )
            return LedgerEntry(id: id, at: at, gateway: gateway, event: event, actor: actor, subject: subject, details: details)
        }
    }

    /// The database's schema version and clock, and how long a round trip took.
    package func probe() async throws -> (schemaVersion: Int64, nowMs: Int64, latency: Duration) {
        let started = ContinuousClock.now
        let rows = try await self.database.query(
            "SELECT coalesce((SELECT max(version)::int8 FROM schema_migrations), 0), (extract(epoch FROM clock_timestamp()) * 1000)::int8"
        )
        let latency = ContinuousClock.now - started
        let (version, now) = try rows[0].decode((Int64, Int64).self)
        return (version, now, latency)
    }
}
