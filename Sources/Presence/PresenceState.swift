package import GatewayWire

/// The presence of users as one daemon knows it, as a value (docs/GATEWAY_SPEC.md §10): the
/// leases of its own devices, what other daemons announced, who is invisible, and which
/// watcher notifications are due after coalescing. No I/O, no clock: time is passed in.
///
/// A user is **online** when it is not invisible and some device holds a live lease — here or
/// on another daemon whose announcements are still fresh.
package struct PresenceState: Sendable {
    package typealias User = UserID
    package typealias Device = DeviceID
    package typealias Instance = String

    /// What the owner must do after a change of this daemon's own leases.
    package enum LocalChange: Sendable, Hashable {
        /// The user's first live lease on this daemon: announce it to the other daemons.
        case acquired(User)
        /// The user's last lease on this daemon ended: announce it, and record last-seen unless
        /// the user is invisible.
        case released(User)
    }

    struct Lease: Sendable, Hashable {
        var user: User
        var expires: Duration
    }

    struct Remote: Sendable {
        var users: Set<User>
        var lastHeard: Duration
        /// The lease TTL the daemon announced with its heartbeats (nil: not told yet).
        var ttl: Duration?
    }

    /// How long announcements of a silent daemon stay valid (the lease TTL).
    package let remoteTTL: Duration
    /// How long a change waits before watchers are told (changes within it are merged).
    package let coalesce: Duration

    private var leases: [Device: Lease] = [:]
    private var localCounts: [User: Int] = [:]
    private var remotes: [Instance: Remote] = [:]
    private var invisible: Set<User> = []
    /// Users with a notification pending, and when it is due.
    private var pending: [User: Duration] = [:]

    package init(remoteTTL: Duration, coalesce: Duration) {
        self.remoteTTL = remoteTTL
        self.coalesce = coalesce
    }

    // MARK: Reading

    /// Whether `user` is online (visible, with a live lease somewhere).
    package func isOnline(_ user: User) -> Bool {
        !self.invisible.contains(user) && self.hasLease(user)
    }

    /// Whether `user` holds a live lease anywhere (invisible or not).
    package func hasLease(_ user: User) -> Bool {
        (self.localCounts[user] ?? 0) > 0 || self.remotes.values.contains { $0.users.contains(user) }
    }

    package func isInvisible(_ user: User) -> Bool { self.invisible.contains(user) }

    /// How many other daemons announce a lease of `user`.
    package func remoteCount(of user: User) -> Int { self.remotes.values.filter { $0.users.contains(user) }.count }

    /// Users with live leases on this daemon (for announcements).
    package var localUsers: [User] { Array(self.localCounts.keys) }

    /// Devices holding leases on this daemon.
    package var leaseCount: Int { self.leases.count }

    /// The lease of a device: its user and how long it has left at `now`.
    package func lease(of device: Device, now: Duration) -> (user: User, left: Duration)? {
        self.leases[device].map { ($0.user, $0.expires - now) }
    }

    /// Every local lease with its time left.
    package func leases(now: Duration) -> [(device: Device, user: User, left: Duration)] {
        self.leases.map { ($0.key, $0.value.user, $0.value.expires - now) }
    }

    // MARK: Local leases

    /// A device takes (or renews) a lease until `now + ttl`.
    package mutating func acquire(device: Device, user: User, ttl: Duration, now: Duration) -> LocalChange? {
        if var lease = self.leases[device] {
            lease.expires = now + ttl
            self.leases[device] = lease
            return nil
        }
        self.leases[device] = Lease(user: user, expires: now + ttl)
        let count = (self.localCounts[user] ?? 0) + 1
        self.localCounts[user] = count
        self.touch(user, now: now)
        return count == 1 ? .acquired(user) : nil
    }

    /// Renews a held lease to run `ttl` from `now` — shorter than what was left, when asked
    /// (docs/GATEWAY_SPEC.md §10.1); false when the device holds none (it expired: acquire again).
    package mutating func renew(device: Device, ttl: Duration, now: Duration) -> Bool {
        guard var lease = self.leases[device] else { return false }
        lease.expires = now + ttl
        self.leases[device] = lease
        return true
    }

    /// A device's lease ends (disconnect).
    package mutating func release(device: Device, now: Duration) -> LocalChange? {
        guard let lease = self.leases.removeValue(forKey: device) else { return nil }
        return self.drop(lease.user, now: now)
    }

    /// Leases past their expiry end.
    package mutating func expire(now: Duration) -> [LocalChange] {
        let expired = self.leases.filter { $0.value.expires <= now }
        var changes: [LocalChange] = []
        for (device, lease) in expired {
            self.leases[device] = nil
            if let change = self.drop(lease.user, now: now) { changes.append(change) }
        }
        return changes
    }

    private mutating func drop(_ user: User, now: Duration) -> LocalChange? {
        let count = (self.localCounts[user] ?? 1) - 1
        self.localCounts[user] = count > 0 ? count : nil
        self.touch(user, now: now)
        return count == 0 ? .released(user) : nil
    }

    // MARK: Other daemons

    /// Another daemon says these users hold leases there.
    package mutating func remoteAcquired(_ users: [User], instance: Instance, now: Duration) {
        var remote = self.remotes[instance] ?? Remote(users: [], lastHeard: now)
        remote.lastHeard = now
        for user in users where remote.users.insert(user).inserted { self.touch(user, now: now) }
        self.remotes[instance] = remote
    }

    /// Another daemon says these users no longer hold leases there.
    package mutating func remoteReleased(_ users: [User], instance: Instance, now: Duration) {
        guard var remote = self.remotes[instance] else { return }
        remote.lastHeard = now
        for user in users where remote.users.remove(user) != nil { self.touch(user, now: now) }
        self.remotes[instance] = remote
    }

    /// Another daemon is alive (its announcements stay valid), with the lease TTL it announced.
    /// Its announcements then stay valid for the longer of that TTL and ours: a daemon whose
    /// TTL is longer than ours heartbeats less often, and must not be forgotten between beats.
    package mutating func heard(from instance: Instance, ttl: Duration? = nil, now: Duration) {
        if self.remotes[instance] != nil {
            self.remotes[instance]?.lastHeard = now
            if let ttl { self.remotes[instance]?.ttl = ttl }
        } else {
            self.remotes[instance] = Remote(users: [], lastHeard: now, ttl: ttl)
        }
    }

    /// Other daemons whose announced lease TTL differs from ours, with theirs.
    package var mismatchedTTLs: [(instance: Instance, ttl: Duration)] {
        self.remotes.compactMap { instance, remote in
            guard let ttl = remote.ttl, ttl != self.remoteTTL else { return nil }
            return (instance, ttl)
        }.sorted { $0.instance < $1.instance }
    }

    /// Another daemon starts over (it restarted, or re-announces everything).
    package mutating func remoteReset(instance: Instance, now: Duration) {
        guard let remote = self.remotes.removeValue(forKey: instance) else { return }
        for user in remote.users { self.touch(user, now: now) }
        self.remotes[instance] = Remote(users: [], lastHeard: now, ttl: remote.ttl)
    }

    /// Daemons silent for longer than ``remoteTTL`` (or the longer TTL they announced) are
    /// forgotten, and their users with them.
    package mutating func expireRemotes(now: Duration) {
        for (instance, remote) in self.remotes where now - remote.lastHeard > max(self.remoteTTL, remote.ttl ?? .zero) {
            self.remotes[instance] = nil
            for user in remote.users { self.touch(user, now: now) }
        }
    }

    // MARK: Invisibility

    /// The user's mode changed (or became known).
    package mutating func setInvisible(_ user: User, _ flag: Bool, now: Duration) {
        let changed = flag ? self.invisible.insert(user).inserted : self.invisible.remove(user) != nil
        if changed { self.touch(user, now: now) }
    }

    // MARK: Watcher notifications

    /// The user's state may have changed: watchers hear of it at the end of the coalescing
    /// window that starts now (changes inside one window make one notification, or none when
    /// they cancel out).
    private mutating func touch(_ user: User, now: Duration) {
        if self.pending[user] == nil { self.pending[user] = now + self.coalesce }
    }

    /// The users whose coalescing window ended at `now`, with their state now. Each watcher is
    /// told only when that differs from what it was last told (the owner keeps that), so changes
    /// that cancel out within a window reach nobody.
    package mutating func due(now: Duration) -> [(user: User, online: Bool)] {
        var out: [(User, Bool)] = []
        for (user, deadline) in self.pending where deadline <= now {
            self.pending[user] = nil
            out.append((user, self.isOnline(user)))
        }
        return out
    }

    /// When the next notification is due, if any.
    package var nextDue: Duration? { self.pending.values.min() }
}
