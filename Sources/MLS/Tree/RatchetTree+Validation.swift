package import Primitives

/// Where a LeafNode appears, which decides the source it must have (RFC 9420 §7.3).
package enum LeafNodeUse: Sendable {
    case keyPackage
    case update
    case commit
    /// Already in a tree being validated (any source).
    case tree
}

extension LeafNode {
    /// Checks the LeafNode's signature: `LeafNodeTBS`, with the group and leaf for `update` and
    /// `commit` sources.
    package func hasValidSignature(crypto: MLSCrypto, groupID: [UInt8], leafIndex: UInt32) -> Bool {
        crypto.verifyWithLabel(
            publicKey: self.signatureKey,
            label: "LeafNodeTBS",
            content: self.toBeSigned(groupID: groupID, leafIndex: leafIndex),
            signature: self.signature
        )
    }

    /// Signs the LeafNode (sets `signature`).
    package mutating func sign(privateKey: SecretBytes, crypto: MLSCrypto, groupID: [UInt8], leafIndex: UInt32) throws(MLSError) {
        self.signature = try crypto.signWithLabel(
            privateKey: privateKey,
            label: "LeafNodeTBS",
            content: self.toBeSigned(groupID: groupID, leafIndex: leafIndex)
        )
    }

    /// The extension types a LeafNode may carry without listing them (RFC 9420 §7.2).
    static let defaultExtensions: Set<ExtensionType> = [1, 2, 3, 4, 5]
    static let defaultProposals: Set<ProposalType> = [1, 2, 3, 4, 5, 6, 7]

    /// Whether this leaf supports an extension type (default types always).
    func supportsExtension(_ type: ExtensionType) -> Bool {
        Self.defaultExtensions.contains(type) || self.capabilities.extensions.contains(type)
    }

    /// Whether this leaf supports a proposal type (default types always).
    func supportsProposal(_ type: ProposalType) -> Bool {
        Self.defaultProposals.contains(type) || self.capabilities.proposals.contains(type)
    }
}

/// The `required_capabilities` group context extension.
package struct RequiredCapabilities: MLSCodable, Hashable {
    package var extensionTypes: [ExtensionType]
    package var proposalTypes: [ProposalType]
    package var credentialTypes: [CredentialType]

    package init(extensionTypes: [ExtensionType], proposalTypes: [ProposalType], credentialTypes: [CredentialType]) {
        self.extensionTypes = extensionTypes
        self.proposalTypes = proposalTypes
        self.credentialTypes = credentialTypes
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let u16 = { (r: inout MLSReader) throws(MLSDecodingError) -> UInt16 in try r.readUInt16() }
        self.extensionTypes = try reader.readVector(u16)
        self.proposalTypes = try reader.readVector(u16)
        self.credentialTypes = try reader.readVector(u16)
    }

    package func encode(to writer: inout MLSWriter) {
        for list in [self.extensionTypes, self.proposalTypes, self.credentialTypes] {
            writer.writeVector(list) { w, value in w.writeUInt16(value) }
        }
    }

    /// The required capabilities in a GroupContext's extensions, if any.
    static func from(_ extensions: [Extension]) throws(MLSError) -> RequiredCapabilities? {
        guard let ext = extensions.first(where: { $0.type == MLSCode.Extension.requiredCapabilities }) else { return nil }
        do {
            return try RequiredCapabilities.decode(ext.data)
        } catch {
            throw MLSError(error)
        }
    }

    /// Whether `leaf` supports every requirement.
    func isSupported(by leaf: LeafNode) -> Bool {
        self.extensionTypes.allSatisfy(leaf.supportsExtension) && self.proposalTypes.allSatisfy(leaf.supportsProposal)
            && self.credentialTypes.allSatisfy(leaf.capabilities.credentials.contains)
    }
}

