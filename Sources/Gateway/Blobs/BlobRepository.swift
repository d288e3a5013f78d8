package import GatewayWire
import Primitives
package import Store

/// The blobs' rows (`gw_blobs`): who uploaded each, its size and its expiry. The quota is
/// checked in the statement that records a blob, so concurrent uploads cannot pass it together.
package struct BlobRepository: Sendable {
    let database: PostgresClient

    package init(database: PostgresClient) {
        self.database = database
    }

    /// One blob as recorded.
    package struct Blob: Sendable {
        package var id: [UInt8]
        package var user: UserID
        package var device: DeviceID
        package var size: Int64
        package var createdMs: Int64
        package var expiresMs: Int64
    }

    static let columns = """
        blob_id, user_id, device_id, size, (extract(epoch FROM created_at) * 1000)::int8,
        (extract(epoch FROM expires_at) * 1000)::int8
        """

    static func blob(_ row: PostgresRow) throws -> Blob {
        let (id, user, device, size, created, expires) = try row.decode(([UInt8], UserID, DeviceID, Int64, Int64, Int64).self)
        return Blob(id: id, user: user, device: device, size: size, createdMs: created, expiresMs: expires)
    }

    /// What the outcome of recording an upload was.
    package enum Recorded: Sendable, Equatable {
        case stored
        /// The same bytes were stored already (by anyone): nothing changes.
        case existing
        /// The user's blobs would pass the quota.
        case overQuota(used: Int64)
    }

    /// Records a stored blob of `user`, unless the user's blobs would then pass `quota`.
    package func record(
        _ id: [UInt8],
        user: UserID,
        device: DeviceID,
        size: Int64,
        quota: Int64,
        retention: Duration
    ) async throws -> Recorded {
        let result = try await self.database.query(
            """
            INSERT INTO gw_blobs (blob_id, user_id, device_id, size, expires_at)
            SELECT \(id), \(user), \(device), \(size), now() + \(Int64(retention.milliseconds)) * interval '1 millisecond'
            WHERE (SELECT coalesce(sum(size), 0) FROM gw_blobs WHERE user_id = \(user)) + \(size) <= \(quota)
            ON CONFLICT (blob_id) DO NOTHING
            """
        )
        if result.affectedRows == 1 { return .stored }
        if try await self.blob(id) != nil { return .existing }
        return .overQuota(used: try await self.usage(of: user))
    }

    /// The bytes `user`'s blobs take.
    package func usage(of user: UserID) async throws -> Int64 {
        let rows = try await self.database.query(
            "SELECT coalesce(sum(size), 0)::int8 FROM gw_blobs WHERE user_id = \(user)",
            format: .binary
        )
        return try rows.first?.decode(Int64.self) ?? 0
    }

    /// Blob `id`, when recorded and not expired.
    package func blob(_ id: [UInt8]) async throws -> Blob? {
        let rows = try await self.database.query(
            "SELECT \(unescaped: Self.columns) FROM gw_blobs WHERE blob_id = \(id) AND expires_at > now()",
            format: .binary
        )
        return try rows.first.map(Self.blob)
    }

    /// Deletes blob `id`'s row (when `device` uploaded it, if given); the blob, or nil.
    package func delete(_ id: [UInt8], device: DeviceID? = nil) async throws -> Blob? {
        let rows =
            if let device {
                try await self.database.query(
                    "DELETE FROM gw_blobs WHERE blob_id = \(id) AND device_id = \(device) RETURNING \(unescaped: Self.columns)",
                    format: .binary
                )
            } else {
                try await self.database.query(
                    "DELETE FROM gw_blobs WHERE blob_id = \(id) RETURNING \(unescaped: Self.columns)",
                    format: .binary
                )
            }
        return try rows.first.map(Self.blob)
    }

    /// Deletes the rows of expired blobs; the blobs deleted.
    package func expire() async throws -> [Blob] {
        let rows = try await self.database.query(
            "DELETE FROM gw_blobs WHERE expires_at <= now() RETURNING \(unescaped: Self.columns)",
            format: .binary
        )
        return try rows.map(Self.blob)
    }

    /// Totals for gwctl: count, bytes, the oldest upload, and the users using most.
    package struct Statistics: Sendable {
        package var count: Int64
        package var bytes: Int64
        package var oldestMs: Int64?
        package var users: [(user: UserID, count: Int64, bytes: Int64)]
    }

    package func statistics(topUsers: Int = 20) async throws -> Statistics {
        let totals = try await self.database.query(
            """
            SELECT count(*)::int8, coalesce(sum(size), 0)::int8, (extract(epoch FROM min(created_at)) * 1000)::int8
            FROM gw_blobs
            """,
            format: .binary
        )
        let (count, bytes, oldest) = try totals[0].decode((Int64, Int64, Int64?).self)
        let users = try await self.database.query(
            """
            SELECT user_id, count(*)::int8, sum(size)::int8 FROM gw_blobs
            GROUP BY user_id ORDER BY sum(size) DESC, user_id LIMIT \(Int64(topUsers))
            """,
            format: .binary
        )
        return Statistics(
            count: count,
            bytes: bytes,
            oldestMs: oldest,
            users: try users.map { row in try row.decode((UserID, Int64, Int64).self) }.map { ($0.0, $0.1, $0.2) }
        )
    }
}
