package import GatewayWire
import Primitives

/// What daemons tell each other about presence, as `NOTIFY polygate_presence`
/// (docs/GATEWAY_SPEC.md §10). Leases are soft state: each daemon announces its own, and
/// forgets another's when its heartbeats stop.
package enum PresenceSignal: Sendable, Hashable {
    /// Users with a first live lease on `instance`: `a:<instance>:<user hex>,…`.
    case acquired(instance: String, users: [UserID])
    /// Users whose last lease on `instance` ended: `d:<instance>:<user hex>,…`.
    case released(instance: String, users: [UserID])
    /// `instance` is alive, and holds leases for `ttlMs` (its `presence.lease_ttl`):
    /// `h:<instance>:<ttl ms>` (`h:<instance>` from daemons before 0.x: TTL unknown).
    case heartbeat(instance: String, ttlMs: UInt64?)
    /// `instance` (re)starts its announcements from nothing: `z:<instance>`.
    case reset(instance: String)
    /// `instance` asks every daemon to announce all its leases: `q:<instance>`.
    case resync(instance: String)
    /// A user's mode changed: `i:<user hex>:<0|1>`.
    case invisible(user: UserID, Bool)

    package static let channel = "polygate_presence"

    /// NOTIFY payloads are limited to 8000 bytes: at most this many users in one.
    static let usersPerPayload = 100

    /// The payloads of this signal (several when it names many users).
    package var payloads: [String] {
        switch self {
        case .acquired(let instance, let users): Self.batched("a", instance, users)
        case .released(let instance, let users): Self.batched("d", instance, users)
        case .heartbeat(let instance, let ttl): [ttl.map { "h:\(instance):\($0)" } ?? "h:\(instance)"]
        case .reset(let instance): ["z:\(instance)"]
        case .resync(let instance): ["q:\(instance)"]
        case .invisible(let user, let flag): ["i:\(Hex.encode(user)):\(flag ? 1 : 0)"]
        }
    }

    private static func batched(_ tag: String, _ instance: String, _ users: [UserID]) -> [String] {
        stride(from: 0, to: users.count, by: Self.usersPerPayload).map { start in
            "\(tag):\(instance):"
                + users[start..<min(start + Self.usersPerPayload, users.count)].map { Hex.encode($0) }.joined(separator: ",")
        }
    }

    /// The signals of one flush as they are to be sent together, in one transaction.
    ///
    /// PostgreSQL delivers identical payloads of one transaction only once, at the first one's
    /// place: `a:X`, `d:X`, `a:X`, `d:X` would arrive as `a:X`, `d:X`… or `d:X`, `a:X`, and leave X
    /// online on every other daemon for good (issue 16). So acquisitions and releases are reduced
    /// to each user's last change since the previous other signal (a reset, say), in one `d:` and
    /// one `a:` per such stretch, and no payload repeats.
    package static func batch(_ signals: [PresenceSignal]) -> [PresenceSignal] {
        var out: [PresenceSignal] = []
        // The stretch since the last other signal: per instance, users in first-seen order and
        // each one's last change (true: acquired).
        var instances: [String] = []
        var users: [String: [UserID]] = [:]
        var final: [String: [UserID: Bool]] = [:]
        func flush() {
            for instance in instances {
                let order = users[instance] ?? []
                let released = order.filter { final[instance]?[$0] == false }
                let acquired = order.filter { final[instance]?[$0] == true }
                if !released.isEmpty { out.append(.released(instance: instance, users: released)) }
                if !acquired.isEmpty { out.append(.acquired(instance: instance, users: acquired)) }
            }
            instances = []
            users = [:]
            final = [:]
        }
        func note(_ instance: String, _ changed: [UserID], _ acquired: Bool) {
            if final[instance] == nil {
                instances.append(instance)
                final[instance] = [:]
            }
            for user in changed {
                if final[instance]?.updateValue(acquired, forKey: user) == nil { users[instance, default: []].append(user) }
            }
        }
        for signal in signals {
            switch signal {
            case .acquired(let instance, let changed): note(instance, changed, true)
            case .released(let instance, let changed): note(instance, changed, false)
            default:
                flush()
                out.append(signal)
            }
        }
        flush()
        // Payloads that still repeat (a second reset, say) would be dropped by PostgreSQL anyway.
        var seen: Set<String> = []
        return out.filter { signal in signal.payloads.reduce(false) { seen.insert($1).inserted || $0 } }
    }

    /// Parses one payload; nil for anything malformed.
    package init?(payload: String) {
        let parts = payload.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, !parts[1].isEmpty else { return nil }
        switch (parts[0], parts.count) {
        case ("a", 3), ("d", 3):
            let users = parts[2].split(separator: ",").map { Hex.decode(String($0)) }
            guard !users.isEmpty, users.allSatisfy({ $0?.count == 32 }) else { return nil }
            self =
                parts[0] == "a"
                ? .acquired(instance: parts[1], users: users.compactMap { $0.map(UserID.init) })
                : .released(instance: parts[1], users: users.compactMap { $0.map(UserID.init) })
        case ("h", 2): self = .heartbeat(instance: parts[1], ttlMs: nil)
        case ("h", 3):
            guard let ttl = UInt64(parts[2]), ttl > 0 else { return nil }
            self = .heartbeat(instance: parts[1], ttlMs: ttl)
        case ("z", 2): self = .reset(instance: parts[1])
        case ("q", 2): self = .resync(instance: parts[1])
        case ("i", 3):
            guard let user = Hex.decode(parts[1]), user.count == 32, parts[2] == "0" || parts[2] == "1" else { return nil }
            self = .invisible(user: UserID(user), parts[2] == "1")
        default: return nil
        }
    }
}
