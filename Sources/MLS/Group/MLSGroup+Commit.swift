package import Primitives

/// What a member sends after creating a commit.
package struct CommitResult: Sendable {
    /// The commit, protected with the current epoch's keys; send it to the group.
    package var commit: MLSMessage
    /// The Welcome for members added by the commit, if any.
    package var welcome: Welcome?
    /// The signed GroupInfo of the new epoch (with `external_pub`), for external joins.
    package var groupInfo: GroupInfo
    /// What the commit will change once it is applied.
    package var outcome: CommitOutcome
}

extension MLSGroup {
    // MARK: Creating a group

    /// A new group with this client as its only member (RFC 9420 §11).
    ///
    /// - Parameters:
    ///   - groupID: defaults to Nh random bytes.
    ///   - leafNode: this member's credential, capabilities and extensions (keys, source and
    ///     signature are filled in).
    ///   - signingKey: the private key of `leafNode.signatureKey`.
    ///   - extensions: the GroupContext extensions.
    package static func create(
        groupID: [UInt8]? = nil,
        cipherSuite: CipherSuite,
        leafNode: LeafNode,
        signingKey: SecretBytes,
        extensions: [Extension] = [],
        configuration: Configuration = Configuration()
    ) throws(MLSError) -> MLSGroup {
        let crypto = MLSCrypto(suite: cipherSuite)
        let groupID = groupID ?? SecureRandom.bytes(count: crypto.hashSize)
        let (leafPrivate, leafPublic) = try crypto.deriveKeyPair(SecureRandom.bytes(count: crypto.hashSize))
        var leaf = leafNode
        leaf.encryptionKey = leafPublic
        if case .keyPackage = leaf.source {} else { leaf.source = .keyPackage(Lifetime(notBefore: 0, notAfter: UInt64.max)) }
        try leaf.sign(privateKey: signingKey, crypto: crypto, groupID: groupID, leafIndex: 0)
        var tree = RatchetTree(leaf: leaf)
        let context = GroupContext(
            cipherSuite: cipherSuite.id,
            groupID: groupID,
            epoch: 0,
            treeHash: tree.treeHash(crypto: crypto),
            confirmedTranscriptHash: [],
            extensions: extensions
        )
        let secrets = try EpochSecrets(
            crypto: crypto,
            joinerSecret: SecureRandom.bytes(count: crypto.hashSize),
            pskSecret: [UInt8](repeating: 0, count: crypto.hashSize),
            groupContext: context
        )
        let tag = TranscriptHash.confirmationTag(confirmationKey: secrets.confirmationKey, confirmed: [], crypto: crypto)
        return MLSGroup(
            crypto: crypto,
            configuration: configuration,
            context: context,
            tree: tree,
            ownLeaf: 0,
            signingKey: signingKey,
            privateKeys: [0: leafPrivate],
            epochSecrets: secrets,
            confirmationTag: tag
        )
    }

    /// The memberwise state of a group at the start of an epoch.
    init(
        crypto: MLSCrypto,
        configuration: Configuration,
        context: GroupContext,
        tree: RatchetTree,
        ownLeaf: UInt32,
        signingKey: SecretBytes,
        privateKeys: [UInt32: SecretBytes],
        epochSecrets: EpochSecrets,
        confirmationTag: [UInt8]
    ) {
        self.crypto = crypto
        self.configuration = configuration
        self.context = context
        self.tree = tree
        self.ownLeaf = ownLeaf
        self.signingKey = signingKey
        self.privateKeys = privateKeys
        self.epochSecrets = epochSecrets
        self.secretTree = SecretTree(
            crypto: crypto,
            encryptionSecret: epochSecrets.encryptionSecret,
            leafCount: tree.leafCount,
            limits: configuration.secretTreeLimits
        )
        self.confirmationTag = confirmationTag
        self.interimTranscriptHash = TranscriptHash.interim(
            confirmed: context.confirmedTranscriptHash,
            confirmationTag: confirmationTag,
            crypto: crypto
        )
        self.resumptionPSKs[context.epoch] = epochSecrets.resumptionPSK
    }

