package import Primitives

extension MLSGroup {
    /// The leaf of `groupInfo`'s ratchet tree whose signature key is `signatureKey` — a
    /// joiner's former appearance, to pass as `resync` to
    /// ``joinExternally(groupInfo:ratchetTree:leafNode:signingKey:resync:externalPSKs:authenticatedData:configuration:)``.
    package static func leaf(
        withSignatureKey signatureKey: [UInt8],
        in groupInfo: GroupInfo,
        ratchetTree: RatchetTreeNodes? = nil
    ) -> UInt32? {
        guard let tree = try? Self.ratchetTree(groupInfo: groupInfo, given: ratchetTree) else { return nil }
        return tree.occupiedLeaves.first { tree.leaf($0)?.signatureKey == signatureKey }
    }

    /// Joins a group by external commit (RFC 9420 §12.4.3.2) from its GroupInfo (which must
    /// carry `external_pub`).
    ///
    /// - Parameters:
    ///   - leafNode: the joiner's LeafNode template (see ``LeafNode/template(credential:signingKey:cipherSuite:capabilities:extensions:)``).
    ///   - resync: a leaf of the joiner's old appearance to remove in the same commit.
    /// - Returns: the joiner's group in the new epoch, to keep only once the Delivery Service
    ///   accepts `commit` (a PublicMessage) as the next commit of the group.
    package static func joinExternally(
        groupInfo: GroupInfo,
        ratchetTree: RatchetTreeNodes? = nil,
        leafNode: LeafNode,
        signingKey: SecretBytes,
        resync: UInt32? = nil,
        externalPSKs: [[UInt8]: SecretBytes] = [:],
        authenticatedData: [UInt8] = [],
        configuration: Configuration = Configuration()
    ) throws(MLSError) -> (group: MLSGroup, commit: MLSMessage) {
        let context = groupInfo.groupContext
        let crypto = try MLSCrypto(suiteID: context.cipherSuite)
        var tree = try Self.ratchetTree(groupInfo: groupInfo, given: ratchetTree)
        guard let signer = tree.leaf(groupInfo.signer),
            crypto.verifyWithLabel(
                publicKey: signer.signatureKey,
                label: "GroupInfoTBS",
                content: groupInfo.toBeSigned,
                signature: groupInfo.signature
            )
        else {
            throw MLSError(.invalidSignature, "the GroupInfo signature does not verify")
        }
        try tree.validate(context: context, crypto: crypto)
        guard let ext = groupInfo.extensions.first(where: { $0.type == MLSCode.Extension.externalPub }) else {
            throw MLSError(.invalidExternalCommit, "the GroupInfo has no external_pub")
        }
        let externalPub: ExternalPub
        do {
            externalPub = try ExternalPub.decode(ext.data)
        } catch {
            throw MLSError(error)
        }
        let (kemOutput, initSecret) = try KeySchedule.externalInit(externalPublicKey: externalPub.publicKey, crypto: crypto)

        // The group as an outsider sees it, to validate and apply the proposal list. Its epoch
        // secrets are placeholders: nothing below uses them.
        var observer = MLSGroup(
            crypto: crypto,
            configuration: configuration,
            context: context,
            tree: tree,
            ownLeaf: UInt32.max,
            signingKey: signingKey,
            privateKeys: [:],
            epochSecrets: try EpochSecrets(
                crypto: crypto,
                joinerSecret: SecureRandom.bytes(count: crypto.hashSize),
                pskSecret: [UInt8](repeating: 0, count: crypto.hashSize),
                groupContext: context
            ),
            confirmationTag: groupInfo.confirmationTag
        )
        observer.externalPSKs = externalPSKs
        var proposals: [Proposal] = [.externalInit(.init(kemOutput: kemOutput))]
        if let resync { proposals.append(.remove(.init(removed: resync))) }
        var applied = try observer.apply(
            proposals.map { ResolvedProposal(proposal: $0, sender: .newMemberCommit, byReference: false) },
            committerLeaf: nil
        )
        let ownLeaf = applied.tree.reserveLeaf()
        let newEpoch = context.epoch + 1
        let extensions = applied.extensions
        let generated = try TreeKEM.generate(
            tree: &applied.tree,
            leaf: ownLeaf,
            leafNode: leafNode,
            signingKey: signingKey,
            crypto: crypto,
            excluding: [],
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

        let content = FramedContent(
            groupID: context.groupID,
            epoch: context.epoch,
            sender: .newMemberCommit,
            authenticatedData: authenticatedData,
            body: .commit(Commit(proposals: proposals.map { .proposal($0) }, path: generated.updatePath))
        )
        let signature = try crypto.signWithLabel(
            privateKey: signingKey,
            label: "FramedContentTBS",
            content: content.toBeSigned(wireFormat: .publicMessage, context: context)
        )
        let unconfirmed = AuthenticatedContent(
            wireFormat: .publicMessage,
            content: content,
            auth: FramedContentAuthData(signature: signature, confirmationTag: [])
        )
        let confirmed = TranscriptHash.confirmed(interim: observer.interimTranscriptHash, content: unconfirmed, crypto: crypto)
        let newContext = GroupContext(
            version: context.version,
            cipherSuite: context.cipherSuite,
            groupID: context.groupID,
            epoch: newEpoch,
            treeHash: applied.tree.treeHash(crypto: crypto),
            confirmedTranscriptHash: confirmed,
            extensions: applied.extensions
        )
        let secrets = try EpochSecrets(
            crypto: crypto,
            initSecret: initSecret,
            commitSecret: generated.commitSecret,
            pskSecret: try observer.pskSecret(applied.psks),
            groupContext: newContext
        )
        let tag = TranscriptHash.confirmationTag(confirmationKey: secrets.confirmationKey, confirmed: confirmed, crypto: crypto)
        let message = MLSMessage.publicMessage(
            PublicMessage(
                content: content,
                auth: FramedContentAuthData(signature: signature, confirmationTag: tag),
                membershipTag: nil
            )
        )
        var group = MLSGroup(
            crypto: crypto,
            configuration: configuration,
            context: newContext,
            tree: applied.tree,
            ownLeaf: ownLeaf,
            signingKey: signingKey,
            privateKeys: generated.privateKeys,
            epochSecrets: secrets,
            confirmationTag: tag
        )
        group.externalPSKs = externalPSKs
        return (group, message)
    }
}
