package import Gateway
package import Logging
import Primitives
import Store

extension DaemonConfiguration {
    /// `"7d"`, `"12h"`, … as the configuration file writes durations.
    package static func duration(_ text: String) -> Duration? { parseDuration(text) }
}

extension Daemon {
    /// The sealed-session key file under `daemon.state_directory`, created when missing.
    ///
    /// - Throws: ``GatewayKeyRingError`` naming the file and what is wrong.
    package static func keys(configuration: DaemonConfiguration, logger: Logger) throws(GatewayKeyRingError) -> GatewayKeyStore {
        try GatewayKeyStore(directory: configuration.daemon.stateDirectory, nowMs: GatewayClock().wallMs, logger: logger)
    }

    /// `polygated show-key`: the keys in force, newest first, as lines or JSON.
    package static func describeKeys(_ ring: GatewayKeyRing, json: Bool) -> String {
        let keys = ring.accepted(nowMs: GatewayClock().wallMs)
        if json {
            let items = keys.map { key in
                "{\"key\":\"\(key.hex)\",\"created_ms\":\(key.createdMs)"
                    + (key.retiresMs.map { ",\"retires_ms\":\($0)" } ?? "") + "}"
            }
            return "{\"protocol\":\"\(GatewayKeyRing.protocolName)\",\"keys\":[\(items.joined(separator: ","))]}\n"
        }
        return keys.map { key in
            let state = key.retiresMs.map { "accepted until \(GatewayClock.iso8601(ms: Int64(clamping: $0)))" } ?? "current"
            return "\(key.hex)  \(state), created \(GatewayClock.iso8601(ms: Int64(clamping: key.createdMs)))\n"
        }.joined()
    }

    /// `polygated rotate-keys`: a new current key in the file, the others accepted for `overlap`,
    /// and `gateway.key_rotated` in the ledger (when the database answers).
    package static func rotateKeys(
        store: GatewayKeyStore,
        overlap: Duration,
        configuration: DaemonConfiguration,
        logger: Logger
    ) async throws -> GatewayKeyRing {
        let now = GatewayClock().wallMs
        var ring = store.current
        let previous = ring.current.hex
        ring.rotate(nowMs: now, overlap: overlap)
        try GatewayKeyStore.write(ring, to: store.path)
        let database = Self.oneConnection(configuration, logger: logger)
        defer { database.shutdown() }
        do {
            try await AuditLedger(client: database, gatewayID: configuration.daemon.gatewayID).record(
                "gateway.key_rotated",
                actor: "admin",
                subject: ring.current.hex,
                details: ["previous": previous, "previous_retires_ms": "\(now + UInt64(max(0, overlap.milliseconds)))"]
            )
        } catch {
            logger.warning(
                "the rotation is done but not in the audit ledger: the database did not answer",
                metadata: ["error": "\(error)"]
            )
        }
        return ring
    }
}
