import Foundation
package import GatewayWire
package import Logging
package import Presence
import Primitives
package import ServiceLifecycle
package import Store
import Synchronization

/// The realtime gateway of one daemon: it opens sessions for the transports, keeps the
/// fan-out (``DeliveryHub``) fed from `LISTEN`, runs the sessions' deadlines, prunes the logs
/// past retention, and closes every session with `GoAway` 1001 on graceful shutdown.
///
/// ``prepare()`` must run once the schema is migrated (the daemon's start-up does it before
/// `READY=1`); until then ``open(_:peer:)`` returns nil and transports answer 503.
package final class RealtimeGateway: Sendable {
    /// What the gateway needs to know.
    package struct Configuration: Sendable {
        /// `daemon.gateway_id`.
        package var gatewayID: String
        /// The `[gateway]` section.
        package var limits: GatewayLimits
        /// The `[presence]` section.
        package var presence: PresenceLimits
        /// The `[blobs]` section.
        package var blobs: BlobLimits
        /// The sealed-session keys (§14; nil: no sealed sessions).
        package var sealedKeys: GatewayKeyStore?

        package init(
            gatewayID: String,
            limits: GatewayLimits = GatewayLimits(),
            presence: PresenceLimits = PresenceLimits(),
            blobs: BlobLimits = BlobLimits(),
            sealedKeys: GatewayKeyStore? = nil
        ) {
            self.gatewayID = gatewayID
            self.limits = limits
            self.presence = presence
            self.blobs = blobs
            self.sealedKeys = sealedKeys
        }

        /// Whether sealed connections are served: a key file, and the policy not off.
        package var servesSealed: Bool { self.sealedKeys != nil && self.limits.sealed != .off }
    }

    private struct State {
        /// What sessions may call; made by ``prepare()``, with the resume key.
        var context: SessionContext?
        var accepting = false
        var stopped = false
        var subscriptions:
            (
                appends: AsyncStream<PostgresListener.Event>,
                signals: AsyncStream<PostgresListener.Event>,
                presence: AsyncStream<PostgresListener.Event>
            )?
    }

    package let configuration: Configuration
    package let limiter: RateLimiter
    let counters = GatewayCounters()
    /// The one owner of the live sessions.
    let registry = SessionRegistry()
    let repository: DeliveryRepository
    let listener: PostgresListener
    let ledger: AuditLedger
    let hub: DeliveryHub
    /// Group commit of this daemon's Sends (ADR 0019).
    let appender: AppendBatcher
    /// Announces committed appends to every daemon, batched (ADR 0019).
    let announcer: AppendAnnouncer
    /// Presence of this daemon's devices and their watchers.
    package let presence: PresenceService
    /// Pairings that link new devices (GATEWAY_SPEC.md §12).
    package let pairing: PairingService
    /// Encrypted attachments (GATEWAY_SPEC.md §13).
    package let blobs: BlobService
    let clock: GatewayClock
    let logger: Logger
    private let state = Mutex(State())
    private let prepared: AsyncStream<Void>
    private let preparedContinuation: AsyncStream<Void>.Continuation
    private let events: AsyncStream<ConversationID>
    private let eventsContinuation: AsyncStream<ConversationID>.Continuation
    /// Revoked devices whose user's conversation partners are to be told (``tellRevocations()``).
    private let revocations: AsyncStream<DeviceID>
    private let revocationsContinuation: AsyncStream<DeviceID>.Continuation

    package init(
        configuration: Configuration,
        database: PostgresClient,
        listener: PostgresListener,
        ledger: AuditLedger,
        logger: Logger
    ) {
        self.configuration = configuration
        self.limiter = RateLimiter(limits: configuration.limits, watchRate: configuration.presence.watch)
        self.repository = DeliveryRepository(
            database: database,
            gatewayID: configuration.gatewayID,
            pastEpochs: configuration.limits.pastEpochs,
            maxMembers: configuration.limits.maxMembers
        )
        self.listener = listener
        self.ledger = ledger
        self.logger = logger
        self.hub = DeliveryHub(repository: self.repository, logger: logger)
        // Batches in flight at once: a few, and at most half the pool, so that reads, acks and
        // presence keep connections (measured: 2 to 8 lanes within noise of each other, one
        // lane 20 % slower; docs/BENCHMARKS.md).
        self.appender = AppendBatcher(
            repository: self.repository,
            lanes: max(1, min(4, database.configuration.maxConnections / 2))
        )
        self.announcer = AppendAnnouncer(repository: self.repository, logger: logger)
        let clock = GatewayClock()
        self.clock = clock
        self.presence = PresenceService(
            limits: configuration.presence,
            repository: PresenceRepository(database: database),
            clock: clock,
            logger: logger
        )
        self.pairing = PairingService(
            repository: PairingRepository(database: database),
            ledger: ledger,
            limiter: self.limiter,
            clock: clock,
            ttl: configuration.limits.pairingTTL,
            maximumSealed: configuration.limits.maxMessageBytes,
            logger: logger
        )
        self.blobs = BlobService(
            limits: configuration.blobs,
            repository: BlobRepository(database: database),
            devices: self.repository,
            ledger: ledger,
            clock: clock,
            logger: logger
        )
        (self.prepared, self.preparedContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.events, self.eventsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (self.revocations, self.revocationsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    var gatewayID: String { self.configuration.gatewayID }
    var limits: GatewayLimits { self.configuration.limits }

    /// Loads the shared resume key and starts listening. Call after migrations.
    ///
    /// - Throws: when the database fails.
    package func prepare() async throws {
        let key = try await self.repository.sharedSecret(named: "resume_token_key", candidate: SecureRandom.bytes(count: 32))
        let appends = try await self.listener.subscribe(to: AppendSignal.channel)
        let signals = try await self.listener.subscribe(to: SessionSignal.channel)
        let presence = try await self.listener.subscribe(to: PresenceSignal.channel)
        self.blobs.prepare(sharedKey: SecretBytes(key))
        let context = SessionContext(
            gatewayID: self.gatewayID,
            limits: self.limits,
            clock: self.clock,
            logger: self.logger,
            tokens: ResumeToken(key: SecretBytes(key)),
            repository: self.repository,
            ledger: self.ledger,
            counters: self.counters,
            limiter: self.limiter,
            appender: self.appender,
            announcer: self.announcer,
            hub: self.hub,
            presence: self.presence,
            registry: self.registry,
            pairing: self.pairing,
            blobs: self.blobs
        )
        let first = self.state.withLock { state -> Bool in
            guard state.subscriptions == nil, !state.stopped else { return false }
            state.context = context
            state.subscriptions = (appends, signals, presence)
            state.accepting = true
            return true
        }
        if first {
            self.presence.start()
            self.preparedContinuation.yield()
        }
    }

    // MARK: Sessions

    /// A new connection's session, with its `Challenge` queued; nil while the gateway is not
    /// ready or shutting down (answer 503).
    package func open(_ transport: GatewaySession.Transport, peer: String, sealed: Bool = false) -> GatewaySession? {
        let context = self.state.withLock { $0.accepting ? $0.context : nil }
        guard let context else { return nil }
        let session = self.registry.open(maxUnauthenticated: self.limits.maxUnauthenticated) { id in
            GatewaySession(id: id, transport: transport, peer: peer, sealed: sealed, context: context)
        }
        session?.start()
        // Shutdown began between the check above and the registration: close it like the rest.
        if let session, !self.isAccepting {
            session.close(code: CloseCode.goingAway, reason: "server shutting down", after: .seconds(1))
        }
        if let session {
            self.logger.debug(
                "session opened",
                metadata: [
                    "gw.session": "\(session.id)", "gw.transport": "\(transport.rawValue)", "gw.peer": "\(peer)",
                    "gw.sealed": "\(sealed)",
                ]
            )
        }
        return session
    }

    /// Whether a new connection may start: nil, or why not.
    package func admission(peer: String) -> Refusal? {
        let accepting = self.state.withLock { $0.accepting }
        let crowded = self.registry.unauthenticatedCount >= self.limits.maxUnauthenticated
        guard accepting else { return .notReady }
        // Before the per-address bucket: a refusal for crowding takes none of its tokens.
        if crowded { return .crowded }
        if let wait = self.limiter.admit(ip: peer, now: self.clock.now) { return .rateLimited(retryAfter: wait) }
        return nil
    }

    /// Why a new connection was refused (the transports answer 503 or 429).
    package enum Refusal: Sendable, Equatable {
        /// Starting or shutting down.
        case notReady
        /// `gateway.max_unauthenticated` sessions wait to authenticate.
        case crowded
        /// The address is over `gateway.connect_rate_per_ip` or its authentication failures.
        case rateLimited(retryAfter: Duration)
    }

    /// The open SSE stream with this id.
    package func stream(id: [UInt8]) -> GatewaySession? { self.registry.stream(id: id) }

    /// Open sessions (authenticated or not).
    package var sessionCount: Int { self.registry.count }

    /// Every open session.
    package var sessions: [GatewaySession] { self.registry.all }

    /// Sessions, conversations and counters now (`/metrics`).
    package var statistics: GatewayCounters.Snapshot {
        var snapshot = self.counters.snapshot
        for session in self.sessions {
            switch session.transport {
            case .webSocket: snapshot.webSocketSessions += 1
            case .sse: snapshot.sseSessions += 1
            }
            if session.identity != nil { snapshot.authenticatedSessions += 1 }
            if session.sealed { snapshot.sealedSessions += 1 }
        }
        snapshot.conversations = self.hub.conversations.count
        return snapshot
    }

    /// A sealed handshake failed (counted for `/metrics`).
    package func sealedHandshakeFailed() { self.counters.add(.sealedHandshakeFailures) }

    /// Whether new sessions are accepted.
    package var isAccepting: Bool { self.state.withLock { $0.accepting } }

    /// The gateway's monotonic clock now (sessions' `openedAt` is on it).
    package var now: Duration { self.clock.now }

    /// The repository the gateway uses (for the control socket).
    package var deliveryRepository: DeliveryRepository { self.repository }

    /// Closes this daemon's sessions of a device (or the one session `id`) with 4000; how many.
    package func kick(session id: UInt64? = nil, device: DeviceID? = nil) -> Int {
        let targets = self.sessions.filter { session in
            if let id { return session.id == id }
            return device != nil && session.identity?.deviceID == device
        }
        for session in targets {
            session.close(code: CloseCode.closedByAdmin, reason: "closed by an administrator", after: .seconds(5))
        }
        return targets.count
    }
}

// MARK: - Service

extension RealtimeGateway: Service {
    /// Feeds the fan-out and runs the timers until graceful shutdown.
    package func run() async throws {
        let prepared = self.prepared
        let started = try? await cancelWhenGracefulShutdown { () async -> Bool in
            for await _ in prepared { return true }
            return false
        }
        guard started == true else {
            self.stop()
            return
        }
        guard let (appends, signals, presence) = self.state.withLock({ $0.subscriptions }) else { return }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.forwardAppends(appends) }
                group.addTask { await self.dispatchSignals(signals) }
                group.addTask { await self.followPresence(presence) }
                group.addTask { await self.runTimers() }
                group.addTask { await self.tellRevocations() }
                // Fetches are children of this group: at most one per conversation at a time.
                for await conv in self.events {
                    group.addTask { await self.hub.fetch(conv) }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        await self.drain()
    }

    /// Stops accepting, closes every session with `GoAway` 1001, ends the event loop.
    private func stop() {
        self.state.withLock { state in
            state.accepting = false
            state.stopped = true
        }
        for session in self.registry.all {
            session.close(code: CloseCode.goingAway, reason: "server shutting down", after: .seconds(1))
        }
        self.eventsContinuation.finish()
        self.revocationsContinuation.finish()
        self.preparedContinuation.finish()
    }

    /// Waits (at most 3 s) for the transports to write their last frames.
    private func drain() async {
        let deadline = ContinuousClock.now + .seconds(3)
        while self.sessionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        self.logger.info("realtime gateway stopped", metadata: ["gw.sessions.left": "\(self.sessionCount)"])
    }

    /// Hands each notification's payload to `notified`; after a lost listener connection (when
    /// notifications may have been missed) calls `reconnected`.
    private func follow(
        _ stream: AsyncStream<PostgresListener.Event>,
        notified: (String) -> Void,
        reconnected: () async -> Void
    ) async {
        for await event in stream {
            switch event {
            case .notification(let notification): notified(notification.payload)
            case .reconnected: await reconnected()
            }
            if Task.isCancelled { return }
        }
    }

    private func forwardAppends(_ stream: AsyncStream<PostgresListener.Event>) async {
        await self.follow(stream) { payload in
            guard let signal = AppendSignal(payload: payload) else { return }
            if self.hub.announce(signal.convID, seq: signal.seq) { self.eventsContinuation.yield(signal.convID) }
        } reconnected: {
            await self.reconcile()
        }
    }

    private func dispatchSignals(_ stream: AsyncStream<PostgresListener.Event>) async {
        await self.follow(stream) { payload in
            guard let signal = SessionSignal(payload: payload) else { return }
            self.registry.dispatch(signal)
            if case .revoked(let device) = signal { self.revocationsContinuation.yield(device) }
        } reconnected: {
            // Membership changes may have been missed: every session reads its list again.
            for session in self.sessions { session.signal(.membership(userID: UserID([]))) }
        }
    }

    private func followPresence(_ stream: AsyncStream<PostgresListener.Event>) async {
        await self.follow(stream) { payload in
            if let signal = PresenceSignal(payload: payload) { self.presence.handle(signal) }
        } reconnected: {
            // Announcements may have been missed both ways: start over with everyone.
            self.presence.start()
        }
    }

    /// Tells this daemon's sessions of the users who share a conversation with a revoked device's
    /// user (that user's other devices included) with `DeviceRevoked`, so that a member online
    /// removes the device's leaves from its groups (docs/GATEWAY_SPEC.md §5).
    private func tellRevocations() async {
        for await device in self.revocations {
            let found: (user: UserID, audience: Set<UserID>)?
            do {
                found = try await self.repository.revocationAudience(of: device)
            } catch {
                self.logger.debug("revocation lookup failed", metadata: ["error": "\(error)"])
                continue
            }
            guard let (user, audience) = found else { continue }
            var revoked = Polygate_Gateway_V1_DeviceRevoked()
            revoked.userID = Data(user)
            revoked.deviceID = Data(device)
            var frame = Polygate_Gateway_V1_ServerFrame()
            frame.deviceRevoked = revoked
            let bytes = GatewaySession.serialize(frame)
            for session in self.sessions {
                guard let identity = session.identity, identity.deviceID != device, audience.contains(identity.userID) else {
                    continue
                }
                session.push(buffer: bytes)
            }
        }
    }

    /// Announces every local conversation whose log moved past what the hub offered.
    private func reconcile() async {
        let convs = self.hub.conversations
        guard !convs.isEmpty else { return }
        do {
            let newest = try await self.repository.newest(of: convs)
            for conv in self.hub.behind(newest: newest) { self.eventsContinuation.yield(conv) }
        } catch {
            self.logger.debug("reconciliation failed", metadata: ["error": "\(error)"])
        }
    }

    /// Deadlines twice a second, reconciliation every 2 s, bucket sweeps every 30 s, retention.
    private func runTimers() async {
        let retention = self.limits.retention
        let pruneEvery = max(.seconds(1), min(.seconds(600), retention / 4))
        var ticks = 0
        var lastPrune = Duration.zero - pruneEvery
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let now = self.clock.now
            ticks += 1
            await self.presence.tick()
            if ticks % 2 == 0 { for session in self.sessions { session.tick(now: now) } }
            if ticks % 8 == 0 { await self.reconcile() }
            if ticks % 120 == 0 { self.limiter.sweep(now: now) }
            if ticks % 4 == 0 { await self.pairing.sweep() }
            if ticks % 40 == 0 { await self.blobs.sweep() }
            if now - lastPrune >= pruneEvery {
                lastPrune = now
                let cutoff = self.clock.wallMs - UInt64(retention.milliseconds)
                do {
                    let pruned = try await self.repository.prune(acceptedBefore: cutoff)
                    if pruned > 0 { self.logger.info("pruned log entries past retention", metadata: ["gw.pruned": "\(pruned)"]) }
                    let expired = try await self.repository.pruneExpiredKeyPackages(nowMs: Int64(clamping: self.clock.wallMs))
                    if expired > 0 {
                        self.logger.info("deleted expired KeyPackages", metadata: ["gw.key_packages.expired": "\(expired)"])
                    }
                } catch {
                    self.logger.debug("retention pruning failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