    // MARK: Commits

    /// Adds members from their KeyPackages in one commit.
    package mutating func addMembers(
        _ keyPackages: [KeyPackage],
        authenticatedData: [UInt8] = []
    ) throws(MLSError) -> CommitResult {
        try self.commit(
            proposals: keyPackages.map { .add(.init(keyPackage: $0)) },
            includeCached: false,
            path: false,
            authenticatedData: authenticatedData
        )
    }

    /// Removes members (by leaf index) in one commit.
    package mutating func removeMembers(_ leaves: [UInt32], authenticatedData: [UInt8] = []) throws(MLSError) -> CommitResult {
        try self.commit(
            proposals: leaves.map { .remove(.init(removed: $0)) },
            includeCached: false,
            path: true,
            authenticatedData: authenticatedData
        )
    }

    /// Refreshes this member's keys: an empty commit with a path (forward secrecy and
    /// post-compromise security for this member).
    package mutating func update(authenticatedData: [UInt8] = []) throws(MLSError) -> CommitResult {
        try self.commit(proposals: [], includeCached: false, path: true, authenticatedData: authenticatedData)
    }

    /// Commits every proposal received in this epoch (by reference) plus `proposals` (by value).
    /// Proposals that are no longer valid (e.g. an Update by this member) are left out.
    package mutating func commitPending(
        proposals: [Proposal] = [],
        alwaysIncludePath: Bool = true,
        authenticatedData: [UInt8] = []
    ) throws(MLSError) -> CommitResult {
        try self.commit(proposals: proposals, includeCached: true, path: alwaysIncludePath, authenticatedData: authenticatedData)
    }

    /// Forgets the pending commit (e.g. the Delivery Service refused it as stale) so that a new
    /// one can be made.
    package mutating func discardPendingCommit() {
        self.discarded = self.pending?.message ?? self.discarded
        self.pending = nil
    }

