import Primitives

extension MLSGroup {
    /// Processes a message from the Delivery Service, in the order it delivers them.
    ///
    /// - Application messages decrypt with the current epoch's keys, or a recent past epoch's.
    /// - Proposals are verified and cached for a later commit.
    /// - A commit moves the group to the next epoch. If it is our own pending commit coming back,
    ///   the prepared state is adopted; if another commit won the epoch, our pending commit is
    ///   discarded (``hasPendingCommit`` turns false) and theirs is applied.
    ///
    /// On any error the state is unchanged.
    package mutating func process(_ message: MLSMessage) throws(MLSError) -> ProcessedMessage {
        guard self.isActive else { throw MLSError(.invalidState, "this member is no longer in the group") }
        if let pending = self.pending, pending.message == message {
            let outcome = pending.outcome
            self = pending.next.value
            return .commit(outcome)
        }
        if message == self.discarded {
            throw MLSError(
                .invalidState,
                "a commit this member discarded was accepted by the Delivery Service: the group moved on without this member's state; rejoin with an external commit"
            )
        }
        switch message {
        case .publicMessage(let message):
            return try self.process(try self.unprotect(message))
        case .privateMessage(let message):
            if message.epoch != self.epoch, message.contentType == .application {
                return try self.processLate(message)
            }
            var tree = self.secretTree
            let authenticated = try message.unprotect(
                secretTree: &tree,
                senderDataSecret: self.epochSecrets.senderDataSecret,
                context: self.context,
                crypto: self.crypto,
                signaturePublicKey: { self.tree.leaf($0)?.signatureKey }
            )
            var next = self
            next.secretTree = tree
            let result = try next.process(authenticated)
            self = next
            return result
        case .welcome, .groupInfo, .keyPackage:
            throw MLSError(.invalidContentType, "a \(message.wireFormat) is not a group message")
        }
    }

    /// Verifies a PublicMessage with the signature key its sender type calls for.
    private func unprotect(_ message: PublicMessage) throws(MLSError) -> AuthenticatedContent {
        let key: [UInt8]
        switch (message.content.sender, message.content.body) {
        case (.member(let leaf), _):
            guard let leafNode = self.tree.leaf(leaf) else { throw MLSError(.invalidSender, "a message from blank leaf \(leaf)") }
            key = leafNode.signatureKey
        case (.external(let index), .proposal):
            let senders = try self.externalSenders()
            guard Int(index) < senders.count else { throw MLSError(.invalidSender, "no external sender \(index)") }
            key = senders[Int(index)].signatureKey
        case (.newMemberProposal, .proposal(.add(let add))):
            key = add.keyPackage.leafNode.signatureKey
        case (.newMemberCommit, .commit(let commit)):
            guard let path = commit.path else { throw MLSError(.invalidExternalCommit, "an external commit needs a path") }
            key = path.leafNode.signatureKey
        default:
            throw MLSError(.invalidSender, "sender \(message.content.sender) may not send a \(message.content.contentType)")
        }
        return try message.unprotect(
            membershipKey: self.epochSecrets.membershipKey,
            context: self.context,
            signaturePublicKey: key,
            crypto: self.crypto
        )
    }

    /// The `external_senders` group context extension.
    func externalSenders() throws(MLSError) -> [ExternalSender] {
        guard let ext = self.context.extensions.first(where: { $0.type == MLSCode.Extension.externalSenders }) else { return [] }
        var reader = MLSReader(ext.data, context: "external_senders")
        do {
            let senders = try reader.readVector(of: ExternalSender.self)
            guard reader.isAtEnd else { throw MLSError(.malformed, "trailing bytes in external_senders") }
            return senders
        } catch let error as MLSDecodingError {
            throw MLSError(error)
        } catch {
            throw error as! MLSError
        }
    }

    private mutating func process(_ authenticated: AuthenticatedContent) throws(MLSError) -> ProcessedMessage {
        let content = authenticated.content
        guard content.groupID == self.groupID else { throw MLSError(.wrongGroup, "a message for another group") }
        guard content.epoch == self.epoch else { throw MLSError(.wrongEpoch, "a message for epoch \(content.epoch)") }
        switch content.body {
        case .application(let data):
            guard case .member(let leaf) = content.sender else {
                throw MLSError(.invalidSender, "application data from a non-member")
            }
            return .application(data: data, sender: leaf, authenticatedData: content.authenticatedData)
        case .proposal(let proposal):
            let reference = self.crypto.proposalRef(authenticated)
            if self.proposals[reference] == nil {
                self.proposals[reference] = CachedProposal(proposal: proposal, sender: content.sender)
                self.proposalOrder.append(reference)
            }
            return .proposal(reference: reference, proposal: proposal, sender: content.sender)
        case .commit(let commit):
            if case .member(let leaf) = content.sender, leaf == self.ownLeaf {
                throw MLSError(.invalidState, "a commit from this member that is not the pending one")
            }
            let (next, outcome) = try self.applying(commit, authenticated: authenticated)
            self = next
            return .commit(outcome)
        }
    }

