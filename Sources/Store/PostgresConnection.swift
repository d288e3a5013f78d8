/// A connection leased from a ``PostgresClient`` for the duration of `withConnection` or
/// `withTransaction`. Do not keep it beyond that closure.
public struct PostgresConnection: Sendable {
    let connection: LibPQConnection

    init(connection: LibPQConnection) {
        self.connection = connection
    }

    /// Runs one statement.
    @discardableResult
    public func query(_ query: PostgresQuery, format: PostgresFormat = .text) async throws -> PostgresQueryResult {
        try await self.connection.execute([query], resultFormat: format)[0]
    }

    /// Runs several statements in one round trip; if one fails the later ones do not run and
    /// the first error is thrown. Outside a transaction block they form one implicit transaction
    /// (all or nothing); inside one, a failure leaves the transaction aborted.
    public func pipeline(_ queries: [PostgresQuery], format: PostgresFormat = .text) async throws -> [PostgresQueryResult] {
        precondition(!queries.isEmpty, "a pipeline needs at least one statement")
        return try await self.connection.execute(queries, resultFormat: format)
    }

    /// Runs SQL text that may contain several statements and no parameters (the simple query
    /// protocol), e.g. a migration file. Results come back in text format.
    @discardableResult
    public func simpleQuery(_ sql: String) async throws -> [PostgresQueryResult] {
        try await self.connection.executeSimple(sql)
    }
}
