/// A PostgreSQL type OID. Only the built-in types the store encodes or decodes are named.
public struct PostgresDataType: Hashable, Sendable, CustomStringConvertible {
    public var oid: UInt32

    public init(_ oid: UInt32) { self.oid = oid }

    /// Let the server infer the type from context (libpq's "unspecified").
    public static let unspecified = PostgresDataType(0)
    public static let bool = PostgresDataType(16)
    public static let bytea = PostgresDataType(17)
    public static let char = PostgresDataType(18)
    public static let name = PostgresDataType(19)
    public static let int8 = PostgresDataType(20)
    public static let int2 = PostgresDataType(21)
    public static let int4 = PostgresDataType(23)
    public static let text = PostgresDataType(25)
    public static let oid = PostgresDataType(26)
    public static let json = PostgresDataType(114)
    public static let float4 = PostgresDataType(700)
    public static let float8 = PostgresDataType(701)
    public static let unknown = PostgresDataType(705)
    public static let bpchar = PostgresDataType(1042)
    public static let varchar = PostgresDataType(1043)
    public static let timestamp = PostgresDataType(1114)
    public static let timestamptz = PostgresDataType(1184)
    public static let numeric = PostgresDataType(1700)
    public static let uuid = PostgresDataType(2950)
    public static let jsonb = PostgresDataType(3802)

    /// Types whose binary form is their UTF-8 text.
    var isTextual: Bool {
        switch self {
        case .text, .varchar, .bpchar, .name, .json, .unknown, .char: true
        default: false
        }
    }

    public var description: String { "oid \(self.oid)" }
}

/// Wire format of a parameter or a result column.
public enum PostgresFormat: Int32, Sendable {
    case text = 0
    case binary = 1
}