    /// Reads an application message of an epoch kept in ``Configuration/pastEpochsKept``.
    private mutating func processLate(_ message: PrivateMessage) throws(MLSError) -> ProcessedMessage {
        guard var past = self.pastEpochs[message.epoch] else {
            throw MLSError(.wrongEpoch, "an application message for epoch \(message.epoch), which is no longer kept")
        }
        let authenticated = try message.unprotect(
            secretTree: &past.secretTree,
            senderDataSecret: past.senderDataSecret,
            context: past.context,
            crypto: self.crypto,
            signaturePublicKey: { past.signatureKeys[$0] }
        )
        self.pastEpochs[message.epoch] = past
        guard case .member(let leaf) = authenticated.content.sender, case .application(let data) = authenticated.content.body
        else {
            throw MLSError(.invalidContentType, "only application data is read from past epochs")
        }
        return .application(data: data, sender: leaf, authenticatedData: authenticated.content.authenticatedData)
    }

    /// Processes another member's commit (or an external one) and returns the next state.
    func applying(_ commit: Commit, authenticated: AuthenticatedContent) throws(MLSError) -> (MLSGroup, CommitOutcome) {
        let sender = authenticated.content.sender
        var committerLeaf: UInt32?
        switch sender {
        case .member(let leaf): committerLeaf = leaf
        case .newMemberCommit: committerLeaf = nil
        default: throw MLSError(.invalidSender, "commits come from members or new members")
        }
        guard let confirmationTag = authenticated.auth.confirmationTag else {
            throw MLSError(.invalidConfirmationTag, "a commit without confirmation tag")
        }
        let proposals = try self.resolve(commit, committer: sender)
        var applied = try self.apply(proposals, committerLeaf: committerLeaf)
        if applied.pathRequired && commit.path == nil {
            throw MLSError(.pathRequired, "the commit's proposals require an UpdatePath")
        }
        if committerLeaf == nil && commit.path == nil {
            throw MLSError(.invalidExternalCommit, "an external commit needs a path")
        }

        var next = self
        var commitSecret = [UInt8](repeating: 0, count: self.crypto.hashSize)
        var newKeys = self.privateKeys
        if applied.updated.contains(self.ownLeaf), let newLeaf = applied.tree.leaf(self.ownLeaf) {
            // One of our Update proposals was committed: its private key becomes our leaf key.
            guard let key = self.updateKeys[newLeaf.encryptionKey] else {
                throw MLSError(.invalidState, "a committed Update of this member whose private key is not kept")
            }
            for node in TreeMath.directPath(TreeMath.node(ofLeaf: self.ownLeaf), leaves: applied.tree.leafCount) {
                newKeys[node] = nil
            }
            newKeys[TreeMath.node(ofLeaf: self.ownLeaf)] = key
        }
        let removedSelf = applied.removed[self.ownLeaf] != nil
        let provisionalEpoch = self.epoch + 1
        let newLeaves = Set(applied.added.keys)
        var committer = committerLeaf ?? 0

        if let path = commit.path {
            if committerLeaf == nil { committer = applied.tree.reserveLeaf() }
            let provisionalForValidation = GroupContext(
                version: self.context.version,
                cipherSuite: self.context.cipherSuite,
                groupID: self.groupID,
                epoch: provisionalEpoch,
                treeHash: [],
                confirmedTranscriptHash: self.context.confirmedTranscriptHash,
                extensions: applied.extensions
            )
            try applied.tree.validate(
                leafNode: path.leafNode,
                at: committer,
                use: .commit,
                context: provisionalForValidation,
                crypto: self.crypto,
                now: self.configuration.now()
            )
            try applied.tree.checkKeysUnique(path.leafNode, at: committer)
            try TreeKEM.merge(path, sender: committer, into: &applied.tree, excluding: newLeaves, crypto: self.crypto)
            for node in TreeMath.directPath(TreeMath.node(ofLeaf: committer), leaves: applied.tree.leafCount) {
                newKeys[node] = nil
            }
            let provisional = GroupContext(
                version: self.context.version,
                cipherSuite: self.context.cipherSuite,
                groupID: self.groupID,
                epoch: provisionalEpoch,
                treeHash: applied.tree.treeHash(crypto: self.crypto),
                confirmedTranscriptHash: self.context.confirmedTranscriptHash,
                extensions: applied.extensions
            )
            if !removedSelf {
                let decrypted = try TreeKEM.decrypt(
                    path,
                    sender: committer,
                    receiver: self.ownLeaf,
                    tree: applied.tree,
                    privateKeys: newKeys,  // as the proposals left them (incl. a committed Update of ours)
                    context: provisional,
                    excluding: newLeaves,
                    crypto: self.crypto
                )
                commitSecret = decrypted.commitSecret
                newKeys.merge(decrypted.privateKeys) { _, new in new }
            }
            if !applied.updated.contains(committer) { applied.updated.append(committer) }
        }

        let outcome = CommitOutcome(
            epoch: provisionalEpoch,
            committer: committer,
            added: applied.added,
            removed: applied.removed,
            updated: applied.updated,
            removedSelf: removedSelf,
            reinit: applied.reinit,
            external: committerLeaf == nil
        )
        if removedSelf {
            next.isActive = false
            next.pending = nil
            return (next, outcome)
        }

        // Key schedule of the new epoch.
        let initSecret: [UInt8]
        if let externalInit = applied.externalInit {
            initSecret = try KeySchedule.externalInitSecret(
                kemOutput: externalInit.kemOutput,
                externalPrivateKey: try self.epochSecrets.externalKeyPair(crypto: self.crypto).privateKey,
                crypto: self.crypto
            )
        } else {
            initSecret = self.epochSecrets.initSecret.bytes
        }
        let pskSecret = try self.pskSecret(applied.psks)
        let confirmed = TranscriptHash.confirmed(interim: self.interimTranscriptHash, content: authenticated, crypto: self.crypto)
        let newContext = GroupContext(
            version: self.context.version,
            cipherSuite: self.context.cipherSuite,
            groupID: self.groupID,
            epoch: provisionalEpoch,
            treeHash: applied.tree.treeHash(crypto: self.crypto),
            confirmedTranscriptHash: confirmed,
            extensions: applied.extensions
        )
        let secrets = try EpochSecrets(
            crypto: self.crypto,
            initSecret: initSecret,
            commitSecret: commitSecret,
            pskSecret: pskSecret,
            groupContext: newContext
        )
        let expectedTag = TranscriptHash.confirmationTag(
            confirmationKey: secrets.confirmationKey,
            confirmed: confirmed,
            crypto: self.crypto
        )
        guard ConstantTime.equal(expectedTag, confirmationTag) else {
            throw MLSError(.invalidConfirmationTag, "the commit's confirmation tag does not verify")
        }

        next.enterEpoch(
            context: newContext,
            tree: applied.tree,
            secrets: secrets,
            confirmationTag: confirmationTag,
            privateKeys: newKeys
        )
        if applied.reinit != nil { next.isActive = false }
        return (next, outcome)
    }

