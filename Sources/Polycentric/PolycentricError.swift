/// A Polycentric message or request that cannot be accepted, with a code per class of problem.
/// Descriptions name the field at fault, never key material.
package struct PolycentricError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Bytes that are not the expected protobuf message.
        package static let malformed = Code("malformed")
        /// A base64 parameter that does not decode.
        package static let badBase64 = Code("bad_base64")
        /// A key type other than 1 (Ed25519) or a key that is not 32 bytes.
        package static let unsupportedKey = Code("unsupported_key")
        /// A process id that is not 16 bytes.
        package static let badProcess = Code("bad_process")
        /// An Event without a field the protocol requires (system, process, vector_clock, indices).
        package static let missingField = Code("missing_field")
        /// The Ed25519 signature does not verify over the event bytes.
        package static let invalidSignature = Code("invalid_signature")
        /// A Reference of an unknown type.
        package static let badReference = Code("bad_reference")
        /// Content that does not parse for its content type (Delete, Claim) or breaks a limit.
        package static let badContent = Code("bad_content")
        /// A parameter out of its allowed range.
        package static let badParameter = Code("bad_parameter")

        package var description: String { self.name }
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(self.code): \(self.message)" }
}
