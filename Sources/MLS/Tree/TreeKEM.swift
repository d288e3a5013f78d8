package import Primitives

/// TreeKEM (RFC 9420 §7.4–7.6): refreshing a member's direct path, and merging and decrypting
/// another member's UpdatePath.
package enum TreeKEM {
    /// What a committer gets from ``generate(tree:leaf:leafNode:signingKey:crypto:excluding:context:leafSecret:)``.
    package struct Generated: Sendable {
        package var updatePath: UpdatePath
        /// `commit_secret` for the key schedule.
        package var commitSecret: [UInt8]
        /// The path secret of each node of the filtered direct path (for Welcome messages).
        package var pathSecrets: [UInt32: [UInt8]]
        /// The new private keys: the leaf's and every filtered-direct-path node's.
        package var privateKeys: [UInt32: SecretBytes]
        /// The provisional GroupContext the path secrets were encrypted under.
        package var context: GroupContext
    }

    /// What a receiver gets from ``decrypt(_:sender:receiver:tree:privateKeys:context:excluding:crypto:)``.
    package struct Decrypted: Sendable {
        package var commitSecret: [UInt8]
        /// The path secret it decrypted (at its lowest common ancestor with the sender).
        package var pathSecret: [UInt8]
        /// Private keys of the updated nodes it now holds.
        package var privateKeys: [UInt32: SecretBytes]
    }

    /// The key pair a path secret gives a node: `DeriveKeyPair(DeriveSecret(path_secret, "node"))`.
    package static func nodeKeyPair(
        pathSecret: [UInt8],
        crypto: MLSCrypto
    ) throws(MLSError) -> (privateKey: SecretBytes, publicKey: [UInt8]) {
        try crypto.deriveKeyPair(try crypto.deriveSecret(pathSecret, label: "node"))
    }

    /// Refreshes `leaf`'s direct path in `tree` and builds the UpdatePath.
    ///
    /// - Parameters:
    ///   - leafNode: the committer's leaf as it should be (credential, capabilities, extensions);
    ///     its key, source, parent hash and signature are replaced.
    ///   - excluding: leaves added by this commit, which get no path secret.
    ///   - context: builds the provisional GroupContext from the tree once the path is applied.
    ///   - leafSecret: fixed only by tests; random otherwise.
    package static func generate(
        tree: inout RatchetTree,
        leaf: UInt32,
        leafNode: LeafNode,
        signingKey: SecretBytes,
        crypto: MLSCrypto,
        excluding: Set<UInt32>,
        context: (inout RatchetTree) -> GroupContext,
        leafSecret: [UInt8]? = nil
    ) throws(MLSError) -> Generated {
        let leafSecret = leafSecret ?? SecureRandom.bytes(count: crypto.hashSize)
        tree.blankPath(leaf)
        let path = tree.filteredDirectPath(leaf)
        let copath = tree.filteredCopath(leaf)

        var privateKeys: [UInt32: SecretBytes] = [:]
        let leafKeys = try Self.nodeKeyPair(pathSecret: leafSecret, crypto: crypto)
        privateKeys[TreeMath.node(ofLeaf: leaf)] = leafKeys.privateKey
        var pathSecrets: [UInt32: [UInt8]] = [:]
        var publicKeys: [[UInt8]] = []
        var secret = leafSecret
        for node in path {
            secret = try crypto.deriveSecret(secret, label: "path")
            pathSecrets[node] = secret
            let keys = try Self.nodeKeyPair(pathSecret: secret, crypto: crypto)
            privateKeys[node] = keys.privateKey
            publicKeys.append(keys.publicKey)
        }
        let commitSecret = try crypto.deriveSecret(secret, label: "path")

        let leafParentHash = Self.setPath(publicKeys, path: path, copath: copath, in: &tree, crypto: crypto)
        var newLeaf = leafNode
        newLeaf.encryptionKey = leafKeys.publicKey
        newLeaf.source = .commit(parentHash: leafParentHash)
        let groupContext = context(&tree)
        try newLeaf.sign(privateKey: signingKey, crypto: crypto, groupID: groupContext.groupID, leafIndex: leaf)
        tree.set(TreeMath.node(ofLeaf: leaf), .leaf(newLeaf))
        let provisional = context(&tree)

        // Every path secret to every member of its copath resolution: one HPKE encryption
        // each, independent of the others, so on all cores (results in recipient order).
        let contextBytes = provisional.encoded
        var jobs: [(path: Int, key: [UInt8])] = []
        for index in path.indices {
            for recipient in tree.resolution(copath[index]) where !excluding.contains(recipient / 2) || recipient % 2 == 1 {
                if let key = tree.encryptionKey(recipient) { jobs.append((index, key)) }
            }
        }
        let secrets = path.map { pathSecrets[$0]! }
        let work = jobs
        let sealed = try Parallel.map(work.count) { (job) throws(MLSError) -> HPKECiphertext in
            try crypto.encryptWithLabel(
                publicKey: work[job].key,
                label: "UpdatePathNode",
                context: contextBytes,
                plaintext: secrets[work[job].path]
            )
        }
        var ciphertexts = [[HPKECiphertext]](repeating: [], count: path.count)
        for (job, ciphertext) in zip(jobs, sealed) { ciphertexts[job.path].append(ciphertext) }
        let nodes = path.indices.map {
            UpdatePathNode(encryptionKey: publicKeys[$0], encryptedPathSecret: ciphertexts[$0])
        }
        return Generated(
            updatePath: UpdatePath(leafNode: newLeaf, nodes: nodes),
            commitSecret: commitSecret,
            pathSecrets: pathSecrets,
            privateKeys: privateKeys,
            context: provisional
        )
    }

    /// Sets the parent nodes of a path (keys given, unmerged lists empty) with their parent
    /// hashes computed from the top down; returns the parent hash the leaf must carry.
    private static func setPath(
        _ publicKeys: [[UInt8]],
        path: [UInt32],
        copath: [UInt32],
        in tree: inout RatchetTree,
        crypto: MLSCrypto
    ) -> [UInt8] {
        var above: [UInt8] = []
        for index in path.indices.reversed() {
            tree.set(path[index], .parent(ParentNode(encryptionKey: publicKeys[index], parentHash: above, unmergedLeaves: [])))
            above = tree.parentHash(of: path[index], sibling: copath[index], crypto: crypto)
        }
        return above
    }

    /// Merges another member's UpdatePath into `tree` (the public part): checks its shape and
    /// keys, blanks the sender's direct path, sets the new parent nodes and the sender's leaf,
    /// and verifies the leaf's parent hash. The caller validates the LeafNode itself.
    package static func merge(
        _ updatePath: UpdatePath,
        sender: UInt32,
        into tree: inout RatchetTree,
        excluding: Set<UInt32>,
        crypto: MLSCrypto
    ) throws(MLSError) {
        let path = tree.filteredDirectPath(sender)
        let copath = tree.filteredCopath(sender)
        guard updatePath.nodes.count == path.count else {
            throw MLSError(
                .invalidArgument,
                "the UpdatePath has \(updatePath.nodes.count) nodes, the filtered direct path \(path.count)"
            )
        }
        if let current = tree.leaf(sender), current.encryptionKey == updatePath.leafNode.encryptionKey {
            throw MLSError(.duplicateKey, "the committer's new leaf reuses its old encryption key")
        }
        let newKeys = [updatePath.leafNode.encryptionKey] + updatePath.nodes.map(\.encryptionKey)
        guard Set(newKeys).count == newKeys.count else { throw MLSError(.duplicateKey, "the UpdatePath repeats a public key") }
        for index in 0..<UInt32(tree.nodes.count) {
            if let key = tree.encryptionKey(index), newKeys.contains(key) {
                throw MLSError(.duplicateKey, "a key of the UpdatePath is already in the tree (node \(index))")
            }
        }
        for (index, node) in updatePath.nodes.enumerated() {
            let recipients = tree.resolution(copath[index]).filter { !excluding.contains($0 / 2) || $0 % 2 == 1 }
            guard node.encryptedPathSecret.count == recipients.count else {
                throw MLSError(
                    .invalidArgument,
                    "UpdatePath node \(index) has \(node.encryptedPathSecret.count) ciphertexts for \(recipients.count) recipients"
                )
            }
        }
        tree.blankPath(sender)
        let expected = Self.setPath(updatePath.nodes.map(\.encryptionKey), path: path, copath: copath, in: &tree, crypto: crypto)
        guard case .commit(let parentHash) = updatePath.leafNode.source, parentHash == expected else {
            throw MLSError(.invalidParentHash, "the committer's leaf does not carry the parent hash of its new path")
        }
        tree.set(TreeMath.node(ofLeaf: sender), .leaf(updatePath.leafNode))
    }

    /// Decrypts the path secret meant for `receiver` from a merged UpdatePath and derives the
    /// keys of the nodes above it.
    ///
    /// - Parameters:
    ///   - tree: the tree *after* ``merge(_:sender:into:excluding:crypto:)``.
    ///   - privateKeys: the receiver's private keys by node index (its leaf and known parents),
    ///     as they were before the merge.
    ///   - context: the provisional GroupContext (tree hash after the merge).
    ///   - excluding: leaves added by the same commit.
    package static func decrypt(
        _ updatePath: UpdatePath,
        sender: UInt32,
        receiver: UInt32,
        tree: RatchetTree,
        privateKeys: [UInt32: SecretBytes],
        context: GroupContext,
        excluding: Set<UInt32>,
        crypto: MLSCrypto
    ) throws(MLSError) -> Decrypted {
        let path = tree.filteredDirectPath(sender)
        let copath = tree.filteredCopath(sender)
        let receiverNode = TreeMath.node(ofLeaf: receiver)
        guard let index = copath.firstIndex(where: { RatchetTree.isInSubtree(receiverNode, of: $0) }) else {
            throw MLSError(.invalidArgument, "leaf \(receiver) is not below the sender's filtered copath")
        }
        let recipients = tree.resolution(copath[index]).filter { !excluding.contains($0 / 2) || $0 % 2 == 1 }
        guard updatePath.nodes[index].encryptedPathSecret.count == recipients.count else {
            throw MLSError(
                .invalidArgument,
                "UpdatePath node \(index) has \(updatePath.nodes[index].encryptedPathSecret.count) ciphertexts for \(recipients.count) recipients"
            )
        }
        guard let position = recipients.firstIndex(where: { privateKeys[$0] != nil }) else {
            throw MLSError(.decryptionFailed, "no private key for any node in the resolution of node \(copath[index])")
        }
        var secret = try crypto.decryptWithLabel(
            privateKey: privateKeys[recipients[position]]!,
            label: "UpdatePathNode",
            context: context.encoded,
            ciphertext: updatePath.nodes[index].encryptedPathSecret[position]
        )
        let decrypted = secret
        var keys: [UInt32: SecretBytes] = [:]
        for step in index..<path.count {
            if step > index { secret = try crypto.deriveSecret(secret, label: "path") }
            let pair = try Self.nodeKeyPair(pathSecret: secret, crypto: crypto)
            guard pair.publicKey == updatePath.nodes[step].encryptionKey else {
                throw MLSError(.invalidParentHash, "the derived key of node \(path[step]) differs from the UpdatePath's")
            }
            keys[path[step]] = pair.privateKey
        }
        return Decrypted(commitSecret: try crypto.deriveSecret(secret, label: "path"), pathSecret: decrypted, privateKeys: keys)
    }
}
