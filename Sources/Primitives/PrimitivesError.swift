/// An error from a cryptographic primitive. Descriptions name the operation and never contain
/// key material or plaintext.
package struct PrimitivesError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A key has the wrong length or is not a valid key for its algorithm.
        package static let invalidKey = Code("invalid_key")
        /// A public key is not a valid point, or a Diffie-Hellman result is degenerate.
        package static let invalidPublicKey = Code("invalid_public_key")
        /// AEAD authentication failed: wrong key, nonce, associated data, or tampered ciphertext.
        package static let authenticationFailure = Code("authentication_failure")
        /// A signature did not verify.
        package static let invalidSignature = Code("invalid_signature")
        /// An argument has the wrong size (nonce, output length …).
        package static let invalidLength = Code("invalid_length")
        /// DeriveKeyPair found no valid scalar (RFC 9180 §7.1.3: practically impossible).
        package static let deriveKeyPairFailed = Code("derive_key_pair_failed")
        /// An HPKE context used more than 2^96-1 times, or an export-only context asked to seal.
        package static let messageLimitReached = Code("message_limit_reached")
        /// The algorithm is not supported by this build.
        package static let unsupported = Code("unsupported")
        /// The underlying C library failed unexpectedly.
        package static let libraryFailure = Code("library_failure")
        package var description: String { self.name }
    }

    package var code: Code
    /// What was being done, e.g. "AES-128-GCM open". Never secret data.
    package var operation: String

    package init(_ code: Code, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    package var description: String { "\(self.operation): \(self.code)" }
}
