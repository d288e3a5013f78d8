import Logging
import Store
import TestSupport
import Testing

@Suite struct PostgresListenerTests {
    @Test func notificationsReachEverySubscriberOfTheirChannelOnly() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            let listener = PostgresListener(configuration: .init(conninfo: url), logger: .quiet)
            let first = Collector<PostgresListener.Event>()
            let second = Collector<PostgresListener.Event>()
            let other = Collector<PostgresListener.Event>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                let a = try await listener.subscribe(to: "Conv.Updates")
                let b = try await listener.subscribe(to: "Conv.Updates")
                let c = try await listener.subscribe(to: "elsewhere")
                group.addTask { for await event in a { first.append(event) } }
                group.addTask { for await event in b { second.append(event) } }
                group.addTask { for await event in c { other.append(event) } }

                for i in 1...5 {
                    try await client.query("SELECT pg_notify(\("Conv.Updates"), \("seq=\(i)"))")
                }
                // NOTIFY inside a transaction is delivered at commit, in order.
                try await client.withTransaction { tx in
                    try await tx.query("NOTIFY \"Conv.Updates\", 'seq=6'")
                }
                let received = try await first.wait(forCount: 6)
                let payloads = received.compactMap { event -> String? in
                    guard case .notification(let n) = event else { return nil }
                    #expect(n.channel == "Conv.Updates")
                    #expect(n.backendPID > 0)
                    return n.payload
                }
                #expect(payloads == (1...6).map { "seq=\($0)" })
                try await second.wait(forCount: 6)
                #expect(other.all.isEmpty)
                listener.shutdown()
                try await group.waitForAll()
            }
            let error = await #expect(throws: PostgresError.self) { try await listener.subscribe(to: "late") }
            #expect(error?.code == .listenerClosed)
        }
    }
}
