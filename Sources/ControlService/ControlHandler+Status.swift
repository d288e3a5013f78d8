import Control
import Foundation
import Gateway
import Presence
import Store

/// `status` and `check`.
extension ControlHandler {
    /// How long `status` and `check` wait for the database before saying it is unreachable
    /// (they must answer while it is away: that is when an operator asks).
    static let probeTimeout: Duration = .seconds(3)

    /// The database's schema version, clock and round trip, within ``probeTimeout``.
    func probeDatabase() async throws -> (schemaVersion: Int64, nowMs: Int64, latency: Duration) {
        let repository = self.context.repository
        switch await answerWithin(Self.probeTimeout, { try await repository.probe() }) {
        case .success(let probe): return probe
        case .failure(let error): throw error
        case nil: throw ProbeTimedOut()
        }
    }

    struct ProbeTimedOut: Error, CustomStringConvertible {
        var description: String { "no answer within \(ControlHandler.probeTimeout.components.seconds) s" }
    }
    func status() async -> ControlValue {
        let statistics = self.context.realtime.statistics
        var database: ControlValue = "ok"
        var latency: ControlValue = .null
        var schema: ControlValue = .null
        do {
            let probe = try await self.probeDatabase()
            latency = .double((Double(probe.latency / .microseconds(1)) / 1000).rounded(toPlaces: 2))
            schema = .int(probe.schemaVersion)
        } catch {
            database = .string("unreachable: \(error)")
        }
        let uptime = ContinuousClock.now - self.context.started
        return [
            "version": .string(self.context.version),
            "gateway_id": .string(self.context.gatewayID),
            "uptime_seconds": .int(uptime.components.seconds),
            "ready": .string(self.context.readiness()),
            "accepting": .bool(self.context.realtime.isAccepting),
            "database": database,
            "database_latency_ms": latency,
            "schema_version": schema,
            "connections": .int(Int64(statistics.webSocketSessions + statistics.sseSessions)),
            "authenticated": .int(Int64(statistics.authenticatedSessions)),
            "websocket": .int(Int64(statistics.webSocketSessions)),
            "sse": .int(Int64(statistics.sseSessions)),
            "conversations_live": .int(Int64(statistics.conversations)),
            "leases": .int(Int64(self.context.realtime.presence.leases.count)),
            "sealed_key": self.context.sealedKey().map { .string($0) } ?? .null,
        ]
    }

    /// Health checks: each `{check, ok, detail}`, and a summary.
    func check() async -> ControlValue {
        var checks: [(String, Bool, String)] = []
        do {
            let probe = try await self.probeDatabase()
            let latency = (Double(probe.latency / .microseconds(1)) / 1000).rounded(toPlaces: 2)
            checks.append(("database", true, "reachable, \(latency) ms round trip"))
            let skewMs = abs(probe.nowMs - Int64(Date().timeIntervalSince1970 * 1000))
            checks.append(
                (
                    "clock", skewMs < 5000,
                    "\(skewMs) ms from the database's clock\(skewMs < 5000 ? "" : " (more than 5 s: check NTP)")"
                )
            )
            do {
                let migrations = try await self.context.migrations()
                let current = migrations.pending == 0 && migrations.unknown == 0
                checks.append(
                    (
                        "schema", current,
                        current
                            ? "version \(probe.schemaVersion), nothing pending"
                            : "\(migrations.pending) pending, \(migrations.unknown) unknown (polygated migrate)"
                    )
                )
            } catch {
                checks.append(("schema", false, "cannot read the migrations: \(error)"))
            }
        } catch {
            checks.append(("database", false, "unreachable: \(error)"))
        }
        let listening = self.context.listener.isConnected
        checks.append(
            (
                "notifications", listening,
                listening ? "LISTEN connection up" : "LISTEN connection down: other daemons' appends arrive late"
            )
        )
        let accepting = self.context.realtime.isAccepting
        checks.append(("gateway", accepting, accepting ? "accepting connections" : "not accepting connections"))
        let presence = self.context.realtime.presence
        let mismatched = presence.mismatchedTTLs
        let ours = presence.leaseTTL.components.seconds
        checks.append(
            (
                "presence", mismatched.isEmpty,
                mismatched.isEmpty
                    ? "lease_ttl \(ours) s, the same on every daemon heard"
                    : "lease_ttl \(ours) s here, but "
                        + mismatched.map { "\($0.ttl.components.seconds) s on daemon \($0.instance)" }.joined(separator: ", ")
                        + ": set the same presence.lease_ttl on every daemon"
            )
        )
        let readiness = self.context.readiness()
        checks.append(("readiness", readiness == "ready", readiness))
        let failed = checks.filter { !$0.1 }.count
        return [
            "summary": .string("\(checks.count) checks, \(checks.count - failed) ok, \(failed) failed"),
            "failed": .int(Int64(failed)),
            "checks": .array(checks.map { ["check": .string($0.0), "ok": .bool($0.1), "detail": .string($0.2)] }),
        ]
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
