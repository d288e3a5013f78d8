import GatewayWire
import Logging
import Presence
import Primitives
import Store

/// What a session may call: the services of its gateway, and nothing that reaches back into
/// the gateway itself. One instance serves every session of a daemon (made when the gateway is
/// prepared, with the resume key loaded).
///
/// Data flows one way: a transport hands frames to its session, the session calls these
/// services, and the services push to sessions only through ``SessionOutlet`` (the fan-out,
/// presence) or the ``SessionRegistry`` (signals, deadlines, shutdown).
final class SessionContext: Sendable {
    /// `daemon.gateway_id`.
    let gatewayID: String
    /// The `[gateway]` section.
    let limits: GatewayLimits
    let clock: GatewayClock
    let logger: Logger
    /// Issues and checks resume tokens (the key every daemon of the database shares).
    let tokens: ResumeToken
    let repository: DeliveryRepository
    let ledger: AuditLedger
    let counters: GatewayCounters
    let limiter: RateLimiter
    /// Group commit of Sends (ADR 0019).
    let appender: AppendBatcher
    /// Tells the other daemons of committed appends, batched (ADR 0019).
    let announcer: AppendAnnouncer
    /// Which sessions read which conversations.
    let hub: DeliveryHub
    let presence: PresenceService
    /// The owner of the live sessions.
    let registry: SessionRegistry
    /// Pairings that link new devices (GATEWAY_SPEC.md §12).
    let pairing: PairingService
    /// Encrypted attachments (GATEWAY_SPEC.md §13).
    let blobs: BlobService

    init(
        gatewayID: String,
        limits: GatewayLimits,
        clock: GatewayClock,
        logger: Logger,
        tokens: ResumeToken,
        repository: DeliveryRepository,
        ledger: AuditLedger,
        counters: GatewayCounters,
        limiter: RateLimiter,
        appender: AppendBatcher,
        announcer: AppendAnnouncer,
        hub: DeliveryHub,
        presence: PresenceService,
        registry: SessionRegistry,
        pairing: PairingService,
        blobs: BlobService
    ) {
        self.gatewayID = gatewayID
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.tokens = tokens
        self.repository = repository
        self.ledger = ledger
        self.counters = counters
        self.limiter = limiter
        self.appender = appender
        self.announcer = announcer
        self.hub = hub
        self.presence = presence
        self.registry = registry
        self.pairing = pairing
        self.blobs = blobs
    }

    /// The session authenticated (or resumed) as `identity`.
    func authenticated(_ session: GatewaySession, identity: GatewaySession.Identity) {
        self.registry.authenticated(session, identity: identity)
    }

    /// The session ended, however it ended: it leaves the registry, its conversations and its
    /// watches and lease — once, however often this is called.
    func ended(_ session: GatewaySession) {
        guard self.registry.remove(session) else { return }
        self.hub.leave(session.id)
        let identity = session.identity
        self.presence.ended(session, user: identity?.userID, device: identity?.deviceID)
    }
}
