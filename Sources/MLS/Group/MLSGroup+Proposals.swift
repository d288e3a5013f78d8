import Primitives

extension MLSGroup {
    /// A proposal covered by a commit, with who proposed it.
    struct ResolvedProposal: Sendable {
        var proposal: Proposal
        var sender: Sender
        var byReference: Bool
    }

    /// The effect of a proposal list on the tree and GroupContext (RFC 9420 §12.3).
    struct AppliedProposals: Sendable {
        var tree: RatchetTree
        var extensions: [Extension]
        var added: [UInt32: LeafNode] = [:]
        var removed: [UInt32: LeafNode] = [:]
        var updated: [UInt32] = []
        var psks: [PreSharedKeyID] = []
        var externalInit: Proposal.ExternalInit?
        var reinit: Proposal.ReInit?
        var pathRequired: Bool
    }

    /// The proposals a commit covers: by value (sent by the committer) or from the cache.
    func resolve(_ commit: Commit, committer: Sender) throws(MLSError) -> [ResolvedProposal] {
        var resolved: [ResolvedProposal] = []
        for item in commit.proposals {
            switch item {
            case .proposal(let proposal):
                resolved.append(ResolvedProposal(proposal: proposal, sender: committer, byReference: false))
            case .reference(let reference):
                guard let cached = self.proposals[reference] else {
                    throw MLSError(.unknownProposal, "the commit references a proposal this member has not received")
                }
                resolved.append(ResolvedProposal(proposal: cached.proposal, sender: cached.sender, byReference: true))
            }
        }
        return resolved
    }

