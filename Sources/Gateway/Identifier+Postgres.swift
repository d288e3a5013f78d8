package import GatewayWire
package import Store

/// Ids are `bytea` in PostgreSQL: bound and read as their bytes, singly and in arrays.
extension Identifier: PostgresEncodable, PostgresDecodable, PostgresArrayElement {
    package static var postgresDataType: PostgresDataType { .bytea }
    package static var postgresFormat: PostgresFormat { .binary }
    package static var postgresElementType: PostgresDataType { .bytea }
    package static var postgresArrayType: PostgresDataType { [UInt8].postgresArrayType }

    package func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: self.bytes) }

    package static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Self {
        Self(try [UInt8].decode(from: bytes, column: column))
    }
}
