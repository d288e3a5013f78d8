/// One numbered schema change: the SQL of `Migrations/NNNN_name.sql`.
///
/// Migration SQL runs inside a transaction that the migrator opens, so it must not contain
/// `BEGIN`/`COMMIT` itself.
public struct Migration: Sendable, Hashable {
    /// The number from the file name; migrations run in increasing order.
    public let version: Int
    /// The rest of the file name, without the extension.
    public let name: String
    /// The SQL text.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// A migration from a file name of the form `NNNN_name.sql` and its contents.
    public init(fileName: String, contents: [UInt8]) throws(PostgresError) {
        guard fileName.hasSuffix(".sql") else {
            throw PostgresError(code: .migrationFailed, message: "migration file \(fileName) does not end in .sql")
        }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0,
            stem[..<underscore].allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw PostgresError(code: .migrationFailed, message: "migration file \(fileName) is not named NNNN_name.sql")
        }
        self.init(
            version: version,
            name: String(stem[stem.index(after: underscore)...]),
            sql: String(decoding: contents, as: UTF8.self)
        )
    }

    /// FNV-1a (64 bit) of the SQL text, in hex: detects a file edited after it was applied.
    public var checksum: String { Self.fnv1a(self.sql) }

    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
