package import GatewayWire
import Primitives
package import Store

/// Conversations: creation, the append transaction (gap-free seq, msg_id idempotency, epoch
/// compare-and-set for Commits, membership and Welcomes of the winner), reads and cursors.
///
/// A member is a `gw_members` row with `left_seq IS NULL`. A removed user keeps its row with
/// `left_seq` = the removing Commit's seq, so its devices still read up to that Commit.
extension DeliveryRepository {
    /// The NOTIFY channel that announces appends to every daemon.
    package static let channel = AppendSignal.channel

    /// Creates a conversation at epoch 0 with `creator` as its only member.
    package func createConversation(convID: ConversationID, creator: UserID, groupInfo: [UInt8]) async throws(GatewayWireError) {
        do {
            _ = try await self.database.pipeline([
                """
                INSERT INTO gw_conversations (conv_id, conv_home, group_info, created_by)
                VALUES (\(convID), \(self.gatewayID), \(groupInfo), \(creator))
                """,
                "INSERT INTO gw_members (conv_id, user_id, joined_seq) VALUES (\(convID), \(creator), 0)",
                "SELECT pg_notify(\(SessionSignal.channel), \(SessionSignal.membership(userID: creator).payload))",
                AuditLedger.insert(
                    gatewayID: self.gatewayID,
                    "conversation.created",
                    actor: Hex.encode(creator),
                    subject: Hex.encode(convID)
                ),
            ])
        } catch let error as PostgresError where error.sqlState == "23505" {
            throw GatewayWireError(.conversationExists, "a conversation with that id exists")
        } catch {
            throw GatewayWireError(.unavailable, "the database did not answer")
        }
    }

    /// Appends one message (docs/GATEWAY_SPEC.md §4.2, Send): a batch of one. Durable when it
    /// returns.
    ///
    /// - Throws: ``GatewayWireError`` with `not_member`, `stale_epoch` (with the current epoch),
    ///   `bad_welcome`, `blocked`, `bad_request`, `too_large`; ``PostgresError`` when the
    ///   database fails.
    package func append(_ s: Submission, nowMs: UInt64) async throws -> Appended {
        var submission = s
        submission.acceptedAtMs = nowMs
        return try await self.append(batch: [submission])[0].get()
    }