    /// Moves to a new epoch: archives the current one for late messages, resets caches.
    mutating func enterEpoch(
        context: GroupContext,
        tree: RatchetTree,
        secrets: EpochSecrets,
        confirmationTag: [UInt8],
        privateKeys: [UInt32: SecretBytes]
    ) {
        if self.configuration.pastEpochsKept > 0 {
            var keys: [UInt32: [UInt8]] = [:]
            for leaf in self.tree.occupiedLeaves { keys[leaf] = self.tree.leaf(leaf)!.signatureKey }
            self.pastEpochs[self.epoch] = PastEpoch(
                context: self.context,
                secretTree: self.secretTree,
                senderDataSecret: self.epochSecrets.senderDataSecret,
                signatureKeys: keys
            )
            for epoch in self.pastEpochs.keys where epoch + UInt64(self.configuration.pastEpochsKept) <= context.epoch {
                self.pastEpochs[epoch] = nil
            }
        }
        self.context = context
        self.tree = tree
        self.epochSecrets = secrets
        self.secretTree = SecretTree(
            crypto: self.crypto,
            encryptionSecret: secrets.encryptionSecret,
            leafCount: tree.leafCount,
            limits: self.configuration.secretTreeLimits
        )
        self.confirmationTag = confirmationTag
        self.interimTranscriptHash = TranscriptHash.interim(
            confirmed: context.confirmedTranscriptHash,
            confirmationTag: confirmationTag,
            crypto: self.crypto
        )
        self.privateKeys = privateKeys.filter { !tree.isBlank($0.key) }
        self.proposals = [:]
        self.proposalOrder = []
        self.pending = nil
        self.discarded = nil
        self.updateKeys = [:]
        self.resumptionPSKs[context.epoch] = secrets.resumptionPSK
        for epoch in self.resumptionPSKs.keys where epoch + UInt64(self.configuration.resumptionPSKsKept) <= context.epoch {
            self.resumptionPSKs[epoch] = nil
        }
    }
}

/// An entry of the `external_senders` extension.
package struct ExternalSender: MLSCodable, Hashable {
    package var signatureKey: [UInt8]
    package var credential: Credential

    package init(signatureKey: [UInt8], credential: Credential) {
        self.signatureKey = signatureKey
        self.credential = credential
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.signatureKey = try reader.readOpaque()
        self.credential = try reader.read(Credential.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.signatureKey)
        writer.write(self.credential)
    }
}
