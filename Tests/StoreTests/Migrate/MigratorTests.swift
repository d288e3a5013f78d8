import Logging
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct MigratorTests {
    static let sample = [
        Migration(version: 1, name: "people", sql: "CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL);"),
        Migration(
            version: 2,
            name: "pets",
            sql:
                "CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES people(id));\nCREATE INDEX pets_owner ON pets (owner);"
        ),
        Migration(version: 5, name: "seed", sql: "INSERT INTO people VALUES (1, 'ada');"),
    ]

    func tables(_ client: PostgresClient) async throws -> [String] {
        try await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").map {
            try $0[0].decode(String.self)
        }
    }

    @Test func appliesInOrderAndIsIdempotent() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            let migrator = try Migrator(migrations: Self.sample)
            let first = try await migrator.migrate(using: client, logger: .quiet)
            #expect(first.applied.map(\.version) == [1, 2, 5])
            #expect(first.currentVersion == 5)
            #expect(try await self.tables(client) == ["people", "pets", "schema_migrations"])
            let second = try await migrator.migrate(using: client, logger: .quiet)
            #expect(second.applied.isEmpty)
            #expect(second.currentVersion == 5)
            let recorded = try await client.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").map {
                try $0.decode((Int, String, String).self)
            }
            #expect(recorded.map(\.0) == [1, 2, 5])
            #expect(recorded.map(\.2) == Self.sample.map(\.checksum))
            let status = try await migrator.status(using: client)
            #expect(status.pending.isEmpty)
            #expect(status.unknownVersions.isEmpty)
        }
    }

    @Test func newMigrationsAreAppliedLater() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            try await Migrator(migrations: Array(Self.sample.prefix(1))).migrate(using: client, logger: .quiet)
            let status = try await Migrator(migrations: Self.sample).status(using: client)
            #expect(status.appliedVersions == [1])
            #expect(status.pending.map(\.version) == [2, 5])
            let report = try await Migrator(migrations: Self.sample).migrate(using: client, logger: .quiet)
            #expect(report.applied.map(\.version) == [2, 5])
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationExactlyOnce() async throws {
        try await TestPostgres.withDatabase { url in
            // Five "daemons", each with its own pool, start at the same moment.
            let clients = (0..<5).map { _ in
                PostgresClient(configuration: .init(conninfo: url, maxConnections: 1), logger: .quiet)
            }
            defer { for client in clients { client.shutdown() } }
            let migrator = try Migrator(migrations: Self.sample)
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for client in clients { group.addTask { try await migrator.migrate(using: client, logger: .quiet) } }
                var all: [Migrator.Report] = []
                for try await report in group { all.append(report) }
                return all
            }
            #expect(reports.count == 5)
            #expect(reports.flatMap(\.applied).map(\.version).sorted() == [1, 2, 5])
            #expect(reports.allSatisfy { $0.currentVersion == 5 })
            let count = try await clients[0].query("SELECT count(*) FROM schema_migrations")
            #expect(try count[0][0].decode(Int.self) == 3)
        }
    }

    @Test func failingMigrationIsRolledBackAndStopsTheRun() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            let broken = [
                Self.sample[0],
                Migration(version: 2, name: "half", sql: "CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1);"),
                Migration(version: 3, name: "never", sql: "CREATE TABLE never (id int);"),
            ]
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator(migrations: broken).migrate(using: client, logger: .quiet)
            }
            #expect(error?.code == .migrationFailed)
            #expect(error?.sqlState == "42P01")
            #expect(error?.message?.contains("migration 2 (half)") == true)
            #expect(try await self.tables(client) == ["people", "schema_migrations"])
            // The pool connection is healthy (no transaction, no lock left behind).
            let locks = try await client.query(
                """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """
            )
            #expect(try locks[0][0].decode(Int.self) == 0)
        }
    }

    @Test func editedMigrationIsRefused() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            try await Migrator(migrations: Self.sample).migrate(using: client, logger: .quiet)
            var edited = Self.sample
            edited[0] = Migration(version: 1, name: "people", sql: "CREATE TABLE people (id bigint PRIMARY KEY);")
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator(migrations: edited).migrate(using: client, logger: .quiet)
            }
            #expect(error?.code == .migrationModified)
        }
    }

    @Test func databaseFromANewerVersionIsRefused() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            try await Migrator(migrations: Self.sample).migrate(using: client, logger: .quiet)
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator(migrations: Array(Self.sample.prefix(2))).migrate(using: client, logger: .quiet)
            }
            #expect(error?.code == .schemaTooNew)
            let status = try await Migrator(migrations: Array(Self.sample.prefix(2))).status(using: client)
            #expect(status.unknownVersions == [5])
        }
    }

    static let greeting = SchemaFunction(
        name: "greeting",
        sql:
            "CREATE OR REPLACE FUNCTION greeting(p_id int) RETURNS text LANGUAGE sql AS $$ SELECT 'hello ' || name FROM people WHERE id = p_id $$;"
    )

    @Test func functionsAreAppliedAfterTheMigrationsAndAgainOnlyWhenChanged() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            // The function reads a table that the last migration fills: it is applied after them.
            let first = try await Migrator(migrations: Self.sample, functions: [Self.greeting]).migrate(
                using: client,
                logger: .quiet
            )
            #expect(first.functionsApplied == ["greeting"])
            #expect(try await client.query("SELECT greeting(1)")[0][0].decode(String.self) == "hello ada")
            let again = try await Migrator(migrations: Self.sample, functions: [Self.greeting]).migrate(
                using: client,
                logger: .quiet
            )
            #expect(again.functionsApplied.isEmpty)
            let changed = SchemaFunction(
                name: "greeting",
                sql:
                    "CREATE OR REPLACE FUNCTION greeting(p_id int) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || name FROM people WHERE id = p_id $$;"
            )
            let third = try await Migrator(migrations: Self.sample, functions: [changed]).migrate(using: client, logger: .quiet)
            #expect(third.functionsApplied == ["greeting"])
            #expect(try await client.query("SELECT greeting(1)")[0][0].decode(String.self) == "hi ada")
            let recorded = try await client.query("SELECT checksum FROM schema_functions WHERE name = 'greeting'")
            #expect(try recorded[0][0].decode(String.self) == changed.checksum)
        }
    }

    @Test func aBrokenFunctionFileAppliesNoFunctionFile() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            let broken = SchemaFunction(
                name: "zz_broken",
                sql: "CREATE OR REPLACE FUNCTION zz() RETURNS int LANGUAGE sql AS $$ SELECT * FROM nowhere $$;"
            )
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator(migrations: Self.sample, functions: [Self.greeting, broken]).migrate(
                    using: client,
                    logger: .quiet
                )
            }
            #expect(error?.code == .migrationFailed)
            #expect(error?.message?.contains("function file zz_broken.sql") == true)
            // The migrations stay applied; greeting, in the same transaction, is not.
            #expect(try await self.tables(client).contains("pets"))
            let defined = try await client.query("SELECT count(*) FROM pg_proc WHERE proname IN ('greeting', 'zz')")
            #expect(try defined[0][0].decode(Int.self) == 0)
            let fixed = try await Migrator(migrations: Self.sample, functions: [Self.greeting]).migrate(
                using: client,
                logger: .quiet
            )
            #expect(fixed.functionsApplied == ["greeting"])
        }
    }

    @Test func versionsMustIncrease() {
        #expect(throws: PostgresError.self) {
            try Migrator(migrations: [Self.sample[1], Self.sample[0]])
        }
        #expect(throws: PostgresError.self) {
            try Migrator(migrations: [Self.sample[0], Self.sample[0]])
        }
    }

    @Test(arguments: ["0001_ok.sql", "12_x_y.sql"])
    func wellNamedFilesParse(name: String) throws {
        let migration = try Migration(fileName: name, contents: Array("SELECT 1;".utf8))
        #expect(migration.version > 0)
        #expect(migration.sql == "SELECT 1;")
    }

    @Test(arguments: ["ok.sql", "0001-ok.sql", "0001_ok.txt", "0000_zero.sql", "-1_neg.sql", "x1_y.sql"])
    func badlyNamedFilesAreRefused(name: String) {
        #expect(throws: PostgresError.self) { try Migration(fileName: name, contents: []) }
    }
}