    /// Appends a batch of Sends in one statement and one transaction (ADR 0019, group commit):
    /// `gw_append_batch` (Functions/gw_append.sql) checks each item and appends those it does not
    /// refuse — the msg_id check, the seq and, for a Commit, the compare-and-set on the epoch,
    /// the epoch windows, membership, blocks and Welcome targets, the log entry, the audit row
    /// and a Commit's `polygate_session` NOTIFYs. Durable when it returns. Items are applied
    /// ordered by conversation, each conversation's in the order given (so every batch locks
    /// conversation rows in one order, and batches cannot deadlock each other); the appends are
    /// announced to other daemons after they commit (``announce(appends:)``).
    ///
    /// - Returns: one result per submission, in the order given: the append, or the refusal
    ///   (`not_member`, `stale_epoch` with the current epoch, `bad_welcome`, `blocked`,
    ///   `bad_request`, `too_large`), which never affects the other items.
    /// - Throws: ``PostgresError`` when the database fails; then nothing of the batch is known
    ///   to be appended (a client's retry with the same msg_id learns the outcome).
    package func append(batch: [Submission]) async throws -> [Result<Appended, GatewayWireError>] {
        guard !batch.isEmpty else { return [] }
        let order = batch.indices.sorted { a, b in
            let (x, y) = (batch[a].convID, batch[b].convID)
            return x < y || (x == y && a < b)
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let sorted = try await self.appendOrdered(order.map { batch[$0] })
                var results = [Result<Appended, GatewayWireError>](
                    repeating: .failure(GatewayWireError(.internal, "")),
                    count: batch.count
                )
                for (position, index) in order.enumerated() { results[index] = sorted[position] }
                return results
            } catch let error as PostgresError where error.sqlState == "40P01" || error.sqlState == "40001" {
                // Another transaction locked rows in another order: try again.
                if attempt < 3 { continue }
                throw error
            } catch let error as PostgresError where batch.count > 1 && Self.refusedByServer(error) {
                // An error no check foresaw: run the items one by one, so that it ends only the
                // item that causes it.
                var results: [Result<Appended, GatewayWireError>] = []
                for item in batch {
                    do {
                        results.append(try await self.appendOrdered([item])[0])
                    } catch let single as PostgresError where Self.refusedByServer(single) {
                        results.append(.failure(GatewayWireError(.internal, "the database refused this message")))
                    }
                }
                return results
            }
        }
    }

    /// The server refused the statement (a SQLSTATE, and not one of class 08, a lost connection).
    static func refusedByServer(_ error: PostgresError) -> Bool {
        guard let state = error.sqlState else { return false }
        return !state.hasPrefix("08")
    }

    /// One `gw_append_batch` statement over `items`, in this order.
    private func appendOrdered(_ items: [Submission]) async throws -> [Result<Appended, GatewayWireError>] {
        var added: [UserID] = []
        var removed: [UserID] = []
        var welcomed: [DeviceID] = []
        for item in items where item.kind == .commit {
            added += item.addedUsers
            removed += item.removedUsers
            welcomed += item.welcomeDevices
        }
        let commit = { (item: Submission) in item.kind == .commit }
        let statement: PostgresQuery = """
            SELECT o_item, o_seq, o_epoch, o_duplicate, o_conv_home, o_code, o_detail FROM gw_append_batch(
                \(PostgresArray(items.map(\.convID))), \(PostgresArray(items.map(\.msgID))),
                \(PostgresArray(items.map(\.senderUser))), \(PostgresArray(items.map(\.senderDevice))),
                \(PostgresArray(items.map { Int16(clamping: $0.kind.rawValue) })), \(PostgresArray(items.map { Int64(clamping: $0.epoch) })),
                \(PostgresArray(items.map(\.message))), \(PostgresArray(items.map { Int64(clamping: $0.acceptedAtMs) })),
                \(self.gatewayID), \(Int64(clamping: self.pastEpochs)), \(Int64(self.maxMembers)),
                \(PostgresArray(added)), \(PostgresArray(items.map { Int32(commit($0) ? $0.addedUsers.count : 0) })),
                \(PostgresArray(removed)), \(PostgresArray(items.map { Int32(commit($0) ? $0.removedUsers.count : 0) })),
                \(PostgresArray(welcomed)), \(PostgresArray(items.map { Int32(commit($0) ? $0.welcomeDevices.count : 0) })),
                \(PostgresArray(items.map { commit($0) ? $0.welcome : [] })), \(PostgresArray(items.map { commit($0) ? $0.groupInfo : [] })))
            """
        let rows = try await self.database.query(statement, format: .binary)
        guard rows.count == items.count else {
            throw PostgresError(
                code: .protocolViolation,
                message: "gw_append_batch answered \(rows.count) rows for \(items.count) items"
            )
        }
        return try rows.enumerated().map { position, row throws -> Result<Appended, GatewayWireError> in
            let index = Int(try row[0].decode(Int32.self)) - 1
            guard index == position else {
                throw PostgresError(
                    code: .protocolViolation,
                    message: "gw_append_batch answered item \(index + 1) in place \(position + 1)"
                )
            }
            if let code = try row[5].decode(String?.self) {
                return .failure(self.refusal(code, detail: try row[6].decode(String?.self), commit: commit(items[index])))
            }
            let (seq, epoch, duplicate, home) = try (
                row[1].decode(Int64.self), row[2].decode(Int64.self), row[3].decode(Bool.self), row[4].decode(String.self)
            )
            return .success(Appended(seq: UInt64(seq), epoch: UInt64(epoch), duplicate: duplicate, convHome: home))
        }
    }

    /// The wire error for a `gw_append_item` code.
    func refusal(_ code: String, detail: String?, commit: Bool) -> GatewayWireError {
        switch code {
        case "GW001": GatewayWireError(.notMember, "not a member of that conversation")
        case "GW002": Self.stale(Int64(detail ?? "") ?? 0)
        case "GW003": GatewayWireError(.badWelcome, "welcome_devices must be active devices of added_users or of members")
        case "GW004":
            GatewayWireError(
                .blocked,
                commit
                    ? "a block forbids adding one of these users"
                    : "a block stands between you and the other member of this conversation"
            )
        case "GW005": GatewayWireError(.badRequest, "kind must be application, proposal or commit")
        case "GW006": GatewayWireError(.badRequest, "added_users must be users with an active device")
        case "GW007": GatewayWireError(.tooLarge, "a conversation has at most \(self.maxMembers) members")
        default: GatewayWireError(.internal, "the database refused this message")
        }
    }

    /// Announces committed appends (`conv:seq` payloads) on `polygate_conv`: one statement and
    /// one commit for all of them (ADR 0019).
    func announce(appends payloads: [String]) async throws {
        guard !payloads.isEmpty else { return }
        _ = try await self.database.query(
            "SELECT pg_notify(\(AppendSignal.channel), p) FROM unnest(string_to_array(\(payloads.joined(separator: ",")), ',')) AS p"
        )
    }

    static func stale(_ epoch: Int64) -> GatewayWireError {
        var error = GatewayWireError(.staleEpoch, "the conversation is at epoch \(epoch)")
        error.currentEpoch = UInt64(epoch)
        return error
    }

    /// `<conv_id hex>:<seq>`.
    package static func notification(conv: ConversationID, seq: UInt64) -> String {
        AppendSignal(convID: conv, seq: seq).payload
    }

    // MARK: Reads

    /// Log entries after `seq`, in order, at most `limit` (and none after `until`).
    package func entries(
        convID: ConversationID,
        after seq: UInt64,
        until: UInt64? = nil,
        limit: Int = 500
    ) async throws -> [LogEntry] {
        try await self.page(convID: convID, after: seq, until: until, limit: limit)?.entries ?? []
    }

    /// A page of a conversation's log with its bounds, in one query.
    package struct LogPage: Sendable, Hashable {
        /// Entries after the requested seq, in order.
        package var entries: [LogEntry]
        /// The oldest seq still kept (`newest + 1` when the log is empty).
        package var oldest: UInt64
        /// The newest seq.
        package var newest: UInt64
    }

    /// Entries after `seq` (none after `until`, at most `limit`) and the log's bounds; nil when
    /// there is no such conversation.
    package func page(convID: ConversationID, after seq: UInt64, until: UInt64? = nil, limit: Int = 500) async throws -> LogPage?
    {
        let last = Int64(clamping: until ?? UInt64(Int64.max))
        let rows = try await self.database.query(
            "SELECT * FROM gw_page(\(convID), \(Int64(clamping: seq)), \(last), \(Int64(limit)))",
            format: .binary
        )
        guard let first = rows.first else { return nil }
        let (newest, oldest, home) = try (first[0].decode(Int64.self), first[1].decode(Int64.self), first[2].decode(String.self))
        var entries: [LogEntry] = []
        for row in rows {
            guard let seq = try row[3].decode(Int64?.self) else { continue }
            let (msg, sender, kind, epoch, message, accepted, origin) = try (
                row[4].decode(MessageID.self), row[5].decode(DeviceID.self), row[6].decode(Int16.self), row[7].decode(Int64.self),
                row[8].decode([UInt8].self), row[9].decode(Int64.self), row[10].decode(String.self)
            )
            entries.append(
                LogEntry(
                    convID: convID,
                    seq: UInt64(seq),
                    msgID: msg,
                    senderDevice: sender,
                    kind: kind,
                    epoch: UInt64(epoch),
                    message: message,
                    acceptedAtMs: UInt64(accepted),
                    originGateway: origin,
                    convHome: home,
                    addedUsers: try row[11].decode(PostgresArray<[UInt8]>.self).elements.compactMap { $0.map(UserID.init) },
                    removedUsers: try row[12].decode(PostgresArray<[UInt8]>.self).elements.compactMap { $0.map(UserID.init) }
                )
            )
        }
        return LogPage(entries: entries, oldest: UInt64(oldest), newest: UInt64(max(newest, 0)))
    }

    /// The newest seq of each of `convs` that exists.
    package func newest(of convs: [ConversationID]) async throws -> [ConversationID: UInt64] {
        guard !convs.isEmpty else { return [:] }
        let rows = try await self.database.query(
            "SELECT conv_id, next_seq - 1 FROM gw_conversations WHERE conv_id = ANY(\(PostgresArray(convs)))",
            format: .binary
        )
        var newest: [ConversationID: UInt64] = [:]
        for row in rows {
            let (conv, seq) = try row.decode((ConversationID, Int64).self)
            newest[conv] = UInt64(max(seq, 0))
        }
        return newest
    }

    /// The conversations a device reads, with where it reads from: its cursor or the seq at
    /// which its user joined, whichever is later; for a removed user, up to the removing Commit
    /// while the cursor is before it.
    package func readPositions(deviceID: DeviceID, userID: UserID) async throws -> [ReadPosition] {
        let rows = try await self.database.query(
            """
            SELECT m.conv_id, greatest(coalesce(c.acked_seq, 0), m.joined_seq), m.left_seq FROM gw_members m
            LEFT JOIN gw_cursors c ON c.conv_id = m.conv_id AND c.device_id = \(deviceID)
            WHERE m.user_id = \(userID) AND (m.left_seq IS NULL OR greatest(coalesce(c.acked_seq, 0), m.joined_seq) < m.left_seq)
            ORDER BY m.conv_id
            """,
            format: .binary
        )
        return try rows.map { row in
            let (conv, after, until) = try row.decode((ConversationID, Int64, Int64?).self)
            return ReadPosition(convID: conv, after: UInt64(after), until: until.map(UInt64.init))
        }
    }

    /// The conversations of a device's user with where the device reads from (see
    /// ``readPositions(deviceID:userID:)``).
    package func cursors(deviceID: DeviceID, userID: UserID) async throws -> [(convID: ConversationID, after: UInt64)] {
        try await self.readPositions(deviceID: deviceID, userID: userID).map { ($0.convID, $0.after) }
    }

    /// Moves a device's cursor forward (never back, never past the log's end) and drops the
    /// device's Welcomes that the cursor passed. The user must read the conversation.
    ///
    /// - Throws: ``GatewayWireError`` `not_member`.
    package func ack(deviceID: DeviceID, userID: UserID, convID: ConversationID, seq: UInt64) async throws {
        let results = try await self.database.pipeline([
            """
            INSERT INTO gw_cursors (device_id, conv_id, acked_seq)
            SELECT \(deviceID), c.conv_id, least(\(Int64(clamping: seq)), c.next_seq - 1, coalesce(m.left_seq, c.next_seq - 1))
            FROM gw_conversations c JOIN gw_members m ON m.conv_id = c.conv_id AND m.user_id = \(userID)
            WHERE c.conv_id = \(convID)
            ON CONFLICT (device_id, conv_id) DO UPDATE SET acked_seq = greatest(gw_cursors.acked_seq, excluded.acked_seq)
            """,
            """
            DELETE FROM gw_welcomes w USING gw_cursors c
            WHERE w.device_id = \(deviceID) AND w.conv_id = \(convID)
              AND c.device_id = w.device_id AND c.conv_id = w.conv_id AND w.seq <= c.acked_seq
            """,
        ])
        guard results[0].affectedRows == 1 else { throw GatewayWireError(.notMember, "not a member of that conversation") }
    }

    /// Moves a device's cursor forward (never back), without checks (tests and tools).
    package func ack(deviceID: DeviceID, convID: ConversationID, seq: UInt64) async throws {
        try await self.database.query(
            """
            INSERT INTO gw_cursors (device_id, conv_id, acked_seq) VALUES (\(deviceID), \(convID), \(Int64(clamping: seq)))
            ON CONFLICT (device_id, conv_id) DO UPDATE SET acked_seq = greatest(gw_cursors.acked_seq, excluded.acked_seq)
            """
        )
    }

    /// Members, epoch and home, or nil when `userID` is not a member.
    package func members(convID: ConversationID, asker userID: UserID) async throws -> (users: [UserID], epoch: UInt64)? {
        try await self.conversation(convID: convID, asker: userID).map { ($0.members, $0.epoch) }
    }

    /// What a member may know of a conversation.
    package struct ConversationView: Sendable, Hashable {
        package var members: [UserID]
        package var epoch: UInt64
        package var convHome: String
        package var groupInfo: [UInt8]
    }

    /// The conversation as `userID` may see it, or nil when `userID` is not a member.
    package func conversation(convID: ConversationID, asker userID: UserID) async throws -> ConversationView? {
        let rows = try await self.database.query(
            """
            SELECT m.user_id, c.epoch, c.conv_home, c.group_info
            FROM gw_members m JOIN gw_conversations c ON c.conv_id = m.conv_id
            WHERE m.conv_id = \(convID) AND m.left_seq IS NULL
              AND EXISTS (SELECT 1 FROM gw_members a WHERE a.conv_id = m.conv_id AND a.user_id = \(userID) AND a.left_seq IS NULL)
            ORDER BY m.user_id
            """,
            format: .binary
        )
        guard let first = rows.first else { return nil }
        let (epoch, home, groupInfo) = try (
            first[1].decode(Int64.self), first[2].decode(String.self), first[3].decode([UInt8].self)
        )
        return ConversationView(
            members: try rows.map { try $0[0].decode(UserID.self) },
            epoch: UInt64(epoch),
            convHome: home,
            groupInfo: groupInfo
        )
    }

    /// Welcomes waiting for a device (dropped once its cursor passes them).
    package func welcomes(deviceID: DeviceID) async throws -> [(convID: ConversationID, seq: UInt64, welcome: [UInt8])] {
        let rows = try await self.database.query(
            "SELECT conv_id, seq, welcome FROM gw_welcomes WHERE device_id = \(deviceID) ORDER BY conv_id, seq",
            format: .binary
        )
        return try rows.map { row in
            let (conv, seq, welcome) = try row.decode((ConversationID, Int64, [UInt8]).self)
            return (conv, UInt64(seq), welcome)
        }
    }

    /// Deletes log entries accepted before `cutoffMs` (retention); returns how many.
    @discardableResult
    package func prune(acceptedBefore cutoffMs: UInt64) async throws -> Int {
        try await self.database.query("DELETE FROM gw_log WHERE accepted_at_ms < \(Int64(clamping: cutoffMs))").affectedRows ?? 0
    }
}
