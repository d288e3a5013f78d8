/// A failure of the Noise layer. Descriptions say what went wrong and never contain keys,
/// plaintext or ciphertext.
package struct NoiseError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A protocol name this implementation does not know (pattern, DH, cipher or hash).
        package static let unknownProtocol = Code("unknown_protocol")
        /// A key the pattern needs was not given (a static key, the peer's static key, a PSK).
        package static let missingKey = Code("missing_key")
        /// A message written or read out of turn, or after the handshake ended.
        package static let outOfOrder = Code("out_of_order")
        /// A message shorter than its tokens need.
        package static let truncated = Code("truncated")
        /// A message whose authentication tag does not verify: altered, replayed, reordered or
        /// sealed under another key.
        package static let decryptFailed = Code("decrypt_failed")
        /// A public key that gives no Diffie-Hellman result (wrong length, small order).
        package static let invalidKey = Code("invalid_key")
        /// A message over the 65,535 bytes Noise allows.
        package static let tooLong = Code("too_long")
        /// The 2^64-1 nonces of one key are used up.
        package static let nonceExhausted = Code("nonce_exhausted")
        package var description: String { self.name }
    }

    package var code: Code
    /// What was being done; never secret data.
    package var detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { "noise \(self.code): \(self.detail)" }
}
