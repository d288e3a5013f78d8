/// A one-dimensional array parameter (`bytea[]`, `int8[]`, `text[]` …) in PostgreSQL's binary
/// array format, NULL elements allowed. With `unnest(...)` it turns a batch of rows into one
/// statement: `INSERT ... SELECT * FROM unnest($1::bytea[], $2::int8[])`.
public struct PostgresArray<Element: PostgresArrayElement>: PostgresEncodable {
    public var elements: [Element?]

    public init(_ elements: [Element?]) { self.elements = elements }
    public init(_ elements: [Element]) { self.elements = elements.map { $0 } }

    public static var postgresDataType: PostgresDataType { Element.postgresArrayType }
    public static var postgresFormat: PostgresFormat { .binary }

    public func encode(into buffer: inout [UInt8]) {
        let hasNulls = self.elements.contains { $0 == nil }
        buffer.appendBigEndian(Int32(self.elements.isEmpty ? 0 : 1))  // dimensions
        buffer.appendBigEndian(Int32(hasNulls ? 1 : 0))
        buffer.appendBigEndian(Element.postgresElementType.oid)
        guard !self.elements.isEmpty else { return }
        buffer.appendBigEndian(Int32(self.elements.count))
        buffer.appendBigEndian(Int32(1))  // lower bound
        var item: [UInt8] = []
        for element in self.elements {
            guard let element else {
                buffer.appendBigEndian(Int32(-1))
                continue
            }
            item.removeAll(keepingCapacity: true)
            element.encode(into: &item)
            buffer.appendBigEndian(Int32(item.count))
            buffer.append(contentsOf: item)
        }
    }
}

/// A type that can be an element of a ``PostgresArray``: its binary encoding is the element's
/// binary wire form.
public protocol PostgresArrayElement: PostgresEncodable {
    /// The element type OID written into the array header.
    static var postgresElementType: PostgresDataType { get }
    /// The array type OID (e.g. 1001 for `bytea[]`).
    static var postgresArrayType: PostgresDataType { get }
}

extension Array: PostgresArrayElement where Element == UInt8 {
    public static var postgresElementType: PostgresDataType { .bytea }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1001) }
}

extension Int64: PostgresArrayElement {
    public static var postgresElementType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1016) }
}

extension Int32: PostgresArrayElement {
    public static var postgresElementType: PostgresDataType { .int4 }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1007) }
}

extension Int16: PostgresArrayElement {
    public static var postgresElementType: PostgresDataType { .int2 }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1005) }
}

extension Bool: PostgresArrayElement {
    public static var postgresElementType: PostgresDataType { .bool }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1000) }
}

/// Strings are UTF-8 `text` elements (their binary form is their text).
extension String: PostgresArrayElement {
    public static var postgresElementType: PostgresDataType { .text }
    public static var postgresArrayType: PostgresDataType { PostgresDataType(1009) }
}

// MARK: - Decoding

extension PostgresArray: PostgresDecodable where Element: PostgresDecodable {
    /// A one-dimensional array in binary format (`SELECT ... ` with `format: .binary`); an empty
    /// array has zero dimensions.
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Self {
        guard column.format == .binary else { throw decodingMismatch(Self.self, column, "arrays decode from binary format only") }
        var reader = bytes
        func int32() throws(PostgresError) -> Int32 {
            guard reader.count >= 4 else { throw decodingMismatch(Self.self, column, "truncated array") }
            let value = UInt32(bigEndianBytes: reader.prefix(4))
            reader = reader.dropFirst(4)
            return Int32(bitPattern: value)
        }
        let dimensions = try int32()
        _ = try int32()  // has nulls
        let elementType = PostgresDataType(UInt32(bitPattern: try int32()))
        guard dimensions != 0 else { return Self([Element?]()) }
        guard dimensions == 1 else { throw decodingMismatch(Self.self, column, "\(dimensions)-dimensional array") }
        let count = try int32()
        _ = try int32()  // lower bound
        guard count >= 0 else { throw decodingMismatch(Self.self, column, "negative length") }
        let elementColumn = PostgresColumn(name: column.name, dataType: elementType, format: .binary)
        var elements: [Element?] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count {
            let length = try int32()
            if length < 0 {
                elements.append(nil)
                continue
            }
            guard reader.count >= Int(length) else { throw decodingMismatch(Self.self, column, "truncated element") }
            elements.append(try Element.decode(from: reader.prefix(Int(length)), column: elementColumn))
            reader = reader.dropFirst(Int(length))
        }
        return Self(elements)
    }
}
