public import Logging

/// Applies numbered migrations in order, each in its own transaction, recording them in the
/// `schema_migrations` table; then re-applies every stored function whose text differs from
/// what the database last got (`schema_functions`), all in one transaction.
///
/// Safe to run twice (applied migrations are skipped) and from several processes at once: the
/// whole run holds a PostgreSQL session advisory lock, so a second daemon waits and then finds
/// nothing left to do. An applied migration whose SQL has changed since, or a database that has
/// migrations this program does not know, stops the run with a clear error.
public struct Migrator: Sendable {
    /// Advisory lock key: the ASCII bytes of "polygate" as a big-endian Int64.
    public static let defaultLockKey: Int64 = 0x706F_6C79_6761_7465

    public let migrations: [Migration]
    public let functions: [SchemaFunction]
    public let lockKey: Int64

    /// - Throws: ``PostgresError`` (``PostgresError/Code/migrationFailed``) when versions repeat or are out of order.
    public init(
        migrations: [Migration],
        functions: [SchemaFunction] = [],
        lockKey: Int64 = Migrator.defaultLockKey
    ) throws(PostgresError) {
        for (previous, next) in zip(migrations, migrations.dropFirst()) where next.version <= previous.version {
            throw PostgresError(
                code: .migrationFailed,
                message: "migration \(next.version)_\(next.name) does not follow \(previous.version)_\(previous.name)"
            )
        }
        guard Set(functions.map(\.name)).count == functions.count else {
            throw PostgresError(code: .migrationFailed, message: "two function files have one name")
        }
        self.migrations = migrations
        self.functions = functions
        self.lockKey = lockKey
    }

    /// The outcome of ``migrate(using:logger:)``.
    public struct Report: Sendable, Hashable {
        /// Migrations applied by this run, in order.
        public var applied: [Migration]
        /// The highest version now in the database (0 for none).
        public var currentVersion: Int
        /// Function files (re-)applied by this run, by name.
        public var functionsApplied: [String] = []
    }

    /// The database's migration state, without changing anything.
    public struct Status: Sendable, Hashable {
        /// Versions recorded in the database.
        public var appliedVersions: [Int]
        /// Known migrations not yet applied.
        public var pending: [Migration]
        /// Applied versions this program does not know.
        public var unknownVersions: [Int]
    }

    /// Applies every pending migration.
    ///
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/migrationFailed`` (the failing
    ///   migration was rolled back; earlier ones stay applied), ``PostgresError/Code/migrationModified``
    ///   or ``PostgresError/Code/schemaTooNew``, or a connection error.
    @discardableResult
    public func migrate(using client: PostgresClient, logger: Logger) async throws -> Report {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(self.lockKey))")
            do {
                let report = try await self.migrateLocked(connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(self.lockKey))")
                return report
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(self.lockKey))")
                throw error
            }
        }
    }

    /// Reads which migrations are applied and which are pending.
    public func status(using client: PostgresClient) async throws -> Status {
        try await client.withConnection { connection in
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
            let applied = try exists[0][0].decode(Bool.self) ? try await Self.applied(connection) : []
            let known = Set(self.migrations.map(\.version))
            return Status(
                appliedVersions: applied.map(\.version),
                pending: self.migrations.filter { m in !applied.contains { $0.version == m.version } },
                unknownVersions: applied.map(\.version).filter { !known.contains($0) }
            )
        }
    }

    private func migrateLocked(_ connection: PostgresConnection, logger: Logger) async throws -> Report {
        try await Self.createTable(connection)
        let applied = try await Self.applied(connection)
        let known = Dictionary(uniqueKeysWithValues: self.migrations.map { ($0.version, $0) })
        for record in applied {
            guard let migration = known[record.version] else {
                throw PostgresError(
                    code: .schemaTooNew,
                    message: "the database has migration \(record.version) (\(record.name)), which this program does not know; "
                        + "a newer polygated has used this database"
                )
            }
            guard migration.checksum == record.checksum else {
                throw PostgresError(
                    code: .migrationModified,
                    message: "migration \(record.version) (\(record.name)) was changed after it was applied"
                )
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        var done: [Migration] = []
        for migration in self.migrations where !appliedVersions.contains(migration.version) {
            logger.info(
                "applying migration",
                metadata: [StoreLogKey.migrationVersion: "\(migration.version)", StoreLogKey.migrationName: "\(migration.name)"]
            )
            try await connection.query("BEGIN")
            do {
                try await connection.simpleQuery(migration.sql)
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))"
                )
                try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                // The SQL is ours, not user data, so the server's reason can go into the message.
                let cause = error as? PostgresError
                let reason = cause?.message.map { ": \($0)" } ?? ": \(error)"
                throw PostgresError(
                    code: .migrationFailed,
                    sqlState: cause?.sqlState,
                    message: "migration \(migration.version) (\(migration.name)) failed and was rolled back\(reason)",
                    detail: cause?.detail
                )
            }
            done.append(migration)
        }
        let current = max(applied.map(\.version).max() ?? 0, done.last?.version ?? 0)
        let functions = try await self.applyFunctions(connection, logger: logger)
        return Report(applied: done, currentVersion: current, functionsApplied: functions)
    }

    /// Applies the function files whose text the database does not have, in one transaction.
    private func applyFunctions(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        guard !self.functions.isEmpty else { return [] }
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_functions (
                name       text        PRIMARY KEY,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        let rows = try await connection.query("SELECT name, checksum FROM schema_functions")
        var stored: [String: String] = [:]
        for row in rows {
            let (name, checksum) = try row.decode((String, String).self)
            stored[name] = checksum
        }
        let changed = self.functions.filter { stored[$0.name] != $0.checksum }
        guard !changed.isEmpty else { return [] }
        try await connection.query("BEGIN")
        do {
            for function in changed {
                logger.info("applying stored functions", metadata: [StoreLogKey.functionFile: "\(function.name)"])
                do {
                    try await connection.simpleQuery(function.sql)
                } catch {
                    let cause = error as? PostgresError
                    throw PostgresError(
                        code: .migrationFailed,
                        sqlState: cause?.sqlState,
                        message: "function file \(function.name).sql failed, and no function file was applied"
                            + (cause?.message.map { ": \($0)" } ?? ": \(error)"),
                        detail: cause?.detail
                    )
                }
                try await connection.query(
                    """
                    INSERT INTO schema_functions (name, checksum) VALUES (\(function.name), \(function.checksum))
                    ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                    """
                )
            }
            try await connection.query("COMMIT")
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
        return changed.map(\.name)
    }

    private static func createTable(_ connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
    }

    private struct AppliedRecord {
        var version: Int
        var name: String
        var checksum: String
    }

    private static func applied(_ connection: PostgresConnection) async throws -> [AppliedRecord] {
        let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        return try rows.map { row in
            let (version, name, checksum) = try row.decode((Int, String, String).self)
            return AppliedRecord(version: version, name: name, checksum: checksum)
        }
    }
}
