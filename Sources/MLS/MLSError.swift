public import Primitives

/// A failure to process or create MLS data, one distinct code per class of problem.
/// Descriptions never contain secrets or plaintext.
public struct MLSError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Bytes that do not decode (see ``MLSError/decoding``).
        public static let malformed = Code("malformed")
        /// The cipher suite is not one of 1–7, or not the group's.
        public static let unsupportedCipherSuite = Code("unsupported_cipher_suite")
        /// A signature did not verify.
        public static let invalidSignature = Code("invalid_signature")
        /// A PublicMessage's membership tag did not verify.
        public static let invalidMembershipTag = Code("invalid_membership_tag")
        /// A confirmation tag did not verify.
        public static let invalidConfirmationTag = Code("invalid_confirmation_tag")
        /// AEAD or HPKE decryption failed (tampered, or not for us).
        public static let decryptionFailed = Code("decryption_failed")
        /// The message is for another group.
        public static let wrongGroup = Code("wrong_group")
        /// The message is for another epoch.
        public static let wrongEpoch = Code("wrong_epoch")
        /// The sender is not allowed here (e.g. a non-member PrivateMessage, a blank leaf).
        public static let invalidSender = Code("invalid_sender")
        /// The key for that generation was already used or deleted.
        public static let generationConsumed = Code("generation_consumed")
        /// The generation is further ahead than the ratchet may skip.
        public static let generationTooFar = Code("generation_too_far")
        /// PrivateMessageContent padding holds non-zero bytes.
        public static let invalidPadding = Code("invalid_padding")
        /// Application data in a PublicMessage, or a content type in the wrong place.
        public static let invalidContentType = Code("invalid_content_type")
        /// A leaf or node index outside the tree.
        public static let indexOutOfRange = Code("index_out_of_range")
        /// A cryptographic primitive failed (see ``MLSError/primitive``).
        public static let cryptoFailure = Code("crypto_failure")
        /// An argument is not acceptable (length, label …).
        public static let invalidArgument = Code("invalid_argument")
        public var description: String { self.name }
    }

    public var code: Code
    public var message: String
    /// The decoding problem, for ``Code/malformed``.
    public var decoding: MLSDecodingError?
    /// The primitive's error, for ``Code/cryptoFailure`` and ``Code/decryptionFailed``.
    public var primitive: PrimitivesError?

    public init(_ code: Code, _ message: String, decoding: MLSDecodingError? = nil, primitive: PrimitivesError? = nil) {
        self.code = code
        self.message = message
        self.decoding = decoding
        self.primitive = primitive
    }

    init(_ decoding: MLSDecodingError) {
        self.init(.malformed, decoding.description, decoding: decoding)
    }

    init(_ primitive: PrimitivesError) {
        self.init(.cryptoFailure, primitive.description, primitive: primitive)
    }

    public var description: String { "\(self.code): \(self.message)" }
}
