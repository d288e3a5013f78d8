/// Why bytes could not be decoded as an MLS structure: truncated input, a bad length, a
/// non-minimal or 8-byte variable-length integer, an invalid presence octet, an unknown
/// enumeration value, or bytes left over. `type` names the structure being decoded.
package struct MLSDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The input ended inside a value.
        package static let truncated = Code("truncated")
        /// The input continues after a complete value.
        package static let trailingBytes = Code("trailing_bytes")
        /// A variable-length integer with the `11` prefix (RFC 9420 §2.1.2).
        package static let invalidVarint = Code("invalid_varint")
        /// A variable-length integer not in its shortest form.
        package static let nonMinimalVarint = Code("non_minimal_varint")
        /// An optional's presence octet other than 0 or 1.
        package static let invalidOptional = Code("invalid_optional")
        /// An enumeration value that is reserved or unknown where it must be known.
        package static let unknownValue = Code("unknown_value")
        /// Elements of a vector did not fill its length exactly.
        package static let vectorLengthMismatch = Code("vector_length_mismatch")
        /// A value violates a structural rule (e.g. a fixed-size field of the wrong length).
        package static let invalidValue = Code("invalid_value")
        package var description: String { self.name }
    }

    package var code: Code
    /// The structure being decoded when the problem was found.
    package var type: String
    /// Byte offset in the input where the problem was found.
    package var offset: Int
    package var detail: String

    package init(_ code: Code, type: String, offset: Int, detail: String = "") {
        self.code = code
        self.type = type
        self.offset = offset
        self.detail = detail
    }

    package var description: String {
        "cannot decode \(self.type) at byte \(self.offset): \(self.code)" + (self.detail.isEmpty ? "" : " (\(self.detail))")
    }
}