extension RatchetTree {
    /// Validates one LeafNode for the group (RFC 9420 §7.3): signature, source, key sizes, the
    /// group's required capabilities, its own extensions vs capabilities, credential types
    /// against the other members, and optionally the lifetime.
    ///
    /// - Parameters:
    ///   - leafIndex: where the leaf is (or will be); for the signature and to skip itself.
    ///   - now: seconds since the epoch to check `lifetime` against, or nil to skip that check.
    ///   - maxLifetime: the longest total lifetime (seconds) a KeyPackage leaf may have, or nil.
    package func validate(
        leafNode: LeafNode,
        at leafIndex: UInt32,
        use: LeafNodeUse,
        context: GroupContext,
        crypto: MLSCrypto,
        now: UInt64? = nil,
        maxLifetime: UInt64? = nil,
        checkCredentialTypes: Bool = true,
        members: MemberSummary? = nil,
        signatureVerified: Bool? = nil
    ) throws(MLSError) {
        switch (use, leafNode.source) {
        case (.keyPackage, .keyPackage), (.update, .update), (.commit, .commit), (.tree, _): break
        default: throw MLSError(.invalidLeafNode, "leaf \(leafIndex): source \(leafNode.source) is wrong for \(use)")
        }
        let signatureValid =
            signatureVerified ?? leafNode.hasValidSignature(crypto: crypto, groupID: context.groupID, leafIndex: leafIndex)
        guard signatureValid else {
            throw MLSError(.invalidLeafNode, "leaf \(leafIndex): invalid LeafNode signature")
        }
        guard leafNode.signatureKey.count == crypto.suite.signature.publicKeySize,
            leafNode.encryptionKey.count == crypto.suite.hpke.kem.group.publicKeySize
        else {
            throw MLSError(.invalidLeafNode, "leaf \(leafIndex): keys do not fit cipher suite \(crypto.suite.id)")
        }
        // Capabilities listing the group's suite and version is a sender's duty (RFC 9420 §7.2);
        // receivers do not enforce it (interop vectors omit them), KeyPackage validation checks
        // the suite and version themselves.
        if let required = try RequiredCapabilities.from(context.extensions), !required.isSupported(by: leafNode) {
            throw MLSError(.unsupportedCapability, "leaf \(leafIndex) lacks the group's required capabilities")
        }
        for ext in leafNode.extensions where !leafNode.supportsExtension(ext.type) {
            throw MLSError(
                .invalidLeafNode,
                "leaf \(leafIndex) carries extension \(ext.type) it does not list in its capabilities"
            )
        }
        guard leafNode.capabilities.credentials.contains(leafNode.credential.type) else {
            throw MLSError(.invalidLeafNode, "leaf \(leafIndex) does not list its own credential type")
        }
        if let members, checkCredentialTypes {
            // Linear-time form of the pairwise check below.
            let supported = members.credentialTypesSupportedByAll.map { $0.contains(leafNode.credential.type) } ?? true
            guard supported, members.credentialTypesInUse.isSubset(of: leafNode.capabilities.credentials) else {
                throw MLSError(
                    .unsupportedCapability,
                    "leaf \(leafIndex) and the members do not support each other's credential types"
                )
            }
        }
        if checkCredentialTypes && members == nil {
            for other in self.occupiedLeaves where other != leafIndex {
                let member = self.leaf(other)!
                guard member.capabilities.credentials.contains(leafNode.credential.type),
                    leafNode.capabilities.credentials.contains(member.credential.type)
                else {
                    throw MLSError(
                        .unsupportedCapability,
                        "leaf \(leafIndex) and leaf \(other) do not support each other's credential types"
                    )
                }
            }
        }
        if let now, case .keyPackage(let lifetime) = leafNode.source, now < lifetime.notBefore || now > lifetime.notAfter {
            throw MLSError(.invalidLeafNode, "leaf \(leafIndex): lifetime does not cover the current time")
        }
        if let maxLifetime, case .keyPackage(let lifetime) = leafNode.source,
            lifetime.notAfter < lifetime.notBefore || lifetime.notAfter - lifetime.notBefore > maxLifetime
        {
            throw MLSError(
                .invalidLeafNode,
                "leaf \(leafIndex): lifetime of \(lifetime.notAfter &- lifetime.notBefore) s is over the maximum of \(maxLifetime) s"
            )
        }
    }

    /// What per-leaf checks need to know about all members, computed once.
    package func memberSummary() -> MemberSummary {
        var summary = MemberSummary()
        for leaf in self.occupiedLeaves { summary.insert(self.leaf(leaf)!) }
        for index in stride(from: 1, to: self.nodes.count, by: 2) {
            if let key = self.encryptionKey(UInt32(index)) { summary.encryptionKeys.insert(key) }
        }
        return summary
    }

    /// Checks that no other leaf uses this signature key and no other node this encryption key.
    func checkKeysUnique(_ leafNode: LeafNode, at leafIndex: UInt32) throws(MLSError) {
        for other in self.occupiedLeaves where other != leafIndex {
            let member = self.leaf(other)!
            if member.signatureKey == leafNode.signatureKey {
                throw MLSError(.duplicateKey, "leaf \(leafIndex) reuses the signature key of leaf \(other)")
            }
        }
        for (index, node) in self.nodes.enumerated() where index != 2 * Int(leafIndex) {
            if self.encryptionKey(UInt32(index)) == leafNode.encryptionKey, node != nil {
                throw MLSError(.duplicateKey, "leaf \(leafIndex) reuses the encryption key of node \(index)")
            }
        }
    }

