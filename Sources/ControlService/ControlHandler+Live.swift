import Control
import Gateway
import GatewayWire
import Presence
import Primitives

/// Commands over this daemon's memory: connections, presence leases, rate limits.
extension ControlHandler {
    func connections(limit: Int) -> ControlValue {
        let now = self.context.realtime.now
        let sessions = self.context.realtime.sessions.sorted { $0.id < $1.id }.prefix(limit)
        return [
            "items": .array(
                sessions.map { session in
                    let identity = session.identity
                    return [
                        "session": .int(Int64(session.id)),
                        "transport": .string(session.transport.rawValue),
                        "peer": .string(session.peer),
                        "user": ControlValue(identity.map { Hex.encode($0.userID) }),
                        "device": ControlValue(identity.map { Hex.encode($0.deviceID) }),
                        "age_seconds": .int((now - session.openedAt).components.seconds),
                        "queued": .int(Int64(session.outbox.queuedFrames)),
                    ]
                }
            )
        ]
    }

    func kick(_ target: String) async throws -> ControlValue {
        let closed: Int
        if ControlCommandLine.isSession(target), let id = UInt64(target) {
            closed = self.context.realtime.kick(session: id)
            guard closed > 0 else { throw ControlError(.notFound, "no session \(target) on this daemon") }
        } else {
            closed = self.context.realtime.kick(device: try await self.resolve("device", target, as: DeviceID.self))
        }
        return ["closed": .int(Int64(closed))]
    }

    func presenceList(limit: Int) -> ControlValue {
        let presence = self.context.realtime.presence
        var byUser: [UserID: (devices: Int, left: Duration)] = [:]
        for lease in presence.leases {
            let current = byUser[lease.user] ?? (0, .zero)
            byUser[lease.user] = (current.devices + 1, max(current.left, lease.left))
        }
        let rows = byUser.sorted { Hex.encode($0.key) < Hex.encode($1.key) }.prefix(limit)
        return [
            "items": .array(
                rows.map { user, lease in
                    [
                        "user": .string(Hex.encode(user)),
                        "devices": .int(Int64(lease.devices)),
                        "ttl_left_ms": .int(max(0, lease.left.milliseconds)),
                        "invisible": .bool(presence.inspect(user).invisible),
                        "watchers": .int(Int64(presence.watcherCount(of: user))),
                    ]
                }
            )
        ]
    }

    func presence(of user: UserID) async throws -> ControlValue {
        let presence = self.context.realtime.presence
        let state = presence.inspect(user)
        let leases = presence.leases.filter { $0.user == user }
        let lastSeen = try await presence.lastSeen(of: user).map { Int64($0) }
        return [
            "user": .string(Hex.encode(user)),
            "online": .bool(state.online),
            "invisible": .bool(state.invisible),
            "devices_here": .int(Int64(leases.count)),
            "ttl_left_ms": leases.map { ControlValue.int(max(0, $0.left.milliseconds)) }.max { ($0.int ?? 0) < ($1.int ?? 0) }
                ?? .null,
            "other_daemons": .int(Int64(state.otherDaemons)),
            "watchers": .int(Int64(presence.watcherCount(of: user))),
            "last_seen": Self.iso(ms: lastSeen),
        ]
    }

    func rateLimits(of target: String?) async throws -> ControlValue {
        let levels = self.context.realtime.limiter.snapshot(now: self.context.realtime.now)
        var key: String?
        if let target {
            // An address is shown as given (it has state or not); a device must exist.
            key =
                Self.isIP(target)
                ? "ip \(target)" : "device \(Hex.encode(try await self.resolve("device", target, as: DeviceID.self)))"
        }
        let shown = levels.filter { level in key.map { level.key.hasPrefix($0) } ?? true }
        return [
            "items": .array(
                shown.map {
                    [
                        "key": .string($0.key),
                        "bucket": .string($0.bucket),
                        "tokens": .double($0.tokens.rounded(toPlaces: 2)),
                        "burst": .double($0.burst),
                    ]
                }
            )
        ]
    }

    func resetRateLimits(of target: String) async throws -> ControlValue {
        let limiter = self.context.realtime.limiter
        if Self.isIP(target) {
            return ["key": .string("ip \(target)"), "reset": .bool(limiter.reset(ip: target))]
        }
        let device = try await self.resolve("device", target, as: DeviceID.self)
        return ["key": .string("device \(Hex.encode(device))"), "reset": .bool(limiter.reset(device: device))]
    }

    static func isIP(_ text: String) -> Bool { text.contains(".") || text.contains(":") }
}
