package import GatewayWire
import Primitives
package import Store
import SwiftProtobuf

/// The Delivery Service's PostgreSQL state: devices, KeyPackages, conversations, their logs,
/// cursors and blocks. Every operation that must be atomic across daemons is one statement or
/// one transaction (docs/GATEWAY_SPEC.md §4–5).
package struct DeliveryRepository: Sendable {
    let database: PostgresClient
    /// This daemon's gateway id (`conv_home` of the conversations it creates).
    package let gatewayID: String
    /// Application messages are accepted this many epochs back.
    package let pastEpochs: UInt64
    /// Members a conversation may have (a Commit that would exceed it is refused).
    package let maxMembers: Int

    package init(database: PostgresClient, gatewayID: String, pastEpochs: UInt64 = 2, maxMembers: Int = 10_000) {
        self.database = database
        self.gatewayID = gatewayID
        self.pastEpochs = pastEpochs
        self.maxMembers = maxMembers
    }

    // MARK: Devices

    /// The device's state: nil when unknown.
    package enum DeviceState: Sendable, Hashable { case active(userID: UserID), revoked }

    package func device(_ deviceID: DeviceID) async throws -> DeviceState? {
        let rows = try await self.database.query(
            "SELECT user_id, revoked_at IS NOT NULL FROM gw_devices WHERE device_id = \(deviceID)",
            format: .binary
        )
        guard let row = rows.first else { return nil }
        let (user, revoked) = try row.decode((UserID, Bool).self)
        return revoked ? .revoked : .active(userID: user)
    }

    /// The stored device, with the certificate it registered with; nil when unknown.
    package func deviceRecord(_ deviceID: DeviceID) async throws -> DeviceRecord? {
        let rows = try await self.database.query(
            "SELECT user_id, certificate, revoked_at IS NOT NULL FROM gw_devices WHERE device_id = \(deviceID)",
            format: .binary
        )
        guard let row = rows.first else { return nil }
        let (user, certificate, revoked) = try row.decode((UserID, [UInt8], Bool).self)
        return DeviceRecord(deviceID: deviceID, userID: user, certificate: certificate, revoked: revoked)
    }

    /// Registers a device from its verified certificate; true when it was new. A new device is
    /// recorded in the audit ledger (`device.registered`) in the same statement, and starts
    /// reading its user's conversations at their ends: it holds no keys for what came before
    /// (it joins them by Welcome or external commit, and reads from there).
    ///
    /// - Parameter ip: the client's address (docs/GATEWAY_SPEC.md §2.4), for the ledger.
    @discardableResult
    package func register(_ certificate: VerifiedDeviceCertificate, ip: String) async throws -> Bool {
        let details = JSONText.object(Self.registrationDetails(certificate, ip: ip))
        let result = try await self.database.query(
            """
            WITH registered AS (
                INSERT INTO gw_devices (device_id, user_id, certificate, name)
                VALUES (\(certificate.deviceID), \(certificate.userID), \(try certificate.signed.serializedBytes() as [UInt8]), \(certificate.deviceName))
                ON CONFLICT (device_id) DO NOTHING RETURNING device_id
            ), starts AS (
                INSERT INTO gw_cursors (device_id, conv_id, acked_seq)
                SELECT r.device_id, c.conv_id, c.next_seq - 1
                FROM registered r, gw_members m JOIN gw_conversations c ON c.conv_id = m.conv_id
                WHERE m.user_id = \(certificate.userID) AND m.left_seq IS NULL
                ON CONFLICT (device_id, conv_id) DO NOTHING
            )
            INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
            SELECT \(self.gatewayID), 'device.registered', \(Hex.encode(certificate.userID)), \(Hex.encode(certificate.deviceID)), \(details)::jsonb
            FROM registered
            """
        )
        return result.affectedRows == 1
    }

    /// The details of a `device.registered` ledger event (stored and mirrored alike).
    package static func registrationDetails(_ certificate: VerifiedDeviceCertificate, ip: String) -> [String: String] {
        ["name": certificate.deviceName, "ip": ip]
    }

    /// Keeps a newer certificate a registered device presented (same user, still valid), so that
    /// resumes and KeyPackage checks use the one the device uses now.
    package func updateCertificate(_ certificate: VerifiedDeviceCertificate) async throws {
        let bytes: [UInt8] = try certificate.signed.serializedBytes()
        try await self.database.query(
            """
            UPDATE gw_devices SET certificate = \(bytes), name = \(certificate.deviceName)
            WHERE device_id = \(certificate.deviceID) AND user_id = \(certificate.userID) AND certificate <> \(bytes)
            """
        )
    }

    /// Revokes a device: it can no longer authenticate, and its connections on every daemon close
    /// with 4003. True when it was active.
    @discardableResult
    package func revoke(_ deviceID: DeviceID, by actor: String = "admin") async throws -> Bool {
        // One implicit transaction; the notification and the ledger row only when this call
        // revoked it (now() is the transaction's start, the time the UPDATE wrote).
        let results = try await self.database.pipeline([
            "UPDATE gw_devices SET revoked_at = now() WHERE device_id = \(deviceID) AND revoked_at IS NULL",
            """
            SELECT pg_notify(\(SessionSignal.channel), \(SessionSignal.revoked(deviceID: deviceID).payload))
            FROM gw_devices WHERE device_id = \(deviceID) AND revoked_at = now()
            """,
            """
            INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
            SELECT \(self.gatewayID), 'device.revoked', \(actor), \(Hex.encode(deviceID)), '{}'::jsonb
            FROM gw_devices WHERE device_id = \(deviceID) AND revoked_at = now()
            """,
        ])
        return results[0].affectedRows == 1
    }

    /// Which of `devices` are revoked, in the order given — among the devices of `asker` and of
    /// the users who share a conversation with it (anything else is left out).
    package func revokedDevices(_ devices: [DeviceID], asker: UserID) async throws -> [DeviceID] {
        guard !devices.isEmpty else { return [] }
        let rows = try await self.database.query(
            """
            SELECT d.device_id FROM unnest(\(PostgresArray(devices))) WITH ORDINALITY AS a(id, n)
            JOIN gw_devices d ON d.device_id = a.id
            WHERE d.revoked_at IS NOT NULL AND (d.user_id = \(asker) OR EXISTS (
                SELECT 1 FROM gw_members x JOIN gw_members y ON y.conv_id = x.conv_id
                WHERE x.user_id = \(asker) AND x.left_seq IS NULL AND y.user_id = d.user_id AND y.left_seq IS NULL))
            ORDER BY a.n
            """,
            format: .binary
        )
        return try rows.map { try $0[0].decode(DeviceID.self) }
    }

    /// A device's user and everyone who shares a conversation with that user (the user included):
    /// who is told when the device is revoked. Nil when the device is unknown.
    package func revocationAudience(of device: DeviceID) async throws -> (user: UserID, audience: Set<UserID>)? {
        let rows = try await self.database.query(
            """
            SELECT d.user_id, y.user_id FROM gw_devices d
            LEFT JOIN gw_members x ON x.user_id = d.user_id AND x.left_seq IS NULL
            LEFT JOIN gw_members y ON y.conv_id = x.conv_id AND y.left_seq IS NULL
            WHERE d.device_id = \(device)
            """,
            format: .binary
        )
        guard let first = rows.first else { return nil }
        let user = try first[0].decode(UserID.self)
        var audience: Set<UserID> = [user]
        for row in rows { if let other = try row[1].decode(UserID?.self) { audience.insert(other) } }
        return (user, audience)
    }

    // MARK: KeyPackages

    /// Stores validated one-time KeyPackages (and replaces the last-resort one when given).
    package func storeKeyPackages(
        deviceID: DeviceID,
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
    package func countKeyPackages(
        deviceID: DeviceID,
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
    package func claimKeyPackages(
        userID: UserID,
        cipherSuite: Int32,
        claimerDevice: DeviceID,
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
            let (device, bytes, lastResort) = try row.decode((DeviceID, [UInt8], Bool).self)
            return ClaimedKeyPackage(deviceID: device, keyPackage: bytes, lastResort: lastResort)
        }
    }

    /// Deletes KeyPackages whose lifetime ended before `nowMs` (they can never be handed out);
    /// returns how many.
    @discardableResult
    package func pruneExpiredKeyPackages(nowMs: Int64) async throws -> Int {
        try await self.database.query("DELETE FROM gw_key_packages WHERE expires_at_ms < \(nowMs)").affectedRows ?? 0
    }

    /// Every stored one-time KeyPackage of a device for a suite, expired or not (the per-device cap).
    package func storedKeyPackages(deviceID: DeviceID, cipherSuite: Int32) async throws -> Int {
        let rows = try await self.database.query(
            "SELECT count(*) FROM gw_key_packages WHERE device_id = \(deviceID) AND cipher_suite = \(cipherSuite) AND NOT last_resort",
            format: .binary
        )
        return Int(try rows[0][0].decode(Int64.self))
    }

    /// After a claim: the devices whose unexpired one-time packages for the suite are now below
    /// `threshold` are told so (``SessionSignal/keyPackagesLow(deviceID:cipherSuite:count:)``),
    /// and the claim is recorded in the audit ledger.
    package func afterClaim(
        _ claimed: [ClaimedKeyPackage],
        claimer: DeviceID,
        target: UserID,
        cipherSuite: Int32,
        threshold: Int,
        nowMs: Int64
    ) async throws {
        guard !claimed.isEmpty else { return }
        let devices = claimed.map(\.deviceID)
        let low = try await self.database.query(
            """
            SELECT d.device_id, count(k.id) FROM unnest(\(PostgresArray(devices))) AS d(device_id)
            LEFT JOIN gw_key_packages k ON k.device_id = d.device_id AND k.cipher_suite = \(cipherSuite) AND NOT k.last_resort
                 AND (k.expires_at_ms IS NULL OR k.expires_at_ms > \(nowMs))
            GROUP BY d.device_id HAVING count(k.id) < \(Int64(threshold))
            """,
            format: .binary
        )
        var statements: [PostgresQuery] = try low.map { row in
            let (device, count) = try row.decode((DeviceID, Int64).self)
            let signal = SessionSignal.keyPackagesLow(deviceID: device, cipherSuite: UInt32(cipherSuite), count: UInt32(count))
            return "SELECT pg_notify(\(SessionSignal.channel), \(signal.payload))"
        }
        statements.append(
            AuditLedger.insert(
                gatewayID: self.gatewayID,
                "keypackage.claimed",
                actor: Hex.encode(claimer),
                subject: Hex.encode(target),
                details: Self.claimDetails(claimed, cipherSuite: cipherSuite)
            )
        )
        _ = try await self.database.pipeline(statements)
    }

    /// The details of a `keypackage.claimed` ledger event (stored and mirrored alike).
    package static func claimDetails(_ claimed: [ClaimedKeyPackage], cipherSuite: Int32) -> [String: String] {
        [
            "cipher_suite": "\(cipherSuite)",
            "devices": claimed.map { Hex.encode($0.deviceID) + ($0.lastResort ? "(last_resort)" : "") }.joined(separator: ","),
        ]
    }

    /// The details of a `membership.changed` ledger event, as `gw_append` stores them (seq as
    /// text; added and removed users as comma-separated hex).
    package static func membershipDetails(seq: UInt64, added: [UserID], removed: [UserID]) -> [String: String] {
        [
            "seq": "\(seq)",
            "added": added.map { Hex.encode($0) }.joined(separator: ","),
            "removed": removed.map { Hex.encode($0) }.joined(separator: ","),
        ]
    }

    // MARK: Shared secrets

    /// A secret every daemon on this database shares (e.g. the resume-token key): the stored one,
    /// or `candidate` when there was none yet (two daemons racing agree on the first stored).
    package func sharedSecret(named name: String, candidate: [UInt8]) async throws -> [UInt8] {
        let rows = try await self.database.pipeline(
            [
                "INSERT INTO gw_secrets (name, value) VALUES (\(name), \(candidate)) ON CONFLICT (name) DO NOTHING",
                "SELECT value FROM gw_secrets WHERE name = \(name)",
            ],
            format: .binary
        )
        return try rows[1][0][0].decode([UInt8].self)
    }

    // MARK: Blocks

    package func setBlocked(user: UserID, blocked other: UserID, _ blocked: Bool) async throws {
        if blocked {
            try await self.database.query("INSERT INTO gw_blocks VALUES (\(user), \(other)) ON CONFLICT DO NOTHING")
        } else {
            try await self.database.query("DELETE FROM gw_blocks WHERE user_id = \(user) AND blocked_user = \(other)")
        }
    }

    /// The users `user` blocks, in id order.
    package func blockedUsers(of user: UserID) async throws -> [UserID] {
        try await self.database.query(
            "SELECT blocked_user FROM gw_blocks WHERE user_id = \(user) ORDER BY 1",
            format: .binary
        ).map { try $0[0].decode(UserID.self) }
    }

    /// Whether `user` blocked `other`.
    package func isBlocked(_ other: UserID, by user: UserID) async throws -> Bool {
        try await !self.database.query("SELECT 1 FROM gw_blocks WHERE user_id = \(user) AND blocked_user = \(other)").isEmpty
    }
}
