import Logging
import Store
import TestSupport
import Testing

/// Behaviour across a server restart and outage, each test on a cluster of its own.
@Suite struct ServerRestartTests {
    @Test func poolReconnectsAfterPgCtlRestart() async throws {
        try await PostgresCluster.with { cluster in
            let client = PostgresClient(configuration: .init(conninfo: cluster.url(), maxConnections: 2), logger: .quiet)
            defer { client.shutdown() }
            let before = try await client.query("SELECT pg_backend_pid()")[0][0].decode(Int32.self)
            #expect(client.statistics.open == 1)
            try await cluster.restart()
            // The old connection was terminated by the restart; the pool notices and opens a new one.
            let after = try await client.query("SELECT pg_backend_pid()")[0][0].decode(Int32.self)
            #expect(after != before)
            #expect(client.statistics.open == 1)
        }
    }

    @Test func queriesFailWhileTheServerIsDownAndWorkWhenItReturns() async throws {
        try await PostgresCluster.with { cluster in
            let client = PostgresClient(configuration: .init(conninfo: cluster.url(), maxConnections: 2), logger: .quiet)
            defer { client.shutdown() }
            try await client.query("SELECT 1")
            try await cluster.stop()
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
            #expect(error?.isConnectionError == true)
            try await cluster.startServer()
            #expect(try await client.query("SELECT \(7)")[0][0].decode(Int.self) == 7)
        }
    }

    /// A server stopped in `immediate` mode sends each session a notice and closes it at once.
    /// Queries in flight on every pooled connection fail at once, and the pool holds no dead
    /// connection after. (When the notice and the end came in one readiness event, the end
    /// could go unread and a connection looked alive; that race shows under load, in
    /// FaultInjectionTests.databaseCrashAndOutageLoseNothing, about one run in two before
    /// `LibPQConnection.readable()` read to the end.)
    @Test func anImmediateStopClosesEveryPooledConnection() async throws {
        try await PostgresCluster.with { cluster in
            let client = PostgresClient(configuration: .init(conninfo: cluster.url(), maxConnections: 8), logger: .quiet)
            defer { client.shutdown() }
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { (try? await client.query("SELECT pg_sleep(30)")) == nil }
                }
                while client.statistics.open < 8 { try await Task.sleep(for: .milliseconds(20)) }
                try await Task.sleep(for: .milliseconds(300))
                let stopped = ContinuousClock.now
                try await cluster.stop(mode: .immediate)
                var failed = 0
                for try await didFail in group where didFail { failed += 1 }
                #expect(failed == 8)
                // Well under the 30 s the queries would sleep on a connection nobody closed (5 s
                // was once exceeded by a loaded machine stopping the server).
                #expect(
                    ContinuousClock.now - stopped < .seconds(20),
                    "queries on dead connections waited \(ContinuousClock.now - stopped)"
                )
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while client.statistics.open > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(client.statistics.open == 0, "\(client.statistics.open) dead connections still open")
        }
    }

    @Test func listenerResubscribesAfterRestartAndSaysSo() async throws {
        try await PostgresCluster.with { cluster in
            let client = PostgresClient(configuration: .init(conninfo: cluster.url()), logger: .quiet)
            defer { client.shutdown() }
            let listener = PostgresListener(
                configuration: .init(conninfo: cluster.url(), minimumReconnectDelay: .milliseconds(50)),
                logger: .quiet
            )
            let events = Collector<PostgresListener.Event>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                let stream = try await listener.subscribe(to: "restart_channel")
                group.addTask { for await event in stream { events.append(event) } }

                try await client.query("SELECT pg_notify(\("restart_channel"), \("before"))")
                try await events.wait(forCount: 1)
                try await cluster.restart()
                try await events.wait("a reconnected event") { $0.contains(.reconnected) }
                try await client.query("SELECT pg_notify(\("restart_channel"), \("after"))")
                let all = try await events.wait(forCount: 3)
                let payloads = all.compactMap { event -> String? in
                    if case .notification(let n) = event { return n.payload }
                    return nil
                }
                #expect(payloads == ["before", "after"])
                #expect(all[1] == .reconnected)
                listener.shutdown()
                try await group.waitForAll()
            }
        }
    }
}
