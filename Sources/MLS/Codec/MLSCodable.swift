/// A structure that decodes from the TLS presentation language.
package protocol MLSDecodable: Sendable {
    /// Reads one value, leaving the reader after it.
    init(from reader: inout MLSReader) throws(MLSDecodingError)
}

/// A structure that encodes to the TLS presentation language.
package protocol MLSEncodable: Sendable {
    func encode(to writer: inout MLSWriter)
}

package typealias MLSCodable = MLSDecodable & MLSEncodable

extension MLSDecodable {
    /// Decodes exactly one value from `bytes`; leftover bytes are an error.
    package static func decode(_ bytes: [UInt8]) throws(MLSDecodingError) -> Self {
        var reader = MLSReader(bytes, decoding: Self.self)
        let value = try Self(from: &reader)
        guard reader.isAtEnd else {
            throw reader.error(.trailingBytes, "\(reader.remaining) bytes after the value")
        }
        return value
    }
}

extension MLSEncodable {
    /// The encoded bytes.
    package var encoded: [UInt8] {
        var writer = MLSWriter()
        self.encode(to: &writer)
        return writer.bytes
    }
}
