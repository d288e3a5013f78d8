public import GatewayWire
public import Store
import SwiftProtobuf

/// The Delivery Service's PostgreSQL state: devices, KeyPackages, conversations, their logs,
/// cursors and blocks. Every operation that must be atomic across daemons is one statement or
/// one transaction (docs/GATEWAY_SPEC.md §4–5).
public struct DeliveryRepository: Sendable {
    let database: PostgresClient
    /// This daemon's gateway id (`conv_home` of the conversations it creates).
    public let gatewayID: String
    /// Application messages are accepted this many epochs back.
    public let pastEpochs: UInt64

    public init(database: PostgresClient, gatewayID: String, pastEpochs: UInt64 = 2) {
        self.database = database
        self.gatewayID = gatewayID
        self.pastEpochs = pastEpochs
    }

    // MARK: Devices

    /// The device's state: nil when unknown.
    public enum DeviceState: Sendable, Hashable { case active(userID: [UInt8]), revoked }

    public func device(_ deviceID: [UInt8]) async throws -> DeviceState? {
        let rows = try await self.database.query(
            "SELECT user_id, revoked_at IS NOT NULL FROM gw_devices WHERE device_id = \(deviceID)",
            format: .binary
        )
        guard let row = rows.first else { return nil }
        let (user, revoked) = try row.decode(([UInt8], Bool).self)
        return revoked ? .revoked : .active(userID: user)
    }

    /// Registers a device from its verified certificate; true when it was new.
    @discardableResult
    public func register(_ certificate: VerifiedDeviceCertificate) async throws -> Bool {
        let result = try await self.database.query(
            """
            INSERT INTO gw_devices (device_id, user_id, certificate, name)
            VALUES (\(certificate.deviceID), \(certificate.userID), \(try certificate.signed.serializedBytes() as [UInt8]), \(certificate.deviceName))
            ON CONFLICT (device_id) DO NOTHING
            """
        )
        return result.affectedRows == 1
    }

    public func revoke(_ deviceID: [UInt8]) async throws {
        try await self.database.query(
            "UPDATE gw_devices SET revoked_at = now() WHERE device_id = \(deviceID) AND revoked_at IS NULL"
        )
    }

    // MARK: KeyPackages

    /// Stores validated one-time KeyPackages (and replaces the last-resort one when given).
    public func storeKeyPackages(
        deviceID: [UInt8],
        cipherSuite: Int32,
        oneTime: [(bytes: [UInt8], expiresAtMs: Int64?)],
        lastResort: (bytes: [UInt8], expiresAtMs: Int64?)?
    ) async throws {
        var statements: [PostgresQuery] = []
        if !oneTime.isEmpty {
            statements.append(
                """
                INSERT INTO gw_key_packages (device_id, cipher_suite, key_package, expires_at_ms)
                SELECT \(deviceID), \(cipherSuite), k, e FROM unnest(\(PostgresArray(oneTime.map(\.bytes))), \(PostgresArray(oneTime.map(\.expiresAtMs)))) AS u(k, e)
                """
            )
        }
        if let lastResort {
            statements.append(
                """
                INSERT INTO gw_key_packages (device_id, cipher_suite, key_package, expires_at_ms, last_resort)
                VALUES (\(deviceID), \(cipherSuite), \(lastResort.bytes), \(lastResort.expiresAtMs), true)
                ON CONFLICT (device_id, cipher_suite) WHERE last_resort
                DO UPDATE SET key_package = excluded.key_package, expires_at_ms = excluded.expires_at_ms
                """
            )
        }
        guard !statements.isEmpty else { return }
        _ = try await self.database.pipeline(statements)
    }

    /// Unclaimed, unexpired one-time KeyPackages of a device, and whether it has a last resort.
    public func countKeyPackages(
        deviceID: [UInt8],
        cipherSuite: Int32,
        nowMs: Int64
    ) async throws -> (count: Int, lastResort: Bool) {
        let rows = try await self.database.query(
            """
            SELECT count(*) FILTER (WHERE NOT last_resort AND (expires_at_ms IS NULL OR expires_at_ms > \(nowMs))),
                   bool_or(last_resort) IS TRUE
            FROM gw_key_packages WHERE device_id = \(deviceID) AND cipher_suite = \(cipherSuite)
            """,
            format: .binary
        )
        let (count, lastResort) = try rows[0].decode((Int64, Bool).self)
        return (Int(count), lastResort)
    }

    /// One KeyPackage per active device of `userID` (not `claimerDevice`), in one statement:
    /// each one-time package is deleted as it is handed out (`FOR UPDATE SKIP LOCKED`, so two
    /// concurrent claims never get the same one); a device without one gives its last-resort
    /// package, which stays.
    public func claimKeyPackages(
        userID: [UInt8],
        cipherSuite: Int32,
        claimerDevice: [UInt8],
        nowMs: Int64
    ) async throws -> [ClaimedKeyPackage] {
        let rows = try await self.database.query(
            """
            WITH devices AS (
                SELECT device_id FROM gw_devices
                WHERE user_id = \(userID) AND revoked_at IS NULL AND device_id <> \(claimerDevice)
            ), claimed AS (
                DELETE FROM gw_key_packages WHERE id IN (
                    SELECT (SELECT k.id FROM gw_key_packages k
                            WHERE k.device_id = d.device_id AND k.cipher_suite = \(cipherSuite) AND NOT k.last_resort
                              AND (k.expires_at_ms IS NULL OR k.expires_at_ms > \(nowMs))
                            ORDER BY k.id LIMIT 1 FOR UPDATE SKIP LOCKED)
                    FROM devices d)
                RETURNING device_id, key_package
            )
            SELECT device_id, key_package, false FROM claimed
            UNION ALL
            SELECT k.device_id, k.key_package, true FROM gw_key_packages k JOIN devices d ON d.device_id = k.device_id
            WHERE k.cipher_suite = \(cipherSuite) AND k.last_resort
              AND (k.expires_at_ms IS NULL OR k.expires_at_ms > \(nowMs))
              AND NOT EXISTS (SELECT 1 FROM claimed c WHERE c.device_id = k.device_id)
            """,
            format: .binary
        )
        return try rows.map { row in
            let (device, bytes, lastResort) = try row.decode(([UInt8], [UInt8], Bool).self)
            return ClaimedKeyPackage(deviceID: device, keyPackage: bytes, lastResort: lastResort)
        }
    }

    // MARK: Blocks

    public func setBlocked(user: [UInt8], blocked other: [UInt8], _ blocked: Bool) async throws {
        if blocked {
            try await self.database.query("INSERT INTO gw_blocks VALUES (\(user), \(other)) ON CONFLICT DO NOTHING")
        } else {
            try await self.database.query("DELETE FROM gw_blocks WHERE user_id = \(user) AND blocked_user = \(other)")
        }
    }

    /// Whether `user` blocked `other`.
    public func isBlocked(_ other: [UInt8], by user: [UInt8]) async throws -> Bool {
        try await !self.database.query("SELECT 1 FROM gw_blocks WHERE user_id = \(user) AND blocked_user = \(other)").isEmpty
    }
}
