public import GatewayWire
public import Store

/// Conversations: creation, the append transaction (gap-free seq, msg_id idempotency, epoch
/// compare-and-set for Commits, membership and Welcomes of the winner), reads and cursors.
extension DeliveryRepository {
    /// The NOTIFY channel that announces appends to every daemon.
    public static let channel = "polygate_conv"

    /// Creates a conversation at epoch 0 with `creator` as its only member.
    public func createConversation(convID: [UInt8], creator: [UInt8], groupInfo: [UInt8]) async throws(GatewayWireError) {
        do {
            _ = try await self.database.pipeline([
                """
                INSERT INTO gw_conversations (conv_id, conv_home, group_info, created_by)
                VALUES (\(convID), \(self.gatewayID), \(groupInfo), \(creator))
                """,
                "INSERT INTO gw_members (conv_id, user_id, joined_seq) VALUES (\(convID), \(creator), 0)",
            ])
        } catch let error as PostgresError where error.sqlState == "23505" {
            throw GatewayWireError(.conversationExists, "a conversation with that id exists")
        } catch {
            throw GatewayWireError(.unavailable, "the database did not answer")
        }
    }

    /// Appends a message (docs/GATEWAY_SPEC.md §4.2, Send). Durable when it returns.
    ///
    /// - Throws: ``GatewayWireError`` with `not_member`, `stale_epoch` (with the current epoch in
    ///   the message), `bad_welcome`, `blocked`, or `unavailable`.
    public func append(_ submission: Submission, nowMs: UInt64) async throws -> Appended {
        for attempt in 1...3 {
            do {
                return try await self.database.withTransaction { connection in
                    try await self.append(submission, nowMs: nowMs, on: connection)
                }
            } catch let error as PostgresError where error.sqlState == "23505" && attempt < 3 {
                continue  // a concurrent retry of the same msg_id won: read its seq next time
            }
        }
        throw GatewayWireError(.internal, "append did not settle")
    }

    private func append(_ s: Submission, nowMs: UInt64, on connection: PostgresConnection) async throws -> Appended {
        let conv = s.convID
        let existing = try await connection.query(
            """
            SELECT l.seq, c.epoch, EXISTS (SELECT 1 FROM gw_members m WHERE m.conv_id = c.conv_id AND m.user_id = \(s.senderUser))
            FROM gw_conversations c LEFT JOIN gw_log l ON l.conv_id = c.conv_id AND l.msg_id = \(s.msgID)
            WHERE c.conv_id = \(conv)
            """,
            format: .binary
        )
        guard let head = existing.first else { throw GatewayWireError(.notMember, "not a member of that conversation") }
        let (duplicateSeq, currentEpoch, member) = try head.decode((Int64?, Int64, Bool).self)
        guard member else { throw GatewayWireError(.notMember, "not a member of that conversation") }
        if let duplicateSeq { return Appended(seq: UInt64(duplicateSeq), epoch: UInt64(currentEpoch), duplicate: true) }

        let epoch = Int64(clamping: s.epoch)
        let slot: PostgresQueryResult
        switch s.kind {
        case .commit:
            // The compare-and-set: only a Commit built on the current epoch moves it on.
            slot = try await connection.query(
                """
                UPDATE gw_conversations SET epoch = epoch + 1, next_seq = next_seq + 1, group_info = \(s.groupInfo)
                WHERE conv_id = \(conv) AND epoch = \(epoch) RETURNING next_seq - 1, epoch
                """,
                format: .binary
            )
        default:
            slot = try await connection.query(
                "UPDATE gw_conversations SET next_seq = next_seq + 1 WHERE conv_id = \(conv) RETURNING next_seq - 1, epoch",
                format: .binary
            )
        }
        guard let assigned = slot.first else {
            // Lost the compare-and-set: report the epoch as it is now, not as first read.
            let now = try await connection.query("SELECT epoch FROM gw_conversations WHERE conv_id = \(conv)", format: .binary)
            throw Self.stale(try now.first?[0].decode(Int64.self) ?? currentEpoch)
        }
        let (seq, newEpoch) = try assigned.decode((Int64, Int64).self)
        switch s.kind {
        case .application:
            guard epoch <= newEpoch, epoch + Int64(self.pastEpochs) >= newEpoch else { throw Self.stale(newEpoch) }
        case .proposal:
            guard epoch == newEpoch else { throw Self.stale(newEpoch) }
        case .commit:
            try await self.applyMembership(s, seq: seq, on: connection)
        default:
            throw GatewayWireError(.badRequest, "kind must be application, proposal or commit")
        }
        var statements: [PostgresQuery] = [
            """
            INSERT INTO gw_log (conv_id, seq, msg_id, sender_device, kind, epoch, message, accepted_at_ms, origin_gateway)
            VALUES (\(conv), \(seq), \(s.msgID), \(s.senderDevice), \(Int16(s.kind.rawValue)), \(epoch), \(s.message),
                    \(Int64(clamping: nowMs)), \(self.gatewayID))
            """,
            "SELECT pg_notify(\(Self.channel), \(Self.notification(conv: conv, seq: UInt64(seq))))",
        ]
        if s.kind == .commit, !s.welcomeDevices.isEmpty {
            statements.append(
                """
                INSERT INTO gw_welcomes (device_id, conv_id, seq, welcome)
                SELECT d, \(conv), \(seq), \(s.welcome) FROM unnest(\(PostgresArray(s.welcomeDevices))) AS u(d)
                """
            )
        }
        _ = try await connection.pipeline(statements)
        return Appended(seq: UInt64(seq), epoch: UInt64(newEpoch), duplicate: false)
    }

