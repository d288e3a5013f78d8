import FaultInjection
import Logging
import Store
import TestSupport
import Testing

/// Failover to a standby with PostgreSQL's own streaming replication (issue 16; polygate(7),
/// "High availability"): a durable primary and a hot standby made with `pg_basebackup`,
/// replicating synchronously (`synchronous_standby_names = '*'`); polygated with a multi-host
/// URL and `target_session_attrs=read-write`. The primary dies during traffic, the standby is
/// promoted, polygated finds the new primary by itself, and no acknowledged message is lost.
@Suite struct FailoverTests {
    @Test func promotingASynchronousStandbyLosesNoAcknowledgedMessage() async throws {
        let primary = try await PostgresCluster.start(durable: true)
        var standby: PostgresCluster?
        var daemon: ManagedDaemon?
        do {
            standby = try await primary.startStandby()
            let replica = try #require(standby)
            // Synchronous from now on: a commit returns once the standby has it on disk.
            let admin = PostgresClient(configuration: .init(conninfo: primary.url(), maxConnections: 1), logger: .quiet)
            try await admin.query("ALTER SYSTEM SET synchronous_standby_names = '*'")
            try await admin.query("SELECT pg_reload_conf()")
            let deadline = ContinuousClock.now + .seconds(30)
            var state = ""
            while state != "sync", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                let rows = try await admin.query("SELECT coalesce(max(sync_state), '') FROM pg_stat_replication")
                state = try rows[0][0].decode(String.self)
            }
            admin.shutdown()
            #expect(state == "sync")

            let url =
                "postgresql://postgres@127.0.0.1:\(primary.port),127.0.0.1:\(replica.port)/postgres?target_session_attrs=read-write"
            let managed = ManagedDaemon(
                harness: try DaemonHarness(databaseURL: url, extra: "\n" + GatewayHarness.baseGatewayConfig, gatewayID: "gw_ha")
            )
            daemon = managed
            try await managed.start()
            let traffic = Traffic(plan: FaultInjectionTests.plan(messages: 600), ports: [managed.port])
            try await traffic.prepare()
            async let report = traffic.run(deadline: .seconds(120))

            try await traffic.waitUntil(acknowledged: 200)
            try await primary.stop(mode: .immediate)
            let died = ContinuousClock.now
            try await replica.promote()
            try await HTTPTestClient.waitFor(port: managed.port, "/readyz", timeout: .seconds(60)) { $0.status == 200 }
            let recovered = ContinuousClock.now - died
            try await traffic.waitUntil(acknowledged: 400)
            let result = await report
            print("failover to a promoted synchronous standby: ready \(recovered) after the primary died; \(result)")
            #expect(result.holds, "\(result)")
            #expect(traffic.refusals.isEmpty, "\(traffic.refusals)")
            #expect(managed.exitedStatus == nil)
            // Everything acknowledged is on the new primary.
            let promoted = PostgresClient(configuration: .init(conninfo: replica.url(), maxConnections: 1), logger: .quiet)
            defer { promoted.shutdown() }
            let stored = try await promoted.query("SELECT count(*) FROM gw_log")[0][0].decode(Int64.self)
            #expect(stored >= Int64(result.acknowledged - result.duplicatesSuppressed))
        } catch {
            daemon?.kill9()
            await standby?.destroy()
            await primary.destroy()
            throw TestFailure("\(error)\n--- polygated ---\n\(daemon?.stderr.suffix(6000) ?? "")")
        }
        daemon?.kill9()
        await standby?.destroy()
        await primary.destroy()
    }
}