/// polygate's own bundled schema.
@Suite struct PolygateSchemaTests {
    static func sourceDirectory(_ name: String) -> String {
        String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Sources/Store/" + name
    }

    /// The `.sql` files of `directory` (none when it cannot be read, which the callers notice).
    static func sqlFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else {
            Issue.record("cannot open \(directory)")
            return []
        }
        defer { closedir(dir) }
        var files: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".sql") { files.append(name) }
        }
        return files
    }

    /// Every `.sql` file in Sources/Store/Migrations is listed in `PolygateSchema`, in order.
    @Test func everyMigrationFileIsBundled() throws {
        let directory = Self.sourceDirectory("Migrations")
        let files = Self.sqlFiles(in: directory)
        let bundled = PolygateSchema.migrations.map { fourDigits($0.version) + "_" + $0.name + ".sql" }
        #expect(bundled == files.sorted())
        #expect(!bundled.isEmpty)
        for migration in PolygateSchema.migrations {
            #expect(readFile("\(directory)/\(fourDigits(migration.version))_\(migration.name).sql") == migration.sql)
        }
    }

    /// Every `.sql` file in Sources/Store/Functions is listed in `PolygateSchema`, in name order.
    @Test func everyFunctionFileIsBundled() throws {
        let directory = Self.sourceDirectory("Functions")
        let files = Self.sqlFiles(in: directory)
        #expect(PolygateSchema.functions.map { $0.name + ".sql" } == files.sorted())
        for function in PolygateSchema.functions {
            #expect(readFile("\(directory)/\(function.name).sql") == function.sql)
            // Re-applied after every change: only CREATE OR REPLACE belongs in them.
            #expect(!function.sql.contains("CREATE FUNCTION"))
        }
    }

    @Test func schemaAppliesAndTheAuditLedgerIsAppendOnly() async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url), logger: .quiet)
            defer { client.shutdown() }
            try await PolygateSchema.migrator.migrate(using: client, logger: .quiet)
            try await client.query("INSERT INTO audit_ledger (gateway_id, event) VALUES (\("gw_test"), \("test.event"))")
            let update = await #expect(throws: PostgresError.self) {
                try await client.query("UPDATE audit_ledger SET event = 'changed'")
            }
            #expect(update?.sqlState == "42501")
            let delete = await #expect(throws: PostgresError.self) { try await client.query("DELETE FROM audit_ledger") }
            #expect(delete?.sqlState == "42501")
            let rows = try await client.query("SELECT event FROM audit_ledger")
            #expect(try rows.map { try $0[0].decode(String.self) } == ["test.event"])
        }
    }
}

/// `7` → `"0007"`, as migration files are numbered.
func fourDigits(_ value: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