    /// Membership follows a winning Commit; Welcome targets must be active devices of the added users.
    private func applyMembership(_ s: Submission, seq: Int64, on connection: PostgresConnection) async throws {
        let conv = s.convID
        if !s.addedUsers.isEmpty {
            let blockers = try await connection.query(
                """
                SELECT 1 FROM gw_blocks b
                WHERE (b.user_id IN (SELECT user_id FROM gw_members WHERE conv_id = \(conv)) AND b.blocked_user = ANY(\(PostgresArray(s.addedUsers))))
                   OR (b.user_id = ANY(\(PostgresArray(s.addedUsers))) AND b.blocked_user IN (SELECT user_id FROM gw_members WHERE conv_id = \(conv)))
                """
            )
            guard blockers.isEmpty else { throw GatewayWireError(.blocked, "a block forbids adding one of these users") }
        }
        if !s.welcomeDevices.isEmpty {
            let valid = try await connection.query(
                """
                SELECT count(*) FROM gw_devices
                WHERE device_id = ANY(\(PostgresArray(s.welcomeDevices))) AND user_id = ANY(\(PostgresArray(s.addedUsers))) AND revoked_at IS NULL
                """,
                format: .binary
            )
            guard try valid[0][0].decode(Int64.self) == Int64(Set(s.welcomeDevices).count),
                Set(s.welcomeDevices).count == s.welcomeDevices.count
            else {
                throw GatewayWireError(.badWelcome, "welcome_devices must be active devices of added_users")
            }
        }
        var statements: [PostgresQuery] = []
        if !s.removedUsers.isEmpty {
            statements.append(
                "DELETE FROM gw_members WHERE conv_id = \(conv) AND user_id = ANY(\(PostgresArray(s.removedUsers)))"
            )
            statements.append(
                """
                DELETE FROM gw_cursors c USING gw_devices d
                WHERE c.conv_id = \(conv) AND c.device_id = d.device_id AND d.user_id = ANY(\(PostgresArray(s.removedUsers)))
                """
            )
        }
        if !s.addedUsers.isEmpty {
            statements.append(
                """
                INSERT INTO gw_members (conv_id, user_id, joined_seq)
                SELECT \(conv), u, \(seq) FROM unnest(\(PostgresArray(s.addedUsers))) AS a(u)
                ON CONFLICT DO NOTHING
                """
            )
        }
        if !statements.isEmpty { _ = try await connection.pipeline(statements) }
    }

