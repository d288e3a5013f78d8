import Logging
import Store
import TestSupport
import Testing

/// Binary array parameters, unnested by a real server.
@Suite struct PostgresArrayTests {
    @Test func arraysOfEveryElementTypeUnnestIntoRows() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 1), logger: .quiet)
            defer { client.shutdown() }
            let blobs: [[UInt8]?] = [[0, 1, 255], nil, []]
            let numbers: [Int64?] = [Int64.min, 7, nil]
            let texts: [String?] = ["héllo ✓", "", nil]
            let smalls: [Int16] = [1, -2, 300]
            let flags: [Bool] = [true, false, true]
            let rows = try await client.query(
                """
                SELECT b, n, t, s, f FROM unnest(\(PostgresArray(blobs)), \(PostgresArray(numbers)), \(PostgresArray(texts)),
                                               \(PostgresArray(smalls)), \(PostgresArray(flags))) WITH ORDINALITY AS u(b, n, t, s, f, i)
                ORDER BY i
                """,
                format: .binary
            )
            #expect(rows.count == 3)
            let decoded = try rows.map { try $0.decode(([UInt8]?, Int64?, String?, Int16, Bool).self) }
            #expect(decoded.map(\.0) == blobs)
            #expect(decoded.map(\.1) == numbers)
            #expect(decoded.map(\.2) == texts)
            #expect(decoded.map(\.3) == smalls)
            #expect(decoded.map(\.4) == flags)

            let empty = try await client.query("SELECT cardinality(\(PostgresArray([Int64]())))", format: .binary)
            #expect(try empty[0][0].decode(Int32.self) == 0)
        }
    }
}