    /// Validates a proposal list (RFC 9420 §12.2) and applies it to a copy of the tree.
    ///
    /// - Parameter committerLeaf: the committer's leaf for a member commit, nil for an external one.
    func apply(_ proposals: [ResolvedProposal], committerLeaf: UInt32?) throws(MLSError) -> AppliedProposals {
        let isExternal = committerLeaf == nil
        var applied = AppliedProposals(tree: self.tree, extensions: self.context.extensions, pathRequired: proposals.isEmpty)

        // Shape of the list.
        let types = proposals.map(\.proposal.type)
        if isExternal {
            guard types.filter({ $0 == MLSCode.Proposal.externalInit }).count == 1,
                types.filter({ $0 == MLSCode.Proposal.remove }).count <= 1,
                types.allSatisfy({ [MLSCode.Proposal.externalInit, MLSCode.Proposal.remove, MLSCode.Proposal.psk].contains($0) }),
                !proposals.contains(where: \.byReference)
            else {
                throw MLSError(
                    .invalidExternalCommit,
                    "an external commit has exactly one ExternalInit, at most one Remove, PSKs, nothing by reference"
                )
            }
        } else {
            if types.contains(MLSCode.Proposal.externalInit) {
                throw MLSError(.misplacedProposal, "ExternalInit belongs only in external commits")
            }
            if types.contains(MLSCode.Proposal.reinit) && types.count > 1 {
                throw MLSError(.misplacedProposal, "a ReInit must be the only proposal of its commit")
            }
        }
        if types.filter({ $0 == MLSCode.Proposal.groupContextExtensions }).count > 1 {
            throw MLSError(.duplicateProposal, "more than one GroupContextExtensions proposal")
        }
        for item in proposals { try self.checkSender(item) }

        // 1. GroupContextExtensions.
        for case .groupContextExtensions(let gce) in proposals.map(\.proposal) {
            applied.extensions = gce.extensions
            applied.pathRequired = true
        }
        let newContext = GroupContext(
            version: self.context.version,
            cipherSuite: self.context.cipherSuite,
            groupID: self.context.groupID,
            epoch: self.context.epoch,
            treeHash: self.context.treeHash,
            confirmedTranscriptHash: self.context.confirmedTranscriptHash,
            extensions: applied.extensions
        )

        // 2. Updates.
        var changedLeaves: Set<UInt32> = []
        for item in proposals {
            guard case .update(let update) = item.proposal else { continue }
            guard case .member(let leaf) = item.sender else {
                throw MLSError(.invalidProposal, "an Update must come from a member")
            }
            guard leaf != committerLeaf else {
                throw MLSError(.committerChangesItself, "the committer cannot commit its own Update")
            }
            guard changedLeaves.insert(leaf).inserted else {
                throw MLSError(.conflictingProposals, "two Updates or Removes for leaf \(leaf)")
            }
            guard let current = applied.tree.leaf(leaf) else {
                throw MLSError(.invalidProposal, "Update from blank leaf \(leaf)")
            }
            guard current.encryptionKey != update.leafNode.encryptionKey else {
                throw MLSError(.invalidProposal, "an Update must change the encryption key")
            }
            try applied.tree.validate(
                leafNode: update.leafNode,
                at: leaf,
                use: .update,
                context: newContext,
                crypto: self.crypto,
                now: self.configuration.now()
            )
            applied.tree.update(leaf, with: update.leafNode)
            applied.updated.append(leaf)
            applied.pathRequired = true
        }

        // 3. Removes.
        for item in proposals {
            guard case .remove(let remove) = item.proposal else { continue }
            guard remove.removed != committerLeaf else {
                throw MLSError(.committerChangesItself, "the committer cannot remove itself")
            }
            guard changedLeaves.insert(remove.removed).inserted else {
                throw MLSError(.conflictingProposals, "two Updates or Removes for leaf \(remove.removed)")
            }
            guard let removed = applied.tree.leaf(remove.removed) else {
                throw MLSError(.invalidProposal, "Remove of leaf \(remove.removed), which is blank")
            }
            applied.removed[remove.removed] = self.tree.leaf(remove.removed) ?? removed
            applied.tree.remove(remove.removed)
            applied.pathRequired = true
        }

        // 4. Adds, in order (checks against a summary of the members: linear in the group size).
        // The summary is built only when there are Adds to check (an empty or Update-only commit
        // does not pay a pass over the whole tree).
        let hasAdds = proposals.contains { if case .add = $0.proposal { true } else { false } }
        var members = hasAdds ? applied.tree.memberSummary() : MemberSummary()
        var addedKeys: Set<[UInt8]> = []
        for item in proposals {
            guard case .add(let add) = item.proposal else { continue }
            let leafNode = add.keyPackage.leafNode
            guard addedKeys.insert(leafNode.signatureKey).inserted else {
                throw MLSError(.conflictingProposals, "two Adds for the same client")
            }
            if members.signatureKeys.contains(leafNode.signatureKey) {
                throw MLSError(.conflictingProposals, "an Add for a client already in the group")
            }
            try self.validate(keyPackage: add.keyPackage, tree: applied.tree, context: newContext, members: members)
            members.insert(leafNode)
            let leaf = applied.tree.add(leafNode)
            applied.added[leaf] = leafNode
        }

        // 5. PSKs, ExternalInit, ReInit.
        var pskIDs: Set<PreSharedKeyID> = []
        for item in proposals {
            switch item.proposal {
            case .preSharedKey(let psk):
                guard psk.psk.nonce.count == self.crypto.hashSize else {
                    throw MLSError(.invalidProposal, "a PSK nonce must be Nh bytes")
                }
                if case .resumption(let usage, _, _) = psk.psk.kind, usage != .application {
                    throw MLSError(.invalidProposal, "a PreSharedKey proposal may not use a \(usage) resumption PSK")
                }
                guard pskIDs.insert(psk.psk).inserted else { throw MLSError(.duplicateProposal, "the same PSK twice") }
                applied.psks.append(psk.psk)
            case .externalInit(let externalInit):
                applied.externalInit = externalInit
                applied.pathRequired = true
            case .reinit(let reinit):
                guard reinit.version >= self.context.version else {
                    throw MLSError(.invalidProposal, "a ReInit may not lower the version")
                }
                applied.reinit = reinit
            default:
                break
            }
        }

        // The new extensions must be supported by every member of the new tree.
        if applied.extensions != self.context.extensions {
            let required = try RequiredCapabilities.from(applied.extensions)
            for leaf in applied.tree.occupiedLeaves {
                let node = applied.tree.leaf(leaf)!
                guard applied.extensions.allSatisfy({ node.supportsExtension($0.type) }), required?.isSupported(by: node) ?? true
                else {
                    throw MLSError(.unsupportedCapability, "leaf \(leaf) does not support the new group context extensions")
                }
            }
        }
        return applied
    }

