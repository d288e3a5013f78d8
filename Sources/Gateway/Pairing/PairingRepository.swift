package import GatewayWire
import Primitives
package import Store

/// The pairings of docs/GATEWAY_SPEC.md §12 in PostgreSQL (`gw_pairings`), so that any daemon
/// answers any step. Every change of state is one conditional `UPDATE`: a pairing is claimed
/// once, sealed once, collected once, whatever races.
package struct PairingRepository: Sendable {
    let database: PostgresClient

    package init(database: PostgresClient) {
        self.database = database
    }

    /// The states a pairing goes through (docs/GATEWAY_SPEC.md §12.2).
    package enum State: String, Sendable, CaseIterable {
        case open, claimed, sealed, completed, failed, expired, cancelled

        /// Whether the pairing can still go on.
        package var isLive: Bool { self == .open || self == .claimed || self == .sealed }
    }

    /// One pairing as stored.
    package struct Pairing: Sendable {
        package var id: [UInt8]
        package var user: UserID
        package var device: DeviceID
        package var sessionNonce: [UInt8]
        package var initiatorShare: [UInt8]
        package var state: State
        package var createdMs: Int64
        package var expiresMs: Int64
        package var claimedIP: String?
        package var responderShare: [UInt8]?
        package var responderConfirmation: [UInt8]?
        package var initiatorConfirmation: [UInt8]?
        package var sealedIdentity: [UInt8]?
        package var claimTokenHash: [UInt8]?
    }

    static let columns = """
        pairing_id, user_id, device_id, session_nonce, initiator_share, state,
        (extract(epoch FROM created_at) * 1000)::int8, (extract(epoch FROM expires_at) * 1000)::int8,
        claimed_ip, responder_share, responder_confirmation, initiator_confirmation, sealed_identity, claim_token_hash
        """

    static func pairing(_ row: PostgresRow) throws -> Pairing {
        let (
            id, user, device, nonce, share, state, created, expires, ip, responderShare, responderConfirmation,
            initiatorConfirmation, sealed, token
        ) =
            try row.decode(
                (
                    [UInt8], UserID, DeviceID, [UInt8], [UInt8], String, Int64, Int64, String?, [UInt8]?, [UInt8]?, [UInt8]?,
                    [UInt8]?, [UInt8]?
                ).self
            )
        return Pairing(
            id: id,
            user: user,
            device: device,
            sessionNonce: nonce,
            initiatorShare: share,
            state: State(rawValue: state) ?? .failed,
            createdMs: created,
            expiresMs: expires,
            claimedIP: ip,
            responderShare: responderShare,
            responderConfirmation: responderConfirmation,
            initiatorConfirmation: initiatorConfirmation,
            sealedIdentity: sealed,
            claimTokenHash: token
        )
    }

    /// A new open pairing with a fresh id, living `ttl`.
    package func create(user: UserID, device: DeviceID, share: [UInt8], nonce: [UInt8], ttl: Duration) async throws -> Pairing {
        for _ in 0..<8 {
            let id = SecureRandom.bytes(count: PairingCode.halfBytes)
            let rows = try await self.database.query(
                """
                INSERT INTO gw_pairings (pairing_id, user_id, device_id, session_nonce, initiator_share, expires_at)
                VALUES (\(id), \(user), \(device), \(nonce), \(share),
                        now() + \(Int64(ttl.milliseconds)) * interval '1 millisecond')
                ON CONFLICT (pairing_id) DO NOTHING
                RETURNING \(unescaped: Self.columns)
                """,
                format: .binary
            )
            if let row = rows.first { return try Self.pairing(row) }
        }
        throw GatewayWireError(.unavailable, "no free pairing id: try again")
    }

    /// The pairing `id`, in any state (an ended one until it is pruned).
    package func pairing(_ id: [UInt8]) async throws -> Pairing? {
        let rows = try await self.database.query(
            "SELECT \(unescaped: Self.columns) FROM gw_pairings WHERE pairing_id = \(id)",
            format: .binary
        )
        return try rows.first.map(Self.pairing)
    }

    /// Claims an open, unexpired pairing for the new device; false when it is not (any more).
    package func claim(
        _ id: [UInt8],
        share: [UInt8],
        confirmation: [UInt8],
        tokenHash: [UInt8],
        ip: String
    ) async throws -> Bool {
        let result = try await self.database.query(
            """
            UPDATE gw_pairings SET state = 'claimed', responder_share = \(share), responder_confirmation = \(confirmation),
                claim_token_hash = \(tokenHash), claimed_ip = \(ip)
            WHERE pairing_id = \(id) AND state = 'open' AND expires_at > now()
            """
        )
        return result.affectedRows == 1
    }

    /// The old device's answer to a claim: the sealed identity (`accept`), or the end of the
    /// pairing (a confirmation that did not verify). False when the pairing is not claimed by
    /// `user`'s pairing any more (expired, cancelled, answered).
    package func answer(
        _ id: [UInt8],
        user: UserID,
        accept: Bool,
        confirmation: [UInt8],
        sealed: [UInt8]
    ) async throws -> Bool {
        let result =
            accept
            ? try await self.database.query(
                """
                UPDATE gw_pairings SET state = 'sealed', initiator_confirmation = \(confirmation), sealed_identity = \(sealed)
                WHERE pairing_id = \(id) AND user_id = \(user) AND state = 'claimed' AND expires_at > now()
                """
            )
            : try await self.database.query(
                """
                UPDATE gw_pairings SET state = 'failed', ended_at = now()
                WHERE pairing_id = \(id) AND user_id = \(user) AND state = 'claimed'
                """
            )
        return result.affectedRows == 1
    }

    /// Hands the sealed identity to the new device that claimed the pairing (its token's hash)
    /// and ends it: the ciphertext is dropped in the same statement. Nil when not sealed.
    package func collect(_ id: [UInt8], tokenHash: [UInt8]) async throws -> (confirmation: [UInt8], sealed: [UInt8])? {
        let rows = try await self.database.query(
            """
            WITH p AS (
                SELECT pairing_id, initiator_confirmation, sealed_identity FROM gw_pairings
                WHERE pairing_id = \(id) AND claim_token_hash = \(tokenHash) AND state = 'sealed' AND expires_at > now()
                FOR UPDATE
            )
            UPDATE gw_pairings g SET state = 'completed', ended_at = now(), sealed_identity = NULL
            FROM p WHERE g.pairing_id = p.pairing_id
            RETURNING p.initiator_confirmation, p.sealed_identity
            """,
            format: .binary
        )
        guard let row = rows.first else { return nil }
        let (confirmation, sealed) = try row.decode(([UInt8], [UInt8]).self)
        return (confirmation, sealed)
    }

    /// Cancels a live pairing (its user's, when `user` is given); the pairing as it was, or nil.
    package func cancel(_ id: [UInt8], user: UserID? = nil) async throws -> Pairing? {
        let rows =
            if let user {
                try await self.database.query(
                    """
                    UPDATE gw_pairings SET state = 'cancelled', ended_at = now(), sealed_identity = NULL
                    WHERE pairing_id = \(id) AND user_id = \(user) AND state IN ('open', 'claimed', 'sealed')
                    RETURNING \(unescaped: Self.columns)
                    """,
                    format: .binary
                )
            } else {
                try await self.database.query(
                    """
                    UPDATE gw_pairings SET state = 'cancelled', ended_at = now(), sealed_identity = NULL
                    WHERE pairing_id = \(id) AND state IN ('open', 'claimed', 'sealed')
                    RETURNING \(unescaped: Self.columns)
                    """,
                    format: .binary
                )
            }
        return try rows.first.map(Self.pairing)
    }

    /// Ends the live pairings whose time is up; the ones it ended.
    package func expire() async throws -> [Pairing] {
        let rows = try await self.database.query(
            """
            UPDATE gw_pairings SET state = 'expired', ended_at = now(), sealed_identity = NULL
            WHERE state IN ('open', 'claimed', 'sealed') AND expires_at <= now()
            RETURNING \(unescaped: Self.columns)
            """,
            format: .binary
        )
        return try rows.map(Self.pairing)
    }

    /// Deletes pairings that ended more than a day ago.
    @discardableResult
    package func prune() async throws -> Int {
        try await self.database.query("DELETE FROM gw_pairings WHERE expires_at < now() - interval '1 day'").affectedRows ?? 0
    }

    /// The pairings of the last day, newest first (for gwctl).
    package func recent(limit: Int = 500) async throws -> [Pairing] {
        let rows = try await self.database.query(
            "SELECT \(unescaped: Self.columns) FROM gw_pairings ORDER BY created_at DESC LIMIT \(Int64(limit))",
            format: .binary
        )
        return try rows.map(Self.pairing)
    }
}
