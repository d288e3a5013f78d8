import Logging
import Store
import TestSupport
import Testing

/// The client against a real PostgreSQL server (a fresh database per test).
@Suite struct PostgresClientTests {
    func withClient<R>(maxConnections: Int = 4, _ body: (PostgresClient) async throws -> R) async throws -> R {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: maxConnections), logger: .quiet)
            defer { client.shutdown() }
            return try await body(client)
        }
    }

    @Test(arguments: [PostgresFormat.text, .binary])
    func parametersRoundTripInBothResultFormats(format: PostgresFormat) async throws {
        try await self.withClient { client in
            let bytes: [UInt8] = [0, 1, 2, 254, 255]
            let missing: String? = nil
            let result = try await client.query(
                """
                SELECT \(Int64.max)::int8 AS big, \(Int32(-7))::int4 AS small, \(Int16(300))::int2 AS tiny,
                       \(true) AS yes, \(2.5) AS real, \("héllo ✓") AS text, \(bytes) AS blob, \(missing)::text AS nothing
                """,
                format: format
            )
            #expect(result.count == 1)
            #expect(result.columns.map(\.name) == ["big", "small", "tiny", "yes", "real", "text", "blob", "nothing"])
            let row = result[0]
            #expect(try row["big"].decode(Int64.self) == Int64.max)
            #expect(try row["small"].decode(Int32.self) == -7)
            #expect(try row["small"].decode(Int.self) == -7)
            #expect(try row["tiny"].decode(Int16.self) == 300)
            #expect(try row["yes"].decode(Bool.self) == true)
            #expect(try row["real"].decode(Double.self) == 2.5)
            #expect(try row["text"].decode(String.self) == "héllo ✓")
            #expect(try row["blob"].decode([UInt8].self) == bytes)
            #expect(try row["nothing"].decode(String?.self) == nil)
            #expect(row["nothing"].isNull)
            let tuple = try row.decode((Int64, Int32, Int16, Bool, Double, String, [UInt8], String?).self)
            #expect(tuple.5 == "héllo ✓")
        }
    }

    @Test func decodingMismatchesAreErrorsNotCrashes() async throws {
        try await self.withClient { client in
            let result = try await client.query("SELECT NULL::int4 AS n, 'x'::text AS t, 99999::int4 AS big", format: .binary)
            let row = result[0]
            #expect(throws: PostgresError.self) { try row["n"].decode(Int.self) }
            #expect(throws: PostgresError.self) { try row["t"].decode(Int.self) }
            #expect(throws: PostgresError.self) { try row["big"].decode(Int16.self) }
            #expect(throws: PostgresError.self) { try row["missing"].decode(Int.self) }
            #expect(throws: PostgresError.self) { try row.decode((Int?, String).self) }
        }
    }

    @Test func serverErrorsKeepTheirSQLStateAndTheConnectionStaysUsable() async throws {
        try await self.withClient(maxConnections: 1) { client in
            try await client.query("CREATE TABLE items (id int PRIMARY KEY)")
            try await client.query("INSERT INTO items VALUES (\(1))")
            let duplicate = await #expect(throws: PostgresError.self) {
                try await client.query("INSERT INTO items VALUES (\(1))")
            }
            #expect(duplicate?.code == .server)
            #expect(duplicate?.sqlState == "23505")
            #expect(duplicate?.isUniqueViolation == true)
            #expect(duplicate?.query == "INSERT INTO items VALUES ($1)")
            // The description never carries the server's message (it could quote data).
            #expect(duplicate.map { "\($0)" } == "PostgresError(server, sqlstate 23505)")
            let syntax = await #expect(throws: PostgresError.self) { try await client.query("SELEC 1") }
            #expect(syntax?.sqlState == "42601")
            let count = try await client.query("SELECT count(*) FROM items")
            #expect(try count[0][0].decode(Int.self) == 1)
        }
    }

    @Test func pipelineStopsAtTheFirstFailure() async throws {
        try await self.withClient { client in
            try await client.query("CREATE TABLE log (v int)")
            let results = try await client.pipeline([
                "INSERT INTO log VALUES (1)", "INSERT INTO log VALUES (2)", "SELECT count(*) FROM log",
            ])
            #expect(results.count == 3)
            #expect(results[0].affectedRows == 1)
            #expect(try results[2][0][0].decode(Int.self) == 2)
            let error = await #expect(throws: PostgresError.self) {
                try await client.pipeline([
                    "INSERT INTO log VALUES (3)", "INSERT INTO log VALUES ('x')", "INSERT INTO log VALUES (4)",
                ])
            }
            #expect(error?.sqlState == "22P02")
            // A pipeline is one implicit transaction: nothing of the failed batch remains.
            let values = try await client.query("SELECT v FROM log ORDER BY v").map { try $0[0].decode(Int.self) }
            #expect(values == [1, 2])
        }
    }

    @Test func transactionsCommitAndRollBack() async throws {
        try await self.withClient { client in
            try await client.query("CREATE TABLE accounts (name text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))")
            try await client.withTransaction { tx in
                try await tx.query("INSERT INTO accounts VALUES (\("a"), \(10)), (\("b"), \(0))")
            }
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await client.withTransaction { tx in
                    try await tx.query("UPDATE accounts SET balance = balance - 5 WHERE name = \("a")")
                    throw Abort()
                }
            }
            let failed = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { tx in
                    try await tx.query("UPDATE accounts SET balance = balance + 20 WHERE name = \("b")")
                    try await tx.query("UPDATE accounts SET balance = balance - 20 WHERE name = \("a")")
                }
            }
            #expect(failed?.sqlState == "23514")
            let balances = try await client.query("SELECT name, balance FROM accounts ORDER BY name").map {
                try $0.decode((String, Int).self)
            }
            #expect(balances.map(\.0) == ["a", "b"])
            #expect(balances.map(\.1) == [10, 0])
        }
    }

    @Test func connectionLeftInsideATransactionIsNotReused() async throws {
        try await self.withClient(maxConnections: 1) { client in
            let firstPID = try await client.withConnection { connection in
                try await connection.query("BEGIN")
                return try await connection.query("SELECT pg_backend_pid()")[0][0].decode(Int32.self)
            }
            let secondPID = try await client.query("SELECT pg_backend_pid()")
            // A fresh connection (a different backend), not the one left inside a transaction.
            #expect(try secondPID[0][0].decode(Int32.self) != firstPID)
        }
    }

    @Test func simpleQueryRunsSeveralStatements() async throws {
        try await self.withClient { client in
            let results = try await client.withConnection { connection in
                try await connection.simpleQuery("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2); SELECT sum(v) FROM t;")
            }
            #expect(results.count == 3)
            #expect(try results[2][0][0].decode(Int.self) == 3)
            // Pipeline mode is back on for the next request on that connection.
            #expect(try await client.query("SELECT \(41) + 1")[0][0].decode(Int.self) == 42)
        }
    }

    @Test func hundredConcurrentQueriesShareAFewConnections() async throws {
        try await self.withClient(maxConnections: 4) { client in
            let sums = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for i in 0..<100 {
                    group.addTask {
                        let result = try await client.query("SELECT \(i) * 2, pg_sleep(0.01)")
                        return (i, try result[0][0].decode(Int.self))
                    }
                }
                var all: [(Int, Int)] = []
                for try await pair in group { all.append(pair) }
                return all
            }
            #expect(sums.count == 100)
            #expect(sums.allSatisfy { $0.1 == $0.0 * 2 })
            let stats = client.statistics
            #expect(stats.open <= 4)
            #expect(stats.open >= 1)
            #expect(stats.waiting == 0)
            let backends = try await client.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'polygated'"
            )
            #expect(try backends[0][0].decode(Int.self) <= 4)
        }
    }

    @Test func tooManyParametersIsRefusedBeforeSending() async throws {
        try await self.withClient { client in
            var bindings = PostgresBindings()
            for i in 0..<70_000 { bindings.append(i) }
            let error = await #expect(throws: PostgresError.self) {
                try await client.query(PostgresQuery(unsafeSQL: "SELECT 1", bindings: bindings))
            }
            #expect(error?.code == .tooManyParameters)
            let one = try await client.query("SELECT 1")[0][0].decode(Int.self)
            #expect(one == 1)
        }
    }

    @Test func unreachableServerFailsFastWithAConnectionError() async throws {
        let port = TestEnvironment.freePort()
        let client = PostgresClient(
            configuration: .init(conninfo: "postgresql://postgres@127.0.0.1:\(port)/nothing", connectTimeout: .seconds(5)),
            logger: .quiet
        )
        defer { client.shutdown() }
        let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
        #expect(error?.code == .connectionFailed)
        #expect(error.map { "\($0)" }?.contains("\(port)") == true)
        #expect(client.statistics.open == 0)
    }

    @Test func shutdownRefusesNewWork() async throws {
        try await self.withClient { client in
            try await client.query("SELECT 1")
            client.shutdown()
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
            #expect(error?.code == .poolClosed)
        }
    }
}
