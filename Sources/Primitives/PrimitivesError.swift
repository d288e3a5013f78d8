/// An error from a cryptographic primitive. Descriptions name the operation and never contain
/// key material or plaintext.
public struct PrimitivesError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A key has the wrong length or is not a valid key for its algorithm.
        public static let invalidKey = Code("invalid_key")
        /// A public key is not a valid point, or a Diffie-Hellman result is degenerate.
        public static let invalidPublicKey = Code("invalid_public_key")
        /// AEAD authentication failed: wrong key, nonce, associated data, or tampered ciphertext.
        public static let authenticationFailure = Code("authentication_failure")
        /// A signature did not verify.
        public static let invalidSignature = Code("invalid_signature")
        /// An argument has the wrong size (nonce, output length …).
        public static let invalidLength = Code("invalid_length")
        /// DeriveKeyPair found no valid scalar (RFC 9180 §7.1.3: practically impossible).
        public static let deriveKeyPairFailed = Code("derive_key_pair_failed")
        /// An HPKE context used more than 2^96-1 times, or an export-only context asked to seal.
        public static let messageLimitReached = Code("message_limit_reached")
        /// The algorithm is not supported by this build.
        public static let unsupported = Code("unsupported")
        /// The underlying C library failed unexpectedly.
        public static let libraryFailure = Code("library_failure")
        public var description: String { self.name }
    }

    public var code: Code
    /// What was being done, e.g. "AES-128-GCM open". Never secret data.
    public var operation: String

    public init(_ code: Code, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String { "\(self.operation): \(self.code)" }
}
