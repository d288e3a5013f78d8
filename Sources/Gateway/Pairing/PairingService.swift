package import GatewayWire
package import Logging
package import Primitives
package import Store

/// Linking a device by pairing code (docs/GATEWAY_SPEC.md §12, ADR 0023): the old device's
/// requests on its session, the new device's over HTTP, gwctl's list and cancel, and the
/// expiry sweep. The server stores and relays CPace shares, confirmations and the sealed
/// identity; it never sees the code's secret half, so it can neither read the identity nor
/// test guesses at the code offline. Every step is in the audit ledger.
package final class PairingService: Sendable {
    package typealias Pairing = PairingRepository.Pairing

    /// Why an HTTP request of the new device is refused: the status, a stable code and what
    /// to do next.
    package struct Refusal: Error, Sendable, Equatable {
        package var status: Int
        package var code: String
        package var message: String
        package var retryAfter: Duration?

        package init(status: Int, code: String, message: String, retryAfter: Duration? = nil) {
            self.status = status
            self.code = code
            self.message = message
            self.retryAfter = retryAfter
        }
    }

    /// The new device's claim, accepted.
    package struct Claim: Sendable {
        /// The bearer token that fetches the transfer (32 bytes, hex in the API).
        package var token: [UInt8]
        package var expiresMs: Int64
    }

    /// What the new device's poll of the transfer finds.
    package enum Transfer: Sendable {
        /// Not sealed yet: poll again.
        case waiting
        /// The old device's confirmation and the sealed identity; the pairing is complete.
        case sealed(confirmation: [UInt8], sealed: [UInt8])
    }

    let repository: PairingRepository
    let ledger: AuditLedger
    let limiter: RateLimiter
    let clock: GatewayClock
    /// How long a pairing lives.
    package let ttl: Duration
    /// The largest sealed identity accepted.
    let maximumSealed: Int
    let logger: Logger

    package init(
        repository: PairingRepository,
        ledger: AuditLedger,
        limiter: RateLimiter,
        clock: GatewayClock,
        ttl: Duration,
        maximumSealed: Int,
        logger: Logger
    ) {
        self.repository = repository
        self.ledger = ledger
        self.limiter = limiter
        self.clock = clock
        self.ttl = ttl
        self.maximumSealed = maximumSealed
        self.logger = logger
    }

    static func name(_ id: [UInt8]) -> String { PairingCode.encode(id) }

    // MARK: The old device (its session)

    /// `CreatePairing`: a new open pairing for `user`'s `device`.
    ///
    /// - Throws: ``GatewayWireError`` `rate_limited` (with the wait), `bad_request`.
    package func create(user: UserID, device: DeviceID, share: [UInt8], nonce: [UInt8], ip: String) async throws -> Pairing {
        guard share.count == CPace.shareSize else { throw GatewayWireError(.badRequest, "initiator_share is 32 bytes") }
        guard nonce.count == 16 else { throw GatewayWireError(.badRequest, "session_nonce is 16 bytes") }
        if let wait = self.limiter.takePairing(user: user, now: self.clock.now) {
            var error = GatewayWireError(.rateLimited, "too many pairing codes made: wait \(max(1, wait.components.seconds)) s")
            error.retryAfterMs = UInt64(clamping: wait.milliseconds)
            throw error
        }
        let pairing = try await self.repository.create(user: user, device: device, share: share, nonce: nonce, ttl: self.ttl)
        try? await self.ledger.record(
            "pairing.created",
            actor: Hex.encode(user),
            subject: Self.name(pairing.id),
            details: ["device": device.hex, "ip": ip, "ttl_s": "\(self.ttl.components.seconds)"]
        )
        return pairing
    }

    /// `PairingStatus`: the user's pairing `id` as it is now.
    ///
    /// - Throws: ``GatewayWireError`` `unknown_pairing` when it is not the user's (or gone).
    package func status(_ id: [UInt8], user: UserID) async throws -> Pairing {
        guard let pairing = try await self.repository.pairing(id), pairing.user == user else {
            throw GatewayWireError(.unknownPairing, "no pairing \(Self.name(id)) of yours")
        }
        return pairing
    }

    /// `CompletePairing`: the old device seals the identity for the new one (`accept`), or
    /// ends the pairing because the new device's confirmation did not verify (a wrong code).
    ///
    /// - Throws: ``GatewayWireError`` `unknown_pairing` when it is not the user's claimed
    ///   pairing (expired, cancelled or answered meanwhile), `bad_request`, `too_large`.
    package func complete(
        _ id: [UInt8],
        user: UserID,
        accept: Bool,
        confirmation: [UInt8],
        sealed: [UInt8]
    ) async throws {
        if accept {
            guard confirmation.count == 32 else { throw GatewayWireError(.badRequest, "initiator_confirmation is 32 bytes") }
            guard !sealed.isEmpty else { throw GatewayWireError(.badRequest, "sealed_identity is empty") }
            guard sealed.count <= self.maximumSealed else {
                throw GatewayWireError(.tooLarge, "sealed_identity is over \(self.maximumSealed) bytes")
            }
        }
        guard try await self.repository.answer(id, user: user, accept: accept, confirmation: confirmation, sealed: sealed) else {
            throw GatewayWireError(
                .unknownPairing,
                "pairing \(Self.name(id)) is not waiting for an answer (expired or cancelled?)"
            )
        }
        if !accept {
            try? await self.ledger.record(
                "pairing.failed",
                actor: Hex.encode(user),
                subject: Self.name(id),
                details: ["reason": "the new device's confirmation did not verify (a wrong code)"]
            )
        }
    }

    // MARK: The new device (HTTP)

    /// Spends a pairing attempt of `ip`; a refusal for the rate is recorded in the ledger
    /// (`pairing.rate_limited`, bounded per address).
    func attempt(ip: String) async throws(Refusal) {
        let now = self.clock.now
        if let wait = self.limiter.takePairingAttempt(ip: ip, now: now) {
            if self.limiter.pairingLimited(ip: ip, now: now) {
                try? await self.ledger.record(
                    "pairing.rate_limited",
                    actor: ip,
                    subject: ip,
                    details: ["ip": ip, "retry_after_s": "\(max(1, wait.components.seconds))"]
                )
            }
            throw Refusal(
                status: 429,
                code: "rate_limited",
                message: "too many pairing attempts from this address: wait \(max(1, wait.components.seconds)) s",
                retryAfter: wait
            )
        }
    }

    /// `GET /v1/pairing/ID`: an open pairing's public half.
    package func lookup(_ id: [UInt8], ip: String) async throws -> Pairing {
        try await self.attempt(ip: ip)
        let pairing = try await self.repository.pairing(id)
        try await self.recordRefusal(id, ip: ip) { () throws(Refusal) in
            try Self.check(pairing, id: id, wanted: .open, nowMs: self.nowMs)
        }
        return pairing!
    }

    /// Runs `check`; a refusal it throws is recorded (`pairing.refused`: the reason and the
    /// address — bounded by the address's attempts, which every refused read or claim spent).
    func recordRefusal(_ id: [UInt8], ip: String, _ check: () throws(Refusal) -> Void) async throws(Refusal) {
        do {
            try check()
        } catch {
            try? await self.ledger.record(
                "pairing.refused",
                actor: ip,
                subject: Self.name(id),
                details: ["reason": error.code, "ip": ip]
            )
            throw error
        }
    }

    /// `POST /v1/pairing/ID/claim`: the new device's share and confirmation; single use.
    package func claim(_ id: [UInt8], share: [UInt8], confirmation: [UInt8], ip: String) async throws -> Claim {
        try await self.attempt(ip: ip)
        guard share.count == CPace.shareSize, confirmation.count == 32 else {
            throw Refusal(status: 400, code: "bad_request", message: "responderShare and confirmation are 32 bytes each, hex")
        }
        let token = SecureRandom.bytes(count: 32)
        let claimed = try await self.repository.claim(
            id,
            share: share,
            confirmation: confirmation,
            tokenHash: HashFunction.sha256.hash(token),
            ip: ip
        )
        let pairing = try await self.repository.pairing(id)
        guard claimed, let pairing else {
            try await self.recordRefusal(id, ip: ip) { () throws(Refusal) in
                try Self.check(pairing, id: id, wanted: .open, nowMs: self.nowMs)
                throw Refusal(status: 410, code: "used", message: Self.used)
            }
            throw Refusal(status: 410, code: "used", message: Self.used)
        }
        try? await self.ledger.record(
            "pairing.claimed",
            actor: ip,
            subject: Self.name(id),
            details: ["user": Hex.encode(pairing.user), "ip": ip]
        )
        return Claim(token: token, expiresMs: pairing.expiresMs)
    }

    /// `GET /v1/pairing/ID/transfer`: the sealed identity once the old device answered.
    package func transfer(_ id: [UInt8], token: [UInt8], ip: String) async throws -> Transfer {
        let pairing = try await self.repository.pairing(id)
        guard let pairing, let hash = pairing.claimTokenHash, ConstantTime.equal(hash, HashFunction.sha256.hash(token)) else {
            try await self.attempt(ip: ip)
            throw Refusal(status: 403, code: "bad_token", message: "this token did not claim pairing \(Self.name(id))")
        }
        switch pairing.state {
        case .claimed where pairing.expiresMs > self.nowMs:
            return .waiting
        case .sealed:
            if let (confirmation, sealed) = try await self.repository.collect(id, tokenHash: hash) {
                try? await self.ledger.record(
                    "pairing.completed",
                    actor: Hex.encode(pairing.user),
                    subject: Self.name(id),
                    details: ["ip": ip]
                )
                return .sealed(confirmation: confirmation, sealed: sealed)
            }
            try Self.check(try await self.repository.pairing(id), id: id, wanted: .sealed, nowMs: self.nowMs)
            return .waiting
        default:
            try Self.check(pairing, id: id, wanted: .claimed, nowMs: self.nowMs)
            return .waiting
        }
    }

    var nowMs: Int64 { Int64(clamping: self.clock.wallMs) }

    static let used = "this pairing code was used already: make a new one with 'polychat devices link' on your other device"

    /// Refuses a pairing that is not in the `wanted` state, saying why in words.
    static func check(_ pairing: Pairing?, id: [UInt8], wanted: PairingRepository.State, nowMs: Int64) throws(Refusal) {
        let again = "make a new one with 'polychat devices link' on your other device"
        guard let pairing else {
            throw Refusal(
                status: 404,
                code: "not_found",
                message:
                    "no pairing code starts with \(Self.name(id).prefix(4))-\(Self.name(id).suffix(4)): check it, or \(again)"
            )
        }
        if pairing.state == wanted, pairing.state.isLive, pairing.expiresMs <= nowMs {
            throw Refusal(status: 410, code: "expired", message: "this pairing code expired: \(again)")
        }
        switch pairing.state {
        case wanted: return
        case .expired: throw Refusal(status: 410, code: "expired", message: "this pairing code expired: \(again)")
        case .cancelled: throw Refusal(status: 410, code: "cancelled", message: "this pairing code was cancelled: \(again)")
        case .failed:
            throw Refusal(
                status: 410,
                code: "wrong_code",
                message: "your other device did not accept the code typed here (a mistyped second half?): \(again)"
            )
        default: throw Refusal(status: 410, code: "used", message: Self.used)
        }
    }

    // MARK: gwctl and the timers

    /// The pairings of the last day, newest first.
    package func recent() async throws -> [Pairing] { try await self.repository.recent() }

    /// Cancels a live pairing (gwctl); the pairing, or nil when there is no live one with `id`.
    package func cancel(_ id: [UInt8], by actor: String) async throws -> Pairing? {
        guard let pairing = try await self.repository.cancel(id) else { return nil }
        try? await self.ledger.record(
            "pairing.cancelled",
            actor: actor,
            subject: Self.name(id),
            details: ["user": Hex.encode(pairing.user)]
        )
        return pairing
    }

    /// Ends the pairings whose time is up (each `pairing.expired` in the ledger), and deletes
    /// those ended a day ago.
    package func sweep() async {
        do {
            for pairing in try await self.repository.expire() {
                try? await self.ledger.record(
                    "pairing.expired",
                    actor: Hex.encode(pairing.user),
                    subject: Self.name(pairing.id)
                )
            }
            try await self.repository.prune()
        } catch {
            self.logger.debug("pairing sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
