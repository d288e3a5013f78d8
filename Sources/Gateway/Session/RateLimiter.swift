package import GatewayWire
package import Presence
package import Primitives
import Synchronization

/// The daemon's token buckets (docs/GATEWAY_SPEC.md §7): per device for `Send` and
/// `ClaimKeyPackages` (shared by all of a device's connections, so reconnecting does not refill
/// them), per client IP for new connections and failed authentications, and the reconnect
/// penalty of devices closed with 4029. Buckets are per daemon, not shared between daemons.
///
/// Time is passed in (a duration since any fixed origin), so tests need no clock.
package final class RateLimiter: Sendable {
    /// The per-device buckets.
    package enum DeviceBucket: Sendable, Hashable {
        case send
        case claim
        /// Presence `Watch` requests.
        case watch
    }

    private struct State {
        var send: [DeviceID: TokenBucket] = [:]
        var claim: [DeviceID: TokenBucket] = [:]
        var watch: [DeviceID: TokenBucket] = [:]
        var connect: [String: TokenBucket] = [:]
        var authFailures: [String: TokenBucket] = [:]
        var penalties: [DeviceID: Duration] = [:]
        /// Revoked devices that keep trying, each with the bucket of its recorded attempts.
        var revoked: [DeviceID: TokenBucket] = [:]
        /// Pairings made, per user.
        var pairings: [UserID: TokenBucket] = [:]
        /// Pairing reads and claims, per client IP.
        var pairingAttempts: [String: TokenBucket] = [:]
        /// Rate-limited pairing attempts recorded in the ledger, per client IP.
        var pairingLimitedRecorded: [String: TokenBucket] = [:]
    }

    /// How often the attempts of one revoked device are recorded in the audit ledger.
    package static let revokedAttemptsRecorded = GatewayLimits.Rate(1, per: .seconds(60), burst: 3)

    package let limits: GatewayLimits
    /// The shape of the presence `Watch` bucket.
    package let watchRate: GatewayLimits.Rate
    private let state = Mutex(State())

    package init(limits: GatewayLimits, watchRate: GatewayLimits.Rate = PresenceLimits().watch) {
        self.limits = limits
        self.watchRate = watchRate
    }

    /// Spends a token of `device`'s bucket: nil when allowed, else how long until one is back.
    package func take(_ bucket: DeviceBucket, device: DeviceID, now: Duration) -> Duration? {
        self.state.withLock { state in
            switch bucket {
            case .send:
                var b = state.send[device] ?? TokenBucket(self.limits.sendPerDevice, now: now)
                defer { state.send[device] = b }
                return b.take(now: now)
            case .claim:
                var b = state.claim[device] ?? TokenBucket(self.limits.claimPerDevice, now: now)
                defer { state.claim[device] = b }
                return b.take(now: now)
            case .watch:
                var b = state.watch[device] ?? TokenBucket(self.watchRate, now: now)
                defer { state.watch[device] = b }
                return b.take(now: now)
            }
        }
    }

    /// A pairing made by `user`: nil when allowed, else how long until one is.
    package func takePairing(user: UserID, now: Duration) -> Duration? {
        self.state.withLock { state in
            var bucket = state.pairings[user] ?? TokenBucket(self.limits.pairingsPerUser, now: now)
            defer { state.pairings[user] = bucket }
            return bucket.take(now: now)
        }
    }

    /// A pairing read or claim from `ip`: nil when allowed, else how long until one is.
    package func takePairingAttempt(ip: String, now: Duration) -> Duration? {
        self.state.withLock { state in
            var bucket = state.pairingAttempts[ip] ?? TokenBucket(self.limits.pairingAttemptsPerIP, now: now)
            defer { state.pairingAttempts[ip] = bucket }
            return bucket.take(now: now)
        }
    }

    /// A pairing attempt of `ip` was refused for its rate: whether to record it in the audit
    /// ledger (at most 3 at once, then one a minute, so a guesser cannot flood the ledger).
    package func pairingLimited(ip: String, now: Duration) -> Bool {
        self.state.withLock { state in
            var bucket = state.pairingLimitedRecorded[ip] ?? TokenBucket(Self.revokedAttemptsRecorded, now: now)
            defer { state.pairingLimitedRecorded[ip] = bucket }
            return bucket.take(now: now) == nil
        }
    }

    /// A new connection from `ip`: nil when admitted (a connect token is spent), else how long the
    /// IP must wait — because it connects too often, or failed to authenticate too often.
    package func admit(ip: String, now: Duration) -> Duration? {
        self.state.withLock { state in
            if var failures = state.authFailures[ip] {
                defer { state.authFailures[ip] = failures }
                if let wait = failures.check(now: now) { return wait }
            }
            var connect = state.connect[ip] ?? TokenBucket(self.limits.connectPerIP, now: now)
            defer { state.connect[ip] = connect }
            return connect.take(now: now)
        }
    }

    /// An authentication from `ip` failed.
    package func authenticationFailed(ip: String, now: Duration) {
        self.state.withLock { state in
            var failures = state.authFailures[ip] ?? TokenBucket(self.limits.authFailuresPerIP, now: now)
            failures.charge(now: now)
            state.authFailures[ip] = failures
        }
    }

    /// A revoked device proved its key and was refused (close 4003). It is not a failure of the
    /// client address — the device is known, so one revoked device behind a shared address
    /// cannot lock out everyone else there — and is counted against the device: true when this
    /// attempt is to be recorded (at most ``revokedAttemptsRecorded``), false when it is one
    /// of a stream of retries.
    package func revokedAttempt(device: DeviceID, now: Duration) -> Bool {
        self.state.withLock { state in
            var bucket = state.revoked[device] ?? TokenBucket(Self.revokedAttemptsRecorded, now: now)
            defer { state.revoked[device] = bucket }
            return bucket.take(now: now) == nil
        }
    }

    /// `device` was closed with 4029: it may not authenticate again before `until`.
    package func penalize(device: DeviceID, until: Duration) {
        self.state.withLock { $0.penalties[device] = until }
    }

    /// How long `device` must still wait after a 4029, or nil.
    package func penalty(device: DeviceID, now: Duration) -> Duration? {
        self.state.withLock { state in
            guard let until = state.penalties[device] else { return nil }
            guard until > now else {
                state.penalties[device] = nil
                return nil
            }
            return until - now
        }
    }

    /// Forgets the state of a device or an IP (`gwctl ratelimit reset`); true when there was any.
    @discardableResult
    package func reset(device: DeviceID) -> Bool {
        self.state.withLock { state in
            let had =
                state.send[device] != nil || state.claim[device] != nil || state.watch[device] != nil
                || state.penalties[device] != nil
            state.send[device] = nil
            state.claim[device] = nil
            state.watch[device] = nil
            state.penalties[device] = nil
            return had
        }
    }

    @discardableResult
    package func reset(ip: String) -> Bool {
        self.state.withLock { state in
            let had = state.connect[ip] != nil || state.authFailures[ip] != nil
            state.connect[ip] = nil
            state.authFailures[ip] = nil
            return had
        }
    }

    /// One bucket's level, for inspection.
    package struct Level: Sendable, Hashable {
        /// `device <hex>` or `ip <address>`.
        package var key: String
        package var bucket: String
        package var tokens: Double
        package var burst: Double
    }

    /// Every bucket that is not full, and every penalty in force.
    package func snapshot(now: Duration) -> [Level] {
        self.state.withLock { state in
            var levels: [Level] = []
            func add(_ key: String, _ name: String, _ bucket: inout TokenBucket) {
                let tokens = bucket.level(now: now)
                if tokens < bucket.shape.burst {
                    levels.append(Level(key: key, bucket: name, tokens: tokens, burst: bucket.shape.burst))
                }
            }
            for key in Array(state.send.keys) { add("device \(Hex.encode(key))", "send", &state.send[key]!) }
            for key in Array(state.claim.keys) { add("device \(Hex.encode(key))", "claim", &state.claim[key]!) }
            for key in Array(state.watch.keys) { add("device \(Hex.encode(key))", "watch", &state.watch[key]!) }
            for key in Array(state.connect.keys) { add("ip \(key)", "connect", &state.connect[key]!) }
            for key in Array(state.authFailures.keys) { add("ip \(key)", "auth_failures", &state.authFailures[key]!) }
            for (device, until) in state.penalties where until > now {
                let seconds = Double((until - now).components.seconds)
                levels.append(Level(key: "device \(Hex.encode(device))", bucket: "penalty_seconds", tokens: seconds, burst: 60))
            }
            return levels.sorted { ($0.key, $0.bucket) < ($1.key, $1.bucket) }
        }
    }

    /// Drops full buckets and expired penalties, so that memory follows the active clients.
    package func sweep(now: Duration) {
        self.state.withLock { state in
            Self.dropFull(&state.send, now: now)
            Self.dropFull(&state.claim, now: now)
            Self.dropFull(&state.watch, now: now)
            Self.dropFull(&state.pairings, now: now)
            Self.dropFull(&state.pairingAttempts, now: now)
            Self.dropFull(&state.pairingLimitedRecorded, now: now)
            Self.dropFull(&state.connect, now: now)
            Self.dropFull(&state.authFailures, now: now)
            Self.dropFull(&state.revoked, now: now)
            state.penalties = state.penalties.filter { $0.value > now }
        }
    }

    /// Keeps the buckets that are not full (a full one is the same as none).
    private static func dropFull<Key: Hashable>(_ buckets: inout [Key: TokenBucket], now: Duration) {
        buckets = buckets.filter { _, bucket in
            var b = bucket
            return !b.isFull(now: now)
        }
    }
}