    /// Creates a commit; the new state waits in ``hasPendingCommit`` until the commit is echoed.
    mutating func commit(
        proposals byValue: [Proposal],
        includeCached: Bool,
        path wantPath: Bool,
        authenticatedData: [UInt8]
    ) throws(MLSError) -> CommitResult {
        guard self.isActive else { throw MLSError(.invalidState, "this member is no longer in the group") }
        guard self.pending == nil else {
            throw MLSError(.invalidState, "a commit is already pending; wait for its echo or discard it")
        }
        let me = Sender.member(leafIndex: self.ownLeaf)
        var items: [ProposalOrRef] = []
        var resolved: [ResolvedProposal] = []
        if includeCached {
            for reference in self.proposalOrder {
                guard let cached = self.proposals[reference] else { continue }
                if case .update = cached.proposal, cached.sender == me { continue }
                if case .remove(let remove) = cached.proposal, remove.removed == self.ownLeaf { continue }
                let candidate = resolved + [ResolvedProposal(proposal: cached.proposal, sender: cached.sender, byReference: true)]
                guard (try? self.apply(candidate, committerLeaf: self.ownLeaf)) != nil else { continue }
                items.append(.reference(reference))
                resolved = candidate
            }
        }
        for proposal in byValue {
            items.append(.proposal(proposal))
            resolved.append(ResolvedProposal(proposal: proposal, sender: me, byReference: false))
        }
        var applied = try self.apply(resolved, committerLeaf: self.ownLeaf)
        let usePath = wantPath || applied.pathRequired
        let newEpoch = self.epoch + 1
        let newLeaves = Set(applied.added.keys)

        var commitSecret = [UInt8](repeating: 0, count: self.crypto.hashSize)
        var pathSecrets: [UInt32: [UInt8]] = [:]
        var privateKeys = self.privateKeys
        var updatePath: UpdatePath?
        if usePath {
            let extensions = applied.extensions
            let context = self.context
            let crypto = self.crypto
            let generated = try TreeKEM.generate(
                tree: &applied.tree,
                leaf: self.ownLeaf,
                leafNode: self.tree.leaf(self.ownLeaf)!,
                signingKey: self.signingKey,
                crypto: self.crypto,
                excluding: newLeaves,
                context: { tree in
                    GroupContext(
                        version: context.version,
                        cipherSuite: context.cipherSuite,
                        groupID: context.groupID,
                        epoch: newEpoch,
                        treeHash: tree.treeHash(crypto: crypto),
                        confirmedTranscriptHash: context.confirmedTranscriptHash,
                        extensions: extensions
                    )
                }
            )
            commitSecret = generated.commitSecret
            pathSecrets = generated.pathSecrets
            for node in TreeMath.directPath(TreeMath.node(ofLeaf: self.ownLeaf), leaves: applied.tree.leafCount) {
                privateKeys[node] = nil
            }
            privateKeys.merge(generated.privateKeys) { _, new in new }
            updatePath = generated.updatePath
            if !applied.updated.contains(self.ownLeaf) { applied.updated.append(self.ownLeaf) }
        }
        let commit = Commit(proposals: items, path: updatePath)

        // Sign with the current context, then run the key schedule of the new epoch.
        let wireFormat = self.configuration.handshakeWireFormat
        let content = FramedContent(
            groupID: self.groupID,
            epoch: self.epoch,
            sender: me,
            authenticatedData: authenticatedData,
            body: .commit(commit)
        )
        let signature = try self.crypto.signWithLabel(
            privateKey: self.signingKey,
            label: "FramedContentTBS",
            content: content.toBeSigned(wireFormat: wireFormat, context: self.context)
        )
        let unconfirmed = AuthenticatedContent(
            wireFormat: wireFormat,
            content: content,
            auth: FramedContentAuthData(signature: signature, confirmationTag: [])
        )
        let confirmed = TranscriptHash.confirmed(interim: self.interimTranscriptHash, content: unconfirmed, crypto: self.crypto)
        let newContext = GroupContext(
            version: self.context.version,
            cipherSuite: self.context.cipherSuite,
            groupID: self.groupID,
            epoch: newEpoch,
            treeHash: applied.tree.treeHash(crypto: self.crypto),
            confirmedTranscriptHash: confirmed,
            extensions: applied.extensions
        )
        let pskSecret = try self.pskSecret(applied.psks)
        let secrets = try EpochSecrets(
            crypto: self.crypto,
            initSecret: self.epochSecrets.initSecret.bytes,
            commitSecret: commitSecret,
            pskSecret: pskSecret,
            groupContext: newContext
        )
        let tag = TranscriptHash.confirmationTag(
            confirmationKey: secrets.confirmationKey,
            confirmed: confirmed,
            crypto: self.crypto
        )
        let authenticated = AuthenticatedContent(
            wireFormat: wireFormat,
            content: content,
            auth: FramedContentAuthData(signature: signature, confirmationTag: tag)
        )
        let message = try self.protectHandshake(authenticated)

        let outcome = CommitOutcome(
            epoch: newEpoch,
            committer: self.ownLeaf,
            added: applied.added,
            removed: applied.removed,
            updated: applied.updated,
            removedSelf: false,
            reinit: applied.reinit,
            external: false
        )
        var next = self
        next.enterEpoch(context: newContext, tree: applied.tree, secrets: secrets, confirmationTag: tag, privateKeys: privateKeys)
        if applied.reinit != nil { next.isActive = false }
        let groupInfo = try next.groupInfo()

        var welcome: Welcome?
        if !applied.added.isEmpty {
            welcome = try next.welcome(
                groupInfo: groupInfo,
                joinerSecret: secrets.joinerSecret.bytes,
                pskSecret: pskSecret,
                psks: applied.psks,
                added: applied.added,
                keyPackages: resolved.compactMap { if case .add(let add) = $0.proposal { add.keyPackage } else { nil } },
                pathSecrets: pathSecrets,
                committer: self.ownLeaf
            )
        }
        self.pending = PendingCommit(message: message, next: Box(next), outcome: outcome)
        return CommitResult(commit: message, welcome: welcome, groupInfo: groupInfo, outcome: outcome)
    }

