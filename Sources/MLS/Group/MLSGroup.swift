package import Primitives

/// One member's view of an MLS group (RFC 9420): the GroupContext, the ratchet tree, this
/// member's private keys, the epoch secrets and secret tree, cached proposals, and a commit of
/// its own waiting for the Delivery Service to echo it.
///
/// A value type with no I/O: every operation returns the messages to send and a new state.
/// Copying a group copies its secrets; persist it with ``serialized()`` and
/// ``init(serialized:configuration:)``.
package struct MLSGroup: Sendable {
    /// Tunables a client sets once.
    package struct Configuration: Sendable {
        /// How many past epochs keep their secret trees for late application messages.
        package var pastEpochsKept: Int
        /// How many past epochs keep their resumption PSKs.
        package var resumptionPSKsKept: Int
        /// Reordering tolerance of the secret tree.
        package var secretTreeLimits: SecretTree.Limits
        /// How this member sends proposals and commits.
        package var handshakeWireFormat: WireFormat
        /// Application messages are padded to a multiple of this many bytes (1: no padding).
        package var paddingBlock: Int
        /// Whether GroupInfo and Welcome messages carry the ratchet tree extension.
        package var includeRatchetTreeInWelcome: Bool
        /// Current time in seconds since the epoch for lifetime checks; nil skips them.
        package var now: @Sendable () -> UInt64?
        /// The longest total lifetime (`not_after - not_before`, seconds) a KeyPackage added to
        /// the group may have (RFC 9420 §7.2: the application sets a maximum); nil: no maximum.
        package var maxKeyPackageLifetime: UInt64?

        package init(
            pastEpochsKept: Int = 3,
            resumptionPSKsKept: Int = 256,
            secretTreeLimits: SecretTree.Limits = SecretTree.Limits(),
            handshakeWireFormat: WireFormat = .privateMessage,
            paddingBlock: Int = 32,
            includeRatchetTreeInWelcome: Bool = true,
            now: @escaping @Sendable () -> UInt64? = { nil },
            maxKeyPackageLifetime: UInt64? = nil
        ) {
            self.pastEpochsKept = pastEpochsKept
            self.resumptionPSKsKept = resumptionPSKsKept
            self.secretTreeLimits = secretTreeLimits
            self.handshakeWireFormat = handshakeWireFormat
            self.paddingBlock = paddingBlock
            self.includeRatchetTreeInWelcome = includeRatchetTreeInWelcome
            self.now = now
            self.maxKeyPackageLifetime = maxKeyPackageLifetime
        }
    }

    /// A proposal received in this epoch, by reference.
    struct CachedProposal: Sendable {
        var proposal: Proposal
        var sender: Sender
    }

    /// What is kept of an earlier epoch: enough to read late application messages.
    struct PastEpoch: Sendable {
        var context: GroupContext
        var secretTree: SecretTree
        var senderDataSecret: SecretBytes
        var signatureKeys: [UInt32: [UInt8]]
    }

    /// Our own commit, sent and not yet echoed: the state to adopt when it comes back.
    struct PendingCommit: Sendable {
        /// The protected commit as sent; the echo is recognised by these bytes (a sender cannot
        /// decrypt its own PrivateMessage: the key was consumed when it was made).
        var message: MLSMessage
        /// The group after the commit (boxed to keep `MLSGroup` small).
        var next: Box<MLSGroup>
        var outcome: CommitOutcome
    }

    package let crypto: MLSCrypto
    package var configuration: Configuration
    package internal(set) var context: GroupContext
    package internal(set) var tree: RatchetTree
    /// This member's leaf index.
    package internal(set) var ownLeaf: UInt32
    var signingKey: SecretBytes
    /// Private keys by node index: our leaf and the parents above it we know.
    var privateKeys: [UInt32: SecretBytes]
    var epochSecrets: EpochSecrets
    var secretTree: SecretTree
    var interimTranscriptHash: [UInt8]
    /// The confirmation tag of the commit that started this epoch.
    var confirmationTag: [UInt8]
    var proposals: [[UInt8]: CachedProposal] = [:]
    /// Proposal refs in arrival order (for deterministic commits).
    var proposalOrder: [[UInt8]] = []
    var pending: PendingCommit?
    /// The last commit of ours that was discarded, to recognise it if the DS accepted it anyway.
    var discarded: MLSMessage?
    var pastEpochs: [UInt64: PastEpoch] = [:]
    var resumptionPSKs: [UInt64: SecretBytes] = [:]
    var externalPSKs: [[UInt8]: SecretBytes] = [:]
    /// Private keys of Update proposals this member sent in this epoch, by public key.
    var updateKeys: [[UInt8]: SecretBytes] = [:]
    /// False once this member is removed or the group was reinitialised.
    package internal(set) var isActive = true

    /// The group id.
    package var groupID: [UInt8] { self.context.groupID }

    /// Proposals received in this epoch and not committed yet.
    package var cachedProposalCount: Int { self.proposals.count }
    /// The current epoch.
    package var epoch: UInt64 { self.context.epoch }
    /// The epoch authenticator (compare out of band to detect impersonation).
    package var epochAuthenticator: [UInt8] { self.epochSecrets.epochAuthenticator }
    /// Whether a commit of ours is waiting for its echo.
    package var hasPendingCommit: Bool { self.pending != nil }

    /// `MLS-Exporter(label, context, length)` of the current epoch.
    package func export(label: String, context: [UInt8], length: Int) throws(MLSError) -> [UInt8] {
        try self.epochSecrets.export(crypto: self.crypto, label: label, context: context, length: length)
    }

    /// Registers an external PSK so that commits and Welcomes naming it can be processed.
    package mutating func addExternalPSK(id: [UInt8], secret: SecretBytes) {
        self.externalPSKs[id] = secret
    }

    /// The members: leaf index and LeafNode of every occupied leaf.
    package var members: [(leaf: UInt32, node: LeafNode)] {
        self.tree.occupiedLeaves.map { ($0, self.tree.leaf($0)!) }
    }
}

/// A heap box for a value type that would otherwise contain itself.
final class Box<Value: Sendable>: Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// What a processed or created commit changed.
package struct CommitOutcome: Sendable, Hashable {
    /// The epoch the commit started.
    package var epoch: UInt64
    /// The committer (its leaf in the new epoch).
    package var committer: UInt32
    /// New members: leaf index and LeafNode.
    package var added: [UInt32: LeafNode]
    /// Removed leaves with the LeafNode they had.
    package var removed: [UInt32: LeafNode]
    /// Leaves whose LeafNode changed (Update proposals, and the committer's path).
    package var updated: [UInt32]
    /// Whether this member was removed by the commit (the group is then inactive).
    package var removedSelf: Bool
    /// A ReInit the commit carried: the group is closed and a new one should follow.
    package var reinit: Proposal.ReInit?
    /// Whether the commit was an external join.
    package var external: Bool
}

/// The result of processing a message.
package enum ProcessedMessage: Sendable {
    /// Application data from a member.
    case application(data: [UInt8], sender: UInt32, authenticatedData: [UInt8])
    /// A proposal, now cached for a later commit.
    case proposal(reference: [UInt8], proposal: Proposal, sender: Sender)
    /// A commit: the group is in a new epoch (unless ``CommitOutcome/removedSelf``).
    case commit(CommitOutcome)
}