    /// Validates a whole tree as a joiner must (RFC 9420 §12.4.3.1): tree hash, parent hashes,
    /// every leaf, unmerged-leaf lists and key uniqueness.
    package mutating func validate(context: GroupContext, crypto: MLSCrypto) throws(MLSError) {
        let occupied = self.occupiedLeaves
        // The leaves' tree hashes on all cores, then the cheap whole-tree checks, so that a tree
        // that does not match its GroupContext is refused before any signature is verified.
        let tree = self
        let hashes = Parallel.map(occupied.count) { (index) -> [UInt8] in
            tree.leafHash(TreeMath.node(ofLeaf: occupied[index]), blanked: false, crypto: crypto)
        }
        self.cacheLeafHashes(zip(occupied, hashes))
        guard self.treeHash(crypto: crypto) == context.treeHash else {
            throw MLSError(.invalidTreeHash, "the ratchet tree does not match the GroupContext's tree hash")
        }
        guard self.isParentHashValid(crypto: crypto) else {
            throw MLSError(.invalidParentHash, "a parent node is not parent-hash valid")
        }
        // Each leaf's signature (one Ed25519 verification per member, most of a join's time) on
        // all cores; the loop below still reports the first failing leaf, in leaf order.
        let groupID = context.groupID
        let signatureValid = Parallel.map(occupied.count) { (index) -> Bool in
            tree.leaf(occupied[index])!.hasValidSignature(crypto: crypto, groupID: groupID, leafIndex: occupied[index])
        }
        var signatureKeys: Set<KeyBytes> = []
        var encryptionKeys: Set<KeyBytes> = []
        // Every member supports every credential type in use (pairwise, in linear time).
        let typesInUse = Set(occupied.map { self.leaf($0)!.credential.type })
        for (position, leaf) in occupied.enumerated() {
            let node = self.leaf(leaf)!
            try self.validate(
                leafNode: node,
                at: leaf,
                use: .tree,
                context: context,
                crypto: crypto,
                checkCredentialTypes: false,
                signatureVerified: signatureValid[position]
            )
            guard typesInUse.isSubset(of: node.capabilities.credentials) else {
                throw MLSError(.unsupportedCapability, "leaf \(leaf) does not support every credential type in use")
            }
            guard signatureKeys.insert(KeyBytes(node.signatureKey)).inserted else {
                throw MLSError(.duplicateKey, "two leaves share a signature key")
            }
        }
        for index in 0..<self.nodes.count {
            if let key = self.encryptionKey(UInt32(index)), !encryptionKeys.insert(KeyBytes(key)).inserted {
                throw MLSError(.duplicateKey, "two nodes share an encryption key")
            }
        }
        for index in stride(from: 1, to: self.nodes.count, by: 2) {
            let node = UInt32(index)
            guard let parent = self.parent(node) else { continue }
            guard parent.unmergedLeaves == parent.unmergedLeaves.sorted(),
                Set(parent.unmergedLeaves).count == parent.unmergedLeaves.count
            else {
                throw MLSError(.invalidTree, "node \(node): unmerged leaves are not sorted and unique")
            }
            for leaf in parent.unmergedLeaves {
                let leafNode = TreeMath.node(ofLeaf: leaf)
                guard self.leaf(leaf) != nil, Self.isInSubtree(leafNode, of: node) else {
                    throw MLSError(.invalidTree, "node \(node) lists leaf \(leaf) as unmerged, which is blank or not below it")
                }
                for between in TreeMath.directPath(leafNode, leaves: self.leafCount) {
                    if between == node { break }
                    if let intermediate = self.parent(between), !intermediate.unmergedLeaves.contains(leaf) {
                        throw MLSError(.invalidTree, "node \(between) should list leaf \(leaf) as unmerged like node \(node)")
                    }
                }
            }
        }
    }
}

/// Facts about a group's members for validating many new leaves in linear time.
package struct MemberSummary: Sendable {
    package var signatureKeys: Set<[UInt8]> = []
    package var encryptionKeys: Set<[UInt8]> = []
    package var credentialTypesInUse: Set<CredentialType> = []
    /// The credential types every member supports; nil for no members.
    package var credentialTypesSupportedByAll: Set<CredentialType>?

    package init() {}

    /// Adds a member's leaf.
    package mutating func insert(_ leaf: LeafNode) {
        self.signatureKeys.insert(leaf.signatureKey)
        self.encryptionKeys.insert(leaf.encryptionKey)
        self.credentialTypesInUse.insert(leaf.credential.type)
        let supported = Set(leaf.capabilities.credentials)
        self.credentialTypesSupportedByAll = self.credentialTypesSupportedByAll.map { $0.intersection(supported) } ?? supported
    }
}
