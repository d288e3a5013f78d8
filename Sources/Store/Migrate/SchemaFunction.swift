/// A stored function's definition: the SQL of `Functions/name.sql`, one or more
/// `CREATE OR REPLACE FUNCTION` statements.
///
/// Functions are not migrations: they have one home, their file, and the migrator re-applies a
/// file whose text has changed after every migration run (ADR 0019). A change to a function's
/// signature needs a migration that drops the old one; any change comes with a migration (if
/// only a comment), so that an older daemon refuses the database instead of re-applying its own
/// definitions over newer ones.
public struct SchemaFunction: Sendable, Hashable {
    /// The file name without `.sql`.
    public let name: String
    /// The SQL text.
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// A function file `name.sql` and its contents.
    public init(fileName: String, contents: [UInt8]) throws(PostgresError) {
        guard fileName.hasSuffix(".sql"), fileName.count > 4 else {
            throw PostgresError(code: .migrationFailed, message: "function file \(fileName) does not end in .sql")
        }
        self.init(name: String(fileName.dropLast(4)), sql: String(decoding: contents, as: UTF8.self))
    }

    /// FNV-1a (64 bit) of the SQL text, in hex: tells whether the database has this text.
    public var checksum: String { Migration.fnv1a(self.sql) }
}
