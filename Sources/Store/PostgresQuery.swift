/// One SQL statement with its parameters.
///
/// Write queries with string interpolation; every interpolated value becomes a `$n` parameter,
/// never SQL text:
///
/// ```swift
/// let result = try await client.query("SELECT name FROM users WHERE id = \(id)")
/// ```
///
/// Identifiers that cannot be parameters go through `\(unescaped:)` and must be constants.
public struct PostgresQuery: Sendable, Hashable {
    /// The statement text with `$1…$n` placeholders.
    public var sql: String
    /// The values of the placeholders, in order.
    public var bindings: PostgresBindings

    /// A statement from SQL text and explicit bindings.
    public init(unsafeSQL sql: String, bindings: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.bindings = bindings
    }
}

extension PostgresQuery: ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, bindings: stringInterpolation.bindings)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var bindings: PostgresBindings

        public init(literalCapacity: Int, interpolationCount: Int) {
            self.sql = ""
            self.sql.reserveCapacity(literalCapacity + 3 * interpolationCount)
            self.bindings = PostgresBindings()
        }

        public mutating func appendLiteral(_ literal: String) {
            self.sql += literal
        }

        /// A value, sent as a parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            self.bindings.append(value)
            self.sql += "$\(self.bindings.count)"
        }

        /// An optional value, sent as a parameter (NULL when `nil`).
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            self.bindings.append(value)
            self.sql += "$\(self.bindings.count)"
        }

        /// SQL text pasted verbatim. Only for constants such as table names.
        public mutating func appendInterpolation(unescaped text: String) {
            self.sql += text
        }
    }
}

/// The parameters of a ``PostgresQuery``.
public struct PostgresBindings: Sendable, Hashable {
    /// One encoded parameter.
    public struct Value: Sendable, Hashable {
        public var dataType: PostgresDataType
        public var format: PostgresFormat
        /// `nil` is SQL NULL.
        public var bytes: [UInt8]?
    }

    public private(set) var values: [Value] = []

    public init() {}

    public var count: Int { self.values.count }

    public mutating func append(_ value: some PostgresEncodable) {
        var bytes: [UInt8] = []
        value.encode(into: &bytes)
        self.values.append(
            Value(dataType: type(of: value).postgresDataType, format: type(of: value).postgresFormat, bytes: bytes)
        )
    }

    public mutating func append<Wrapped: PostgresEncodable>(_ value: Wrapped?) {
        if let value {
            self.append(value)
        } else {
            self.values.append(Value(dataType: Wrapped.postgresDataType, format: Wrapped.postgresFormat, bytes: nil))
        }
    }

    /// Appends SQL NULL with an unspecified type.
    public mutating func appendNull() {
        self.values.append(Value(dataType: .unspecified, format: .text, bytes: nil))
    }
}
