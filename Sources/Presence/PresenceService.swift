import Foundation
package import GatewayWire
package import Logging
package import NIOCore
package import Primitives
import SwiftProtobuf
import Synchronization

/// Presence on one daemon (docs/GATEWAY_SPEC.md §10): leases of its connected devices, what the
/// other daemons announce, watchers and their coalesced notifications. The decisions are
/// ``PresenceState``'s; this class does the I/O (announcements, last-seen, consent checks) and
/// pushes `Presence` frames to watching sessions.
package final class PresenceService: Sendable {
    package typealias User = UserID
    package typealias Device = DeviceID

    /// This daemon's name in announcements: new at every start, so a restarted daemon never
    /// inherits what its previous run announced.
    package let instance: String
    let limits: PresenceLimits
    let repository: PresenceRepository
    let clock: GatewayClock
    let logger: Logger

    private struct Index {
        /// Local sessions watching each user.
        var watchers: [User: [UInt64: any PresenceWatcher]] = [:]
        /// What each session watches: for a mutual contact, the state it was last told (online or
        /// not); for anyone else nil (the id still takes a slot, so the cap reveals nothing).
        var watching: [UInt64: [User: Bool?]] = [:]
        /// The connections of each device with a lease (session ids): the lease is released
        /// when the last one ends.
        var connections: [Device: Set<UInt64>] = [:]
        /// Users whose mode this daemon loaded (or was told).
        var knownModes: Set<User> = []
        /// Announcements not sent yet.
        var outgoing: [PresenceSignal] = []
        /// The next flush announces every local lease from a clean slate (which supersedes the
        /// queued acquisitions and releases).
        var announceAll = false
        /// Users to record as last seen now.
        var seen: [User] = []
        /// Devices whose first connection here started or last one ended: last seen now.
        var seenDevices: [Device] = []
        /// Mode changes waiting for their user's window (at most one write per user per
        /// coalescing window; later requests replace the waiting one).
        var pendingModes: [User: Bool] = [:]
        var lastModeWrite: [User: Duration] = [:]
        var lastHeartbeat: Duration = .zero
        /// Daemons already warned about for a different lease TTL.
        var warnedTTL: Set<String> = []
        /// Whether announcements are failing (logged once when it starts and when it ends).
        var announcing = Flag()
    }

    /// A condition that is logged when it changes, not at every tick.
    struct Flag {
        private(set) var on = false

        /// Sets the flag; true when that changed it.
        mutating func set(_ on: Bool) -> Bool {
            defer { self.on = on }
            return self.on != on
        }
    }

    private let state: Mutex<PresenceState>
    private let index = Mutex(Index())

    package init(limits: PresenceLimits, repository: PresenceRepository, clock: GatewayClock, logger: Logger) {
        self.instance = Hex.encode(SecureRandom.bytes(count: 8))
        self.limits = limits
        self.repository = repository
        self.clock = clock
        self.logger = logger
        self.state = Mutex(PresenceState(remoteTTL: limits.leaseTTL, coalesce: limits.coalesce))
    }

    // MARK: Reading (gwctl, tests)

    /// Whether a user is online as this daemon sees it.
    package func isOnline(_ user: UserID) -> Bool { self.state.withLock { $0.isOnline(user) } }

    /// This daemon's leases with their time left.
    package var leases: [(device: DeviceID, user: UserID, left: Duration)] {
        let now = self.clock.now
        return self.state.withLock { $0.leases(now: now) }
    }

    /// Whether `user` is invisible, and how many other daemons hold a lease of it.
    package func inspect(_ user: UserID) -> (online: Bool, invisible: Bool, otherDaemons: Int) {
        self.state.withLock { ($0.isOnline(user), $0.isInvisible(user), $0.remoteCount(of: user)) }
    }

    /// This daemon's lease TTL (`presence.lease_ttl`).
    package var leaseTTL: Duration { self.limits.leaseTTL }

    /// Other daemons on the database that announced a different lease TTL, with theirs.
    package var mismatchedTTLs: [(instance: String, ttl: Duration)] { self.state.withLock { $0.mismatchedTTLs } }

    /// When `user` was last seen (stored; nil when never).
    package func lastSeen(of user: UserID) async throws -> UInt64? {
        try await self.repository.presenceSettings(of: [user])[user]?.lastSeenMs
    }

    /// How many local sessions watch `user`.
    /// Whether `device` has a connection on this daemon now.
    package func isConnectedHere(_ device: Device) -> Bool { self.index.withLock { $0.connections[device] != nil } }

    package func watcherCount(of user: UserID) -> Int { self.index.withLock { $0.watchers[user]?.count ?? 0 } }

    // MARK: Sessions

    /// A device authenticated on `watcher`'s connection: it holds a lease from now on, unless
    /// the connection closed meanwhile (while the user's modes were read). Joining the device's
    /// connections and taking the lease are one step under the index lock, checked against
    /// the connection being closed: a close before it takes nothing, a close after it finds the
    /// connection and releases the lease (when it was the device's last) — no window between.
    package func authenticated(_ watcher: any PresenceWatcher, user: User, device: Device) async {
        await self.learnModes([user])
        let now = self.clock.now
        self.index.withLock { index in
            guard !watcher.isClosed else { return }
            if index.connections[device] == nil { index.seenDevices.append(device) }
            index.connections[device, default: []].insert(watcher.id)
            guard
                let change = self.state.withLock({ $0.acquire(device: device, user: user, ttl: self.limits.leaseTTL, now: now) })
            else { return }
            Self.record(change, into: &index, instance: self.instance)
        }
    }

    /// The device showed it is alive (a Ping, or `RenewLease`): its lease runs `ttl` from now.
    package func renew(user: User, device: Device, ttl: Duration? = nil) {
        let now = self.clock.now
        let ttl = min(ttl ?? self.limits.leaseTTL, self.limits.leaseTTL)
        self.change { state in
            if state.renew(device: device, ttl: ttl, now: now) { return nil }
            // The lease had expired (a silent client came back): a new one.
            return state.acquire(device: device, user: user, ttl: ttl, now: now)
        }
    }

    /// The connection ended: its watches go, and its device's lease unless another connection
    /// of the device keeps it.
    package func ended(_ watcher: any PresenceWatcher, user: User?, device: Device?) {
        self.index.withLock { index in
            for user in (index.watching.removeValue(forKey: watcher.id) ?? [:]).keys {
                index.watchers[user]?[watcher.id] = nil
                if index.watchers[user]?.isEmpty == true { index.watchers[user] = nil }
            }
        }
        guard let device else { return }
        self.disconnected(watcher.id, device: device)
    }

    /// Connection `id` of `device` is gone: the lease goes with the device's last connection
    /// (a connection that never joined — closed before its lease was taken — releases nothing).
    private func disconnected(_ id: UInt64, device: Device) {
        let last = self.index.withLock { index -> Bool in
            guard var ids = index.connections[device], ids.remove(id) != nil else { return false }
            index.connections[device] = ids.isEmpty ? nil : ids
            if ids.isEmpty { index.seenDevices.append(device) }
            return ids.isEmpty
        }
        guard last else { return }
        let now = self.clock.now
        self.change { $0.release(device: device, now: now) }
    }

    /// Changes the local leases and queues the announcement of the change in one step: the
    /// announcements go out in the order the changes were made (two changes made at once on two
    /// threads once queued in the other order, and another daemon kept a user online for good).
    /// Lock order: the index, then the state (as everywhere both are taken).
    private func change(_ body: (inout PresenceState) -> PresenceState.LocalChange?) {
        self.index.withLock { index in
            guard let change = self.state.withLock({ body(&$0) }) else { return }
            Self.record(change, into: &index, instance: self.instance)
        }
    }

    private static func record(_ change: PresenceState.LocalChange, into index: inout Index, instance: String) {
        switch change {
        case .acquired(let user):
            index.outgoing.append(.acquired(instance: instance, users: [user]))
        case .released(let user):
            index.outgoing.append(.released(instance: instance, users: [user]))
            index.seen.append(user)
        }
    }

    /// Loads the modes of users this daemon has not seen yet.
    private func learnModes(_ users: [User]) async {
        let unknown = self.index.withLock { index in users.filter { !index.knownModes.contains($0) } }
        guard !unknown.isEmpty else { return }
        do {
            let settings = try await self.repository.presenceSettings(of: unknown)
            let now = self.clock.now
            self.state.withLock { state in
                for user in unknown { state.setInvisible(user, settings[user]?.invisible ?? false, now: now) }
            }
            self.index.withLock { $0.knownModes.formUnion(unknown) }
        } catch {
            self.logger.debug("presence modes not loaded", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Requests

    /// Sets the user's mode (all its devices, every daemon). Rate-limited and silently
    /// coalesced: this daemon applies it at once, but it is stored and told to the other daemons
    /// at most once per user per coalescing window — a request inside the window replaces the
    /// one waiting, and the tick writes the last.
    package func setInvisible(user: User, _ invisible: Bool) async throws {
        let now = self.clock.now
        self.state.withLock { $0.setInvisible(user, invisible, now: now) }
        let writeNow = self.index.withLock { index -> Bool in
            index.knownModes.insert(user)
            if let last = index.lastModeWrite[user], now - last < self.limits.coalesce {
                index.pendingModes[user] = invisible
                return false
            }
            index.lastModeWrite[user] = now
            index.pendingModes[user] = nil
            return true
        }
        if writeNow { try await self.storeMode(user, invisible) }
    }

    private func storeMode(_ user: User, _ invisible: Bool) async throws {
        let hasLease = self.state.withLock { $0.hasLease(user) }
        try await self.repository.setInvisible(user, invisible, seenNowMs: invisible && hasLease ? self.clock.wallMs : nil)
    }

    /// Mode changes whose window passed.
    private func storeWaitingModes(now: Duration) async {
        let due = self.index.withLock { index -> [(User, Bool)] in
            let due = index.pendingModes.filter { user, _ in now - (index.lastModeWrite[user] ?? .zero) >= self.limits.coalesce }
            for (user, _) in due {
                index.pendingModes[user] = nil
                index.lastModeWrite[user] = now
            }
            // Forget windows long past, so the table follows the active users.
            index.lastModeWrite = index.lastModeWrite.filter {
                now - $0.value < self.limits.coalesce * 2 || index.pendingModes[$0.key] != nil
            }
            return Array(due)
        }
        for (user, invisible) in due {
            do {
                try await self.storeMode(user, invisible)
            } catch {
                self.logger.warning("presence mode not stored", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Starts watching `users` for `session`: the current presence of each (mutual contacts
    /// only; for anyone else `UNAVAILABLE`, exactly as for a user that does not exist).
    ///
    /// - Throws: ``GatewayWireError`` `watch_limit` when the connection would watch more than
    ///   `max_watched` users (counting every id asked for, contact or not).
    package func watch(
        _ session: any PresenceWatcher,
        user watcherUser: User,
        _ users: [UserID]
    ) async throws -> [Polygate_Gateway_V1_Presence] {
        // The limit first, in time proportional to nothing: a Watch naming more ids than a
        // connection may watch (repeats counted) cannot fit.
        guard users.count <= self.limits.maxWatched else {
            throw GatewayWireError(.watchLimit, "a connection watches at most \(self.limits.maxWatched) users")
        }
        var seen: Set<User> = []
        let distinct = users.filter { seen.insert($0).inserted }
        let already = Set(self.index.withLock { $0.watching[session.id] ?? [:] }.keys)
        guard already.union(distinct).count <= self.limits.maxWatched else {
            throw GatewayWireError(.watchLimit, "a connection watches at most \(self.limits.maxWatched) users")
        }
        let mutual = try await self.repository.mutualContacts(of: watcherUser, among: distinct)
        let visible = distinct.filter { mutual.contains($0) }
        await self.learnModes(visible)
        let settings = try await self.repository.presenceSettings(of: visible)
        // The states told now, recorded with the watch in one step, so that a change due a moment
        // later is compared with what this watcher was actually told.
        let told = self.index.withLock { index -> [User: Bool] in
            let online = self.state.withLock { state in Dictionary(uniqueKeysWithValues: visible.map { ($0, state.isOnline($0)) })
            }
            for user in distinct {
                let slot: Bool? = online[user]  // nil: not a contact, but the slot counts
                if online[user] != nil { index.watchers[user, default: [:]][session.id] = session }
                index.watching[session.id, default: [:]].updateValue(slot, forKey: user)
            }
            return online
        }
        let nowMs = self.clock.wallMs
        return users.map { user in
            guard let online = told[user] else { return Self.unavailable(user) }
            return Self.presence(user, online: online, lastSeenMs: settings[user]?.lastSeenMs, nowMs: nowMs)
        }
    }

    package func unwatch(_ session: any PresenceWatcher, _ users: [UserID]) {
        self.index.withLock { index in
            for user in users {
                index.watching[session.id]?[user] = nil
                index.watchers[user]?[session.id] = nil
                if index.watchers[user]?.isEmpty == true { index.watchers[user] = nil }
            }
        }
    }

    /// A contact ended (revoked or blocked): the session stops watching `user` and is told at once.
    package func contactEnded(_ session: any PresenceWatcher, user: UserID) {
        let watched = self.index.withLock { index -> Bool in
            guard index.watchers[user]?[session.id] != nil else { return false }
            index.watching[session.id]?.updateValue(nil, forKey: user)  // the slot stays until Unwatch
            index.watchers[user]?[session.id] = nil
            if index.watchers[user]?.isEmpty == true { index.watchers[user] = nil }
            return true
        }
        if watched { session.push(buffer: Self.frame(Self.unavailable(user))) }
    }

    // MARK: Frames

    static func presence(_ user: UserID, online: Bool, lastSeenMs: UInt64?, nowMs: UInt64) -> Polygate_Gateway_V1_Presence {
        var presence = Polygate_Gateway_V1_Presence()
        presence.userID = Data(user)
        presence.status = online ? .online : .offline
        presence.lastSeen =
            Polygate_Gateway_V1_LastSeen(
                rawValue: LastSeenBucket.of(online: online, lastSeenMs: lastSeenMs, nowMs: nowMs).rawValue
            ) ?? .longer
        return presence
    }

    static func unavailable(_ user: UserID) -> Polygate_Gateway_V1_Presence {
        var presence = Polygate_Gateway_V1_Presence()
        presence.userID = Data(user)
        presence.status = .unavailable
        presence.lastSeen = .unspecified
        return presence
    }

    /// A `Presence` frame, serialized.
    static func frame(_ presence: Polygate_Gateway_V1_Presence) -> ByteBuffer {
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.presence = presence
        // Serializing a message of bytes and enums cannot fail.
        return ByteBuffer(bytes: (try? frame.serializedBytes() as [UInt8]) ?? [])
    }

    // MARK: Other daemons

    /// A `polygate_presence` notification (this daemon's own are skipped).
    package func handle(_ signal: PresenceSignal) {
        let now = self.clock.now
        switch signal {
        case .acquired(let instance, let users) where instance != self.instance:
            self.state.withLock { $0.remoteAcquired(users, instance: instance, now: now) }
        case .released(let instance, let users) where instance != self.instance:
            self.state.withLock { $0.remoteReleased(users, instance: instance, now: now) }
        case .heartbeat(let instance, let ttlMs) where instance != self.instance:
            let ttl = ttlMs.map { Duration.milliseconds(Int64(clamping: $0)) }
            self.state.withLock { $0.heard(from: instance, ttl: ttl, now: now) }
            if let ttl, ttl != self.limits.leaseTTL {
                let first = self.index.withLock { $0.warnedTTL.insert(instance).inserted }
                if first {
                    self.logger.warning(
                        "another daemon on this database has a different presence.lease_ttl; set the same on every daemon",
                        metadata: [
                            "presence.instance": "\(instance)", "presence.lease_ttl.theirs_ms": "\(ttlMs ?? 0)",
                            "presence.lease_ttl.ours_ms": "\(self.limits.leaseTTL.milliseconds)",
                        ]
                    )
                }
            }
        case .reset(let instance) where instance != self.instance:
            self.state.withLock { $0.remoteReset(instance: instance, now: now) }
        case .resync(let instance) where instance != self.instance:
            self.announceEverything()
        case .invisible(let user, let flag):
            self.state.withLock { $0.setInvisible(user, flag, now: now) }
            self.index.withLock { _ = $0.knownModes.insert(user) }
        default:
            break
        }
    }

    /// Every local lease again, from a clean slate (at start, on request, after a lost listener),
    /// as they are when the next flush sends them.
    package func announceEverything() {
        self.index.withLock { $0.announceAll = true }
    }

    /// At start: ask the other daemons for their leases.
    package func start() {
        self.index.withLock { $0.outgoing.append(.resync(instance: self.instance)) }
        self.announceEverything()
    }

    // MARK: Time

    /// Called a few times a second: expired leases and daemons, heartbeats, announcements,
    /// last-seen, and the coalesced notifications to watchers.
    package func tick() async {
        let now = self.clock.now
        let due = self.index.withLock { index -> [(user: User, online: Bool)] in
            let (expired, due) = self.state.withLock { state -> ([PresenceState.LocalChange], [(user: User, online: Bool)]) in
                let expired = state.expire(now: now)
                state.expireRemotes(now: now)
                return (expired, state.due(now: now))
            }
            for change in expired { Self.record(change, into: &index, instance: self.instance) }
            return due
        }
        let (outgoing, seen, seenDevices) = self.index.withLock { index -> ([PresenceSignal], [User], [Device]) in
            // A heartbeat every third of the TTL, and ahead of any announcement, so that a
            // daemon hearing of our leases first learns how long they last (NOTIFYs arrive in order).
            if now - index.lastHeartbeat >= self.limits.leaseTTL / 3 || !index.outgoing.isEmpty || index.announceAll {
                index.lastHeartbeat = now
                index.outgoing.insert(
                    .heartbeat(instance: self.instance, ttlMs: UInt64(clamping: self.limits.leaseTTL.milliseconds)),
                    at: 0
                )
            }
            if index.announceAll {
                // The full state now, after any resync requests queued before it.
                index.announceAll = false
                let users = self.state.withLock { $0.localUsers }
                index.outgoing = index.outgoing.filter {
                    switch $0 {
                    case .acquired, .released: false
                    default: true
                    }
                }
                index.outgoing.append(.reset(instance: self.instance))
                if !users.isEmpty { index.outgoing.append(.acquired(instance: self.instance, users: users)) }
            }
            defer {
                index.outgoing = []
                index.seen = []
                index.seenDevices = []
            }
            return (index.outgoing, index.seen, index.seenDevices)
        }
        // Two statements, each on its own: a failed last-seen write never costs an announcement.
        do {
            if !seen.isEmpty { try await self.repository.recordLastSeen(Array(Set(seen)), nowMs: self.clock.wallMs) }
            if !seenDevices.isEmpty {
                try await self.repository.recordDevicesSeen(Array(Set(seenDevices)), nowMs: self.clock.wallMs)
            }
        } catch {
            self.logger.warning("recording last-seen failed", metadata: ["error": "\(error)"])
        }
        do {
            try await self.repository.announce(PresenceSignal.batch(outgoing))
            if self.index.withLock({ $0.announcing.set(false) }) {
                self.logger.info("presence announcements go out again")
            }
        } catch {
            // Lost announcements would leave other daemons with a stale picture for good: the
            // next tick announces everything again from a clean slate.
            self.announceEverything()
            if self.index.withLock({ $0.announcing.set(true) }) {
                self.logger.warning(
                    "presence announcements failed; every lease is announced again until they go out",
                    metadata: ["error": "\(error)"]
                )
            }
        }
        await self.storeWaitingModes(now: now)
        await self.notify(due)
    }

    private func notify(_ due: [(user: User, online: Bool)]) async {
        if !due.isEmpty {
            self.logger.debug(
                "presence changes",
                metadata: ["presence.changes": "\(due.map { "\(Hex.encode($0.user.bytes.prefix(4)))=\($0.online)" })"]
            )
        }
        // Each watcher that was told otherwise hears of it (and is recorded as told).
        let targets = self.index.withLock { index -> [((user: User, online: Bool), [any PresenceWatcher])] in
            due.compactMap { change in
                guard let watchers = index.watchers[change.user] else { return nil }
                var sessions: [any PresenceWatcher] = []
                for (id, session) in watchers {
                    let told: Bool? = index.watching[id]?[change.user] ?? nil
                    guard told != change.online else { continue }
                    index.watching[id]?.updateValue(change.online, forKey: change.user)
                    sessions.append(session)
                }
                return sessions.isEmpty ? nil : (change, sessions)
            }
        }
        guard !targets.isEmpty else { return }
        let offline = targets.filter { !$0.0.online }.map(\.0.user)
        let settings = (try? await self.repository.presenceSettings(of: offline)) ?? [:]
        let nowMs = self.clock.wallMs
        for (change, sessions) in targets {
            let frame = Self.frame(
                Self.presence(
                    change.user,
                    online: change.online,
                    lastSeenMs: settings[change.user]?.lastSeenMs ?? nowMs,
                    nowMs: nowMs
                )
            )
            let bytes = frame
            for session in sessions { session.push(buffer: bytes) }
        }
    }
}
