import Logging
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `polygated` binary as a child process, against a real PostgreSQL.
@Suite struct DaemonProcessTests {
    /// Starts the daemon, runs `body`, and always leaves no process behind.
    func withDaemon(
        _ harness: DaemonHarness,
        environment: [String: String] = [:],
        _ body: (TestProcess) async throws -> Void
    ) async throws {
        let process = try harness.start(environment: environment)
        do {
            try await body(process)
            process.kill9()
        } catch {
            process.kill9()
            throw TestFailure("\(error)\n--- polygated stderr ---\n\(process.stderr)")
        }
    }

    @Test func notifiesReadyStatusWatchdogAndStoppingAndRecordsTheLedger() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            let notify = try NotifySocket()
            try await self.withDaemon(harness, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"]) { daemon in
                let startup = try await notify.receive(until: { $0.contains("READY=1") })
                let ready = try #require(startup.last)
                #expect(ready.hasPrefix("READY=1\nSTATUS=serving on 127.0.0.1:\(harness.port), gateway gw_test, schema version "))
                #expect(startup.contains("STATUS=waiting for database"))
                #expect(startup.contains("STATUS=applying migrations"))
                // Readiness was announced only with the listener up: it answers at once.
                let health = try await HTTPTestClient.get(port: harness.port, "/healthz")
                #expect(health.status == 200)
                #expect(try await HTTPTestClient.get(port: harness.port, "/readyz").status == 200)
                // Pings at half of WATCHDOG_USEC.
                try await notify.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(5))
                try await notify.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(5))

                daemon.signal(SIGTERM)
                try await notify.receive(until: { $0.hasPrefix("STOPPING=1") }, timeout: .seconds(10))
                #expect(try await daemon.waitForExit(timeout: .seconds(20)) == 0)
                #expect(!HTTPTestClient.isListening(port: harness.port))
            }
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 1), logger: .quiet)
            defer { client.shutdown() }
            let events = try await client.query("SELECT event, gateway_id FROM audit_ledger ORDER BY id").map {
                try $0.decode((String, String).self)
            }
            #expect(events.map(\.0) == ["daemon.started", "daemon.stopping"])
            #expect(events.allSatisfy { $0.1 == "gw_test" })
        }
    }

    /// SIGHUP (systemctl reload) without a TLS listener reads the sealed-session keys again and
    /// nothing else; the daemon goes on serving (before issue 17, SIGHUP's default action ended it).
    @Test func sighupWithoutTLSReloadsOnlyTheKeys() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            try await self.withDaemon(harness) { daemon in
                _ = try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                daemon.signal(SIGHUP)
                let deadline = ContinuousClock.now + .seconds(10)
                while !daemon.stderr.contains("sealed-session keys reloaded"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(daemon.stderr.contains("sealed-session keys reloaded"))
                #expect(!daemon.stderr.contains("TLS certificate"))
                #expect(daemon.exitedStatus == nil)
                #expect(try await HTTPTestClient.get(port: harness.port, "/readyz").status == 200)
            }
        }
    }

    @Test func healthReadinessAndMetricsEndpoints() async throws {
        try await TestPostgres.withDatabase { url in
            let token = "metrics-token-0123456789"
            let harness = try DaemonHarness(databaseURL: url, extra: "[metrics]\ntoken = \"\(token)\"\n")
            try await self.withDaemon(harness) { daemon in
                let ready = try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                #expect(ready.body == "{\"gateway_id\":\"gw_test\",\"status\":\"ready\"}\n")
                #expect(ready.headers["cache-control"] == "no-store")
                let health = try await HTTPTestClient.get(port: harness.port, "/healthz")
                #expect(health.status == 200)
                #expect(health.headers["content-type"] == "application/json")
                #expect(health.headers["server"]?.hasPrefix("polygated/") == true)
                #expect(health.headers["date"]?.hasSuffix(" GMT") == true)

                let anonymous = try await HTTPTestClient.get(port: harness.port, "/metrics")
                #expect(anonymous.status == 401)
                #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                let wrong = try await HTTPTestClient.get(
                    port: harness.port,
                    "/metrics",
                    headers: ["Authorization": "Bearer \(token)x"]
                )
                #expect(wrong.status == 401)
                let metrics = try await HTTPTestClient.get(
                    port: harness.port,
                    "/metrics",
                    headers: ["Authorization": "Bearer \(token)"]
                )
                #expect(metrics.status == 200)
                #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(metrics.body.contains("polygate_build_info{version=\""))
                #expect(metrics.body.contains("polygate_ready 1"))
                #expect(metrics.body.contains("polygate_db_pool_connections{state=\"open\"}"))

                let missing = try await HTTPTestClient.get(port: harness.port, "/nothing-here")
                #expect(missing.status == 404)
                #expect(try await DaemonHarness.stop(daemon) == 0)
            }
        }
    }

    @Test func readyzFollowsTheDatabaseDownAndBackUp() async throws {
        try await PostgresCluster.with { cluster in
            let harness = try DaemonHarness(databaseURL: cluster.url())
            try await self.withDaemon(harness) { daemon in
                try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                try await cluster.stop()
                let down = try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 503 }
                #expect(down.body.contains("database unreachable"))
                #expect(down.headers["retry-after"] == "5")
                // Liveness does not depend on the database.
                #expect(try await HTTPTestClient.get(port: harness.port, "/healthz").status == 200)
                try await cluster.startServer()
                try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                #expect(try await DaemonHarness.stop(daemon) == 0)
            }
        }
    }

    @Test func startsWithoutTheDatabaseAndBecomesReadyWhenItArrives() async throws {
        try await PostgresCluster.with { cluster in
            try await cluster.stop()
            let harness = try DaemonHarness(databaseURL: cluster.url())
            let notify = try NotifySocket()
            try await self.withDaemon(harness, environment: ["NOTIFY_SOCKET": notify.path]) { daemon in
                try await notify.receive(until: { $0.hasPrefix("STATUS=waiting for database: ") })
                let starting = try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 503 }
                #expect(starting.body.contains("\"status\":\"starting\""))
                #expect(starting.body.contains("waiting for database"))
                #expect(try await HTTPTestClient.get(port: harness.port, "/healthz").status == 200)
                try await cluster.startServer()
                try await notify.receive(until: { $0.hasPrefix("READY=1") })
                #expect(try await HTTPTestClient.get(port: harness.port, "/readyz").status == 200)
                #expect(try await DaemonHarness.stop(daemon) == 0)
            }
        }
    }

    @Test func sigtermWhileWaitingForTheDatabaseStopsCleanly() async throws {
        let port = TestEnvironment.freePort()  // nothing listens: the database is unreachable
        let harness = try DaemonHarness(databaseURL: "postgresql://postgres@127.0.0.1:\(port)/none")
        let notify = try NotifySocket()
        try await self.withDaemon(harness, environment: ["NOTIFY_SOCKET": notify.path]) { daemon in
            try await notify.receive(until: { $0.hasPrefix("STATUS=waiting for database: ") })
            daemon.signal(SIGTERM)
            try await notify.receive(until: { $0.hasPrefix("STOPPING=1") })
            #expect(try await daemon.waitForExit(timeout: .seconds(20)) == 0)
            #expect(daemon.stderr.contains("database unreachable; retrying"))
        }
    }

    @Test func busyListenAddressFailsWithAClearError() async throws {
        try await TestPostgres.withDatabase { url in
            let (fd, port) = try TestSockets.listeningTCP()
            defer { TestSockets.close(fd) }
            let harness = try DaemonHarness(databaseURL: url, port: port)
            let daemon = try harness.start()
            defer { daemon.kill9() }
            #expect(try await daemon.waitForExit(timeout: .seconds(20)) == 1)
            #expect(daemon.stderr.contains("Address already in use"))
        }
    }

    @Test func migrateCommandAppliesReportsAndIsIdempotent() async throws {
        try await TestPostgres.withDatabase { url in
            // Three migrate processes in a row while the parallel suites load the machine: a
            // connection may take more than the harness's usual 2 s to come.
            let harness = try DaemonHarness(databaseURL: url, connectTimeout: "20s")
            let status = try await DaemonHarness.run(["migrate", "--status", "--config", harness.configPath])
            #expect(status.status == 0)
            #expect(status.stdout.contains("applied: none"))
            #expect(
                status.stdout.contains(
                    "pending: 1 (audit_ledger), 2 (social), 3 (delivery), 4 (gateway_sessions), 5 (presence), 6 (welcome_member_devices), 7 (blocks_welcomes_contacts), 8 (membership_caps), 9 (append_notify_after_commit), 10 (group_commit), 11 (device_last_seen), 12 (pairings), 13 (blobs)\n"
                )
            )
            let first = try await DaemonHarness.run(["migrate", "--config", harness.configPath])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(
                first.stdout.contains(
                    "applied 1 (audit_ledger)\napplied 2 (social)\napplied 3 (delivery)\napplied 4 (gateway_sessions)\napplied 5 (presence)\napplied 6 (welcome_member_devices)\napplied 7 (blocks_welcomes_contacts)\napplied 8 (membership_caps)\napplied 9 (append_notify_after_commit)\napplied 10 (group_commit)\napplied 11 (device_last_seen)\napplied 12 (pairings)\napplied 13 (blobs)\napplied stored functions: gw_append, gw_contact, gw_page\nschema version 13"
                )
            )
            let second = try await DaemonHarness.run(["migrate", "--config", harness.configPath])
            #expect(second.stdout.contains("schema is up to date (version 13)"), "status \(second.status): \(second.stderr)")
            let after = try await DaemonHarness.run(["migrate", "--status", "--config", harness.configPath])
            #expect(after.stdout.contains("pending: none"), "status \(after.status): \(after.stderr)")
        }
    }

    @Test func migrateWithoutADatabaseFails() async throws {
        let harness = try DaemonHarness(databaseURL: "postgresql://postgres@127.0.0.1:\(TestEnvironment.freePort())/none")
        let result = try await DaemonHarness.run(["migrate", "--config", harness.configPath])
        #expect(result.status == 1)
        #expect(result.stderr.contains("migration failed: PostgresError(connection_failed"))
    }

    @Test func migrateOnStartFalseRefusesAnUnmigratedDatabase() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url, extra: "migrate_on_start = false\n")
            let daemon = try harness.start()
            defer { daemon.kill9() }
            #expect(try await daemon.waitForExit(timeout: .seconds(30)) == 1)
            #expect(daemon.stderr.contains("run 'polygated migrate'"))
        }
    }
}