    static func stale(_ epoch: Int64) -> GatewayWireError {
        var error = GatewayWireError(.staleEpoch, "the conversation is at epoch \(epoch)")
        error.currentEpoch = UInt64(epoch)
        return error
    }

    /// `<conv_id hex>:<seq>`.
    public static func notification(conv: [UInt8], seq: UInt64) -> String {
        conv.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined() + ":\(seq)"
    }

    // MARK: Reads

    /// Log entries after `seq`, in order, at most `limit`.
    public func entries(convID: [UInt8], after seq: UInt64, limit: Int = 500) async throws -> [LogEntry] {
        let rows = try await self.database.query(
            """
            SELECT seq, msg_id, sender_device, kind, epoch, message, accepted_at_ms, origin_gateway FROM gw_log
            WHERE conv_id = \(convID) AND seq > \(Int64(clamping: seq)) ORDER BY seq LIMIT \(Int64(limit))
            """,
            format: .binary
        )
        return try rows.map { row in
            let (seq, msg, sender, kind, epoch, message, accepted, origin) = try row.decode(
                (Int64, [UInt8], [UInt8], Int16, Int64, [UInt8], Int64, String).self
            )
            return LogEntry(
                convID: convID,
                seq: UInt64(seq),
                msgID: msg,
                senderDevice: sender,
                kind: kind,
                epoch: UInt64(epoch),
                message: message,
                acceptedAtMs: UInt64(accepted),
                originGateway: origin
            )
        }
    }

    /// The conversations of a device's user with where the device reads from: its cursor, or
    /// the seq at which its user joined.
    public func cursors(deviceID: [UInt8], userID: [UInt8]) async throws -> [(convID: [UInt8], after: UInt64)] {
        let rows = try await self.database.query(
            """
            SELECT m.conv_id, greatest(coalesce(c.acked_seq, 0), m.joined_seq) FROM gw_members m
            LEFT JOIN gw_cursors c ON c.conv_id = m.conv_id AND c.device_id = \(deviceID)
            WHERE m.user_id = \(userID) ORDER BY m.conv_id
            """,
            format: .binary
        )
        return try rows.map { row in
            let (conv, after) = try row.decode(([UInt8], Int64).self)
            return (conv, UInt64(after))
        }
    }

    /// Moves a device's cursor forward (never back).
    public func ack(deviceID: [UInt8], convID: [UInt8], seq: UInt64) async throws {
        try await self.database.query(
            """
            INSERT INTO gw_cursors (device_id, conv_id, acked_seq) VALUES (\(deviceID), \(convID), \(Int64(clamping: seq)))
            ON CONFLICT (device_id, conv_id) DO UPDATE SET acked_seq = greatest(gw_cursors.acked_seq, excluded.acked_seq)
            """
        )
    }

    /// Members and epoch, or nil when `userID` is not a member.
    public func members(convID: [UInt8], asker userID: [UInt8]) async throws -> (users: [[UInt8]], epoch: UInt64)? {
        let rows = try await self.database.query(
            """
            SELECT m.user_id, c.epoch FROM gw_members m JOIN gw_conversations c ON c.conv_id = m.conv_id
            WHERE m.conv_id = \(convID) AND EXISTS (SELECT 1 FROM gw_members a WHERE a.conv_id = m.conv_id AND a.user_id = \(userID))
            ORDER BY m.user_id
            """,
            format: .binary
        )
        guard let first = rows.first else { return nil }
        return (try rows.map { try $0[0].decode([UInt8].self) }, UInt64(try first[1].decode(Int64.self)))
    }

    /// Welcomes waiting for a device.
    public func welcomes(deviceID: [UInt8]) async throws -> [(convID: [UInt8], seq: UInt64, welcome: [UInt8])] {
        let rows = try await self.database.query(
            "SELECT conv_id, seq, welcome FROM gw_welcomes WHERE device_id = \(deviceID) ORDER BY conv_id, seq",
            format: .binary
        )
        return try rows.map { row in
            let (conv, seq, welcome) = try row.decode(([UInt8], Int64, [UInt8]).self)
            return (conv, UInt64(seq), welcome)
        }
    }
}
