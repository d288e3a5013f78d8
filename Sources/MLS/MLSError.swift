package import Primitives

/// A failure to process or create MLS data, one distinct code per class of problem.
/// Descriptions never contain secrets or plaintext.
package struct MLSError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Bytes that do not decode (see ``MLSError/decoding``).
        package static let malformed = Code("malformed")
        /// The cipher suite is not one of 1–7, or not the group's.
        package static let unsupportedCipherSuite = Code("unsupported_cipher_suite")
        /// A signature did not verify.
        package static let invalidSignature = Code("invalid_signature")
        /// A PublicMessage's membership tag did not verify.
        package static let invalidMembershipTag = Code("invalid_membership_tag")
        /// A confirmation tag did not verify.
        package static let invalidConfirmationTag = Code("invalid_confirmation_tag")
        /// AEAD or HPKE decryption failed (tampered, or not for us).
        package static let decryptionFailed = Code("decryption_failed")
        /// The message is for another group.
        package static let wrongGroup = Code("wrong_group")
        /// The message is for another epoch.
        package static let wrongEpoch = Code("wrong_epoch")
        /// The sender is not allowed here (e.g. a non-member PrivateMessage, a blank leaf).
        package static let invalidSender = Code("invalid_sender")
        /// The key for that generation was already used or deleted.
        package static let generationConsumed = Code("generation_consumed")
        /// The generation is further ahead than the ratchet may skip.
        package static let generationTooFar = Code("generation_too_far")
        /// PrivateMessageContent padding holds non-zero bytes.
        package static let invalidPadding = Code("invalid_padding")
        /// Application data in a PublicMessage, or a content type in the wrong place.
        package static let invalidContentType = Code("invalid_content_type")
        /// A leaf or node index outside the tree.
        package static let indexOutOfRange = Code("index_out_of_range")
        /// A cryptographic primitive failed (see ``MLSError/primitive``).
        package static let cryptoFailure = Code("crypto_failure")
        /// An argument is not acceptable (length, label …).
        package static let invalidArgument = Code("invalid_argument")

        // Tree validation (RFC 9420 §7, §12.4.3.1)
        /// The tree hash differs from the GroupContext's.
        package static let invalidTreeHash = Code("invalid_tree_hash")
        /// A parent node is not parent-hash valid, or a committer's leaf has the wrong parent hash.
        package static let invalidParentHash = Code("invalid_parent_hash")
        /// A LeafNode fails validation (signature, capabilities, extensions, source, lifetime).
        package static let invalidLeafNode = Code("invalid_leaf_node")
        /// Structural tree problems: unmerged leaves, duplicate keys, node types.
        package static let invalidTree = Code("invalid_tree")
        /// A KeyPackage fails validation.
        package static let invalidKeyPackage = Code("invalid_key_package")
        /// A public key (HPKE or signature) appears twice where it must be unique.
        package static let duplicateKey = Code("duplicate_key")

        // Proposal list validation (RFC 9420 §12.2)
        /// A single proposal is invalid for its type (e.g. Remove of a blank leaf, bad PSK nonce).
        package static let invalidProposal = Code("invalid_proposal")
        /// The committer proposes an Update of itself by reference, or removes itself.
        package static let committerChangesItself = Code("committer_changes_itself")
        /// Two Updates/Removes for one leaf, two Adds of one client, or an Add of a member.
        package static let conflictingProposals = Code("conflicting_proposals")
        /// The same PSK twice, or two GroupContextExtensions.
        package static let duplicateProposal = Code("duplicate_proposal")
        /// ReInit together with other proposals, or ExternalInit in a member's commit.
        package static let misplacedProposal = Code("misplaced_proposal")
        /// A proposal type some member does not support, or an external sender's forbidden type.
        package static let unsupportedProposal = Code("unsupported_proposal")
        /// A commit without the path its proposals require.
        package static let pathRequired = Code("path_required")
        /// A commit references a proposal this member does not have.
        package static let unknownProposal = Code("unknown_proposal")
        /// A PSK this member does not have.
        package static let unknownPSK = Code("unknown_psk")
        /// An external commit breaks the rules of §12.4.3.2.
        package static let invalidExternalCommit = Code("invalid_external_commit")
        /// A required capability is not supported by some member.
        package static let unsupportedCapability = Code("unsupported_capability")
        /// A Welcome is not for any of our KeyPackages, or its contents do not fit.
        package static let invalidWelcome = Code("invalid_welcome")
        /// The operation needs a state the group is not in (e.g. a commit pending, removed).
        package static let invalidState = Code("invalid_state")
        package var description: String { self.name }
    }

    package var code: Code
    package var message: String
    /// The decoding problem, for ``Code/malformed``.
    package var decoding: MLSDecodingError?
    /// The primitive's error, for ``Code/cryptoFailure`` and ``Code/decryptionFailed``.
    package var primitive: PrimitivesError?

    package init(_ code: Code, _ message: String, decoding: MLSDecodingError? = nil, primitive: PrimitivesError? = nil) {
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

    package var description: String { "\(self.code): \(self.message)" }
}
