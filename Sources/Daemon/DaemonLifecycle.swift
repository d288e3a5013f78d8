import BuildInfo
import Gateway
import HTTPFront
import Logging
import ServiceLifecycle
import Store
import Systemd

#if canImport(Glibc)
import Glibc
#endif

/// Brings the daemon to readiness and reports each step to systemd:
/// wait for the database (with backoff) → apply migrations → `READY=1`; on graceful shutdown,
/// `/readyz` turns 503 and `STOPPING=1` is sent before the HTTP listeners drain.
///
/// It runs last in the service group, so that it is the first to hear of a graceful shutdown.
struct DaemonLifecycle: Service, CustomStringConvertible {
    var description: String { "DaemonLifecycle" }

    var configuration: DaemonConfiguration
    var database: PostgresClient
    var realtime: RealtimeGateway
    var readiness: Readiness
    var listening: [ListenAddress]
    var notifier: SystemdNotifier
    var logger: Logger

    func run() async throws {
        guard await self.waitForDatabase() else {
            self.beginDraining()
            return
        }
        let schemaVersion = try await self.prepareSchema()
        self.readiness.set(.starting("starting the realtime gateway"))
        self.notifier.notify(.status("starting the realtime gateway"))
        try await self.realtime.prepare()
        let ledger = AuditLedger(client: self.database, gatewayID: self.configuration.daemon.gatewayID)
        try? await ledger.record(
            "daemon.started",
            actor: "system",
            details: ["version": PolygateVersion.string, "schema_version": "\(schemaVersion)", "pid": "\(getpid())"]
        )
        self.readiness.set(.ready)
        let addresses = self.listening.map(\.description).joined(separator: ", ")
        self.notifier.notify(
            .ready,
            .status("serving on \(addresses), gateway \(self.configuration.daemon.gatewayID), schema version \(schemaVersion)")
        )
        self.logger.notice(
            "polygated ready",
            metadata: [
                "polygate.version": "\(PolygateVersion.string)", "polygate.gateway_id": "\(self.configuration.daemon.gatewayID)",
                "http.listen": "\(addresses)", "db.schema_version": "\(schemaVersion)",
            ]
        )
        try? await gracefulShutdown()
        self.beginDraining()
        try? await ledger.record("daemon.stopping", actor: "system", details: ["pid": "\(getpid())"])
    }

    private func beginDraining() {
        self.readiness.set(.draining)
        self.notifier.notify(.stopping, .status("draining"))
        self.logger.notice("polygated stopping: draining requests in flight")
    }

    /// Retries `SELECT 1` until it works; false when shutdown came first.
    private func waitForDatabase() async -> Bool {
        self.readiness.set(.starting("waiting for database"))
        self.notifier.notify(.status("waiting for database"))
        var delay = Duration.milliseconds(250)
        var attempts = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await self.database.query("SELECT 1")
                if attempts > 0 { self.logger.notice("database reachable") }
                return true
            } catch {
                attempts += 1
                // The first failure, then every tenth, to keep the journal readable.
                if attempts == 1 || attempts % 10 == 0 {
                    self.logger.warning(
                        "database unreachable; retrying",
                        metadata: ["db.error": "\(error)", "db.attempts": "\(attempts)", "db.retry.delay": "\(delay)"]
                    )
                }
                self.notifier.notify(.status("waiting for database: \(error)"))
            }
            let pause = delay
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            delay = min(delay * 2, .seconds(5))
        }
        return false
    }

    /// Applies migrations (or, with `migrate_on_start = false`, checks that none are pending).
    /// Returns the schema version.
    private func prepareSchema() async throws -> Int {
        let migrator = PolygateSchema.migrator
        if self.configuration.database.migrateOnStart {
            self.readiness.set(.starting("applying migrations"))
            self.notifier.notify(.status("applying migrations"))
            let report = try await migrator.migrate(using: self.database, logger: self.logger)
            if !report.applied.isEmpty {
                self.logger.notice("migrations applied", metadata: ["db.migrations": "\(report.applied.map(\.version))"])
            }
            if !report.functionsApplied.isEmpty {
                self.logger.notice("stored functions applied", metadata: ["db.functions": "\(report.functionsApplied)"])
            }
            return report.currentVersion
        }
        let status = try await migrator.status(using: self.database)
        if !status.unknownVersions.isEmpty {
            throw PostgresError(
                code: .schemaTooNew,
                message: "the database has migrations \(status.unknownVersions) that this polygated does not know"
            )
        }
        if !status.pending.isEmpty {
            throw PostgresError(
                code: .migrationFailed,
                message:
                    "migrations \(status.pending.map(\.version)) are pending and migrate_on_start is false; run 'polygated migrate'"
            )
        }
        return status.appliedVersions.max() ?? 0
    }
}