    /// Who may send which proposal (RFC 9420 §12.1.8).
    private func checkSender(_ item: ResolvedProposal) throws(MLSError) {
        switch item.sender {
        case .member(let leaf):
            guard self.tree.leaf(leaf) != nil else { throw MLSError(.invalidSender, "a proposal from blank leaf \(leaf)") }
        case .external:
            let allowed: Set<ProposalType> = [
                MLSCode.Proposal.add, MLSCode.Proposal.remove, MLSCode.Proposal.psk, MLSCode.Proposal.reinit,
                MLSCode.Proposal.groupContextExtensions,
            ]
            guard allowed.contains(item.proposal.type) else {
                throw MLSError(.unsupportedProposal, "external senders may not send proposal type \(item.proposal.type)")
            }
        case .newMemberProposal:
            guard case .add = item.proposal else {
                throw MLSError(.unsupportedProposal, "a new member may only propose its own Add")
            }
        case .newMemberCommit:
            break
        }
    }

    /// KeyPackage validation (RFC 9420 §10.1) against the group.
    func validate(keyPackage: KeyPackage, tree: RatchetTree, context: GroupContext, members: MemberSummary) throws(MLSError) {
        guard keyPackage.version == context.version, keyPackage.cipherSuite == context.cipherSuite else {
            throw MLSError(.invalidKeyPackage, "the KeyPackage's version or cipher suite differs from the group's")
        }
        guard keyPackage.initKey != keyPackage.leafNode.encryptionKey else {
            throw MLSError(.invalidKeyPackage, "the KeyPackage's init key equals its encryption key")
        }
        guard
            self.crypto.verifyWithLabel(
                publicKey: keyPackage.leafNode.signatureKey,
                label: "KeyPackageTBS",
                content: keyPackage.toBeSigned,
                signature: keyPackage.signature
            )
        else {
            throw MLSError(.invalidKeyPackage, "the KeyPackage signature does not verify")
        }
        do {
            try tree.validate(
                leafNode: keyPackage.leafNode,
                at: tree.leafCount,
                use: .keyPackage,
                context: context,
                crypto: self.crypto,
                now: self.configuration.now(),
                maxLifetime: self.configuration.maxKeyPackageLifetime,
                members: members
            )
        } catch {
            throw MLSError(error.code == .unsupportedCapability ? error.code : .invalidKeyPackage, "KeyPackage: \(error.message)")
        }
        guard !members.encryptionKeys.contains(keyPackage.leafNode.encryptionKey) else {
            throw MLSError(.duplicateKey, "the KeyPackage's encryption key is already in the tree")
        }
    }

    /// `psk_secret` for PSK ids: external ones from the registry, resumption ones from kept epochs.
    func pskSecret(_ ids: [PreSharedKeyID]) throws(MLSError) -> [UInt8] {
        var psks: [KeySchedule.PSK] = []
        for id in ids {
            switch id.kind {
            case .external(let pskID):
                guard let secret = self.externalPSKs[pskID] else {
                    throw MLSError(.unknownPSK, "external PSK not known to this member")
                }
                psks.append(KeySchedule.PSK(id: id, secret: secret))
            case .resumption(_, let groupID, let epoch):
                guard groupID == self.groupID, let secret = self.resumptionPSKs[epoch] else {
                    throw MLSError(.unknownPSK, "resumption PSK of epoch \(epoch) not kept by this member")
                }
                psks.append(KeySchedule.PSK(id: id, secret: secret))
            }
        }
        return try KeySchedule.pskSecret(psks, crypto: self.crypto)
    }
}
