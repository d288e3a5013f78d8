/// A Swift value that can be sent as a statement parameter.
public protocol PostgresEncodable: Sendable {
    /// The type OID sent with the parameter (``PostgresDataType/unspecified`` lets the server infer it).
    static var postgresDataType: PostgresDataType { get }
    /// The wire format of ``encode(into:)``'s output.
    static var postgresFormat: PostgresFormat { get }
    /// Appends the parameter's bytes.
    func encode(into buffer: inout [UInt8])
}

// MARK: - String

extension String: PostgresEncodable {
    /// Sent as untyped text so that the server coerces it to the column's type, as libpq does.
    public static var postgresDataType: PostgresDataType { .unspecified }
    public static var postgresFormat: PostgresFormat { .text }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: self.utf8) }
}

// MARK: - Integers (binary, network byte order)

extension Int64: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.appendBigEndian(UInt64(bitPattern: self)) }
}

extension Int: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { Int64(self).encode(into: &buffer) }
}

extension Int32: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int4 }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.appendBigEndian(UInt32(bitPattern: self)) }
}

extension Int16: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int2 }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.appendBigEndian(UInt16(bitPattern: self)) }
}

// MARK: - Bool, floating point, bytes

extension Bool: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .bool }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.append(self ? 1 : 0) }
}

extension Double: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .float8 }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.appendBigEndian(self.bitPattern) }
}

extension Array: PostgresEncodable where Element == UInt8 {
    /// Byte arrays are `bytea`, sent in binary.
    public static var postgresDataType: PostgresDataType { .bytea }
    public static var postgresFormat: PostgresFormat { .binary }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { self.append(contentsOf: $0) }
    }
}