    /// Protects a proposal or commit of this member with the current epoch's keys.
    mutating func protectHandshake(_ authenticated: AuthenticatedContent) throws(MLSError) -> MLSMessage {
        switch authenticated.wireFormat {
        case .publicMessage:
            return .publicMessage(
                try PublicMessage.protect(
                    authenticated,
                    membershipKey: self.epochSecrets.membershipKey,
                    context: self.context,
                    crypto: self.crypto
                )
            )
        case .privateMessage:
            return .privateMessage(
                try PrivateMessage.protect(
                    authenticated,
                    secretTree: &self.secretTree,
                    senderDataSecret: self.epochSecrets.senderDataSecret,
                    crypto: self.crypto
                )
            )
        default:
            throw MLSError(.invalidArgument, "handshake messages are PublicMessage or PrivateMessage")
        }
    }

    // MARK: Proposals and application data

    /// Sends a proposal in this epoch (for another member to commit, or for ``commitPending(proposals:alwaysIncludePath:authenticatedData:)``).
    package mutating func propose(_ proposal: Proposal, authenticatedData: [UInt8] = []) throws(MLSError) -> MLSMessage {
        guard self.isActive else { throw MLSError(.invalidState, "this member is no longer in the group") }
        let content = FramedContent(
            groupID: self.groupID,
            epoch: self.epoch,
            sender: .member(leafIndex: self.ownLeaf),
            authenticatedData: authenticatedData,
            body: .proposal(proposal)
        )
        let authenticated = try AuthenticatedContent.sign(
            wireFormat: self.configuration.handshakeWireFormat,
            content: content,
            signaturePrivateKey: self.signingKey,
            context: self.context,
            crypto: self.crypto
        )
        let message = try self.protectHandshake(authenticated)
        let reference = self.crypto.proposalRef(authenticated)
        if self.proposals[reference] == nil {
            self.proposals[reference] = CachedProposal(proposal: proposal, sender: content.sender)
            self.proposalOrder.append(reference)
        }
        return message
    }

    /// Proposes replacing this member's leaf with fresh keys (an Update proposal); the new
    /// private key is kept until a commit applies it.
    package mutating func proposeUpdate(authenticatedData: [UInt8] = []) throws(MLSError) -> MLSMessage {
        var leaf = self.tree.leaf(self.ownLeaf)!
        let (privateKey, publicKey) = try self.crypto.deriveKeyPair(SecureRandom.bytes(count: self.crypto.hashSize))
        leaf.encryptionKey = publicKey
        leaf.source = .update
        try leaf.sign(privateKey: self.signingKey, crypto: self.crypto, groupID: self.groupID, leafIndex: self.ownLeaf)
        self.updateKeys[publicKey] = privateKey
        return try self.propose(.update(.init(leafNode: leaf)), authenticatedData: authenticatedData)
    }

    /// Encrypts application data for the group as a PrivateMessage.
    package mutating func encrypt(_ data: [UInt8], authenticatedData: [UInt8] = []) throws(MLSError) -> MLSMessage {
        guard self.isActive else { throw MLSError(.invalidState, "this member is no longer in the group") }
        let content = FramedContent(
            groupID: self.groupID,
            epoch: self.epoch,
            sender: .member(leafIndex: self.ownLeaf),
            authenticatedData: authenticatedData,
            body: .application(data)
        )
        let authenticated = try AuthenticatedContent.sign(
            wireFormat: .privateMessage,
            content: content,
            signaturePrivateKey: self.signingKey,
            context: self.context,
            crypto: self.crypto
        )
        let block = max(1, self.configuration.paddingBlock)
        let padding = (block - (data.count % block)) % block
        return .privateMessage(
            try PrivateMessage.protect(
                authenticated,
                secretTree: &self.secretTree,
                senderDataSecret: self.epochSecrets.senderDataSecret,
                crypto: self.crypto,
                paddingSize: padding
            )
        )
    }
}
