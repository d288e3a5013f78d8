import MLS
import Primitives

/// `tree-validation.json`: per-node tree hashes and resolutions, parent hashes, leaf signatures.
enum TreeValidationCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let tree: HexBytes
        let group_id: HexBytes
        let tree_hashes: [HexBytes]
        let resolutions: [[UInt32]]
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        var tree = try RatchetTree(try check("decode tree") { try RatchetTreeNodes.decode(e.tree.bytes) })
        try expectEqual(tree.nodes.count, e.tree_hashes.count, "node count")
        for index in 0..<UInt32(tree.nodes.count) {
            try expectEqual(tree.treeHash(index, crypto: crypto), e.tree_hashes[Int(index)].bytes, "tree hash of node \(index)")
            try expectEqual(tree.resolution(index), e.resolutions[Int(index)], "resolution of node \(index)")
        }
        let context = GroupContext(
            cipherSuite: e.cipher_suite,
            groupID: e.group_id.bytes,
            epoch: 0,
            treeHash: tree.treeHash(crypto: crypto),
            confirmedTranscriptHash: [],
            extensions: []
        )
        try tree.validate(context: context, crypto: crypto)
    }
}

/// `tree-operations.json`: an Add, Update or Remove applied to a tree.
enum TreeOperationsCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let tree_before: HexBytes
        let proposal: HexBytes
        let proposal_sender: UInt32
        let tree_after: HexBytes
        let tree_hash_before: HexBytes
        let tree_hash_after: HexBytes
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        var tree = try RatchetTree(try check("decode tree_before") { try RatchetTreeNodes.decode(e.tree_before.bytes) })
        try expectEqual(tree.treeHash(crypto: crypto), e.tree_hash_before.bytes, "tree_hash_before")
        switch try check("decode proposal", { try Proposal.decode(e.proposal.bytes) }) {
        case .add(let add): tree.add(add.keyPackage.leafNode)
        case .update(let update): tree.update(e.proposal_sender, with: update.leafNode)
        case .remove(let remove): tree.remove(remove.removed)
        default: throw VectorFailure("unexpected proposal type")
        }
        try expectEqual(tree.exported.encoded, e.tree_after.bytes, "tree_after")
        try expectEqual(tree.treeHash(crypto: crypto), e.tree_hash_after.bytes, "tree_hash_after")
    }
}

/// `treekem.json`: merging and decrypting given UpdatePaths, then generating our own.
enum TreeKEMCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let group_id: HexBytes
        let epoch: UInt64
        let confirmed_transcript_hash: HexBytes
        let ratchet_tree: HexBytes
        let leaves_private: [LeafPrivate]
        let update_paths: [Path]

        struct LeafPrivate: Decodable {
            let index: UInt32
            let encryption_priv: HexBytes
            let signature_priv: HexBytes
            let path_secrets: [NodeSecret]
        }

        struct NodeSecret: Decodable {
            let node: UInt32
            let path_secret: HexBytes
        }

        struct Path: Decodable {
            let sender: UInt32
            let update_path: HexBytes
            let path_secrets: [HexBytes?]
            let commit_secret: HexBytes
            let tree_hash_after: HexBytes
        }
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        let original = try RatchetTree(try check("decode ratchet_tree") { try RatchetTreeNodes.decode(e.ratchet_tree.bytes) })
        func context(_ tree: inout RatchetTree) -> GroupContext {
            GroupContext(
                cipherSuite: e.cipher_suite,
                groupID: e.group_id.bytes,
                epoch: e.epoch,
                treeHash: tree.treeHash(crypto: crypto),
                confirmedTranscriptHash: e.confirmed_transcript_hash.bytes,
                extensions: []
            )
        }
        var keys: [UInt32: [UInt32: SecretBytes]] = [:]
        for leaf in e.leaves_private {
            var own = [TreeMath.node(ofLeaf: leaf.index): SecretBytes(leaf.encryption_priv.bytes)]
            for secret in leaf.path_secrets {
                own[secret.node] = try TreeKEM.nodeKeyPair(pathSecret: secret.path_secret.bytes, crypto: crypto).privateKey
            }
            keys[leaf.index] = own
        }

        for (number, u) in e.update_paths.enumerated() {
            let path = try check("decode update_path \(number)") { try UpdatePath.decode(u.update_path.bytes) }
            var tree = original
            try TreeKEM.merge(path, sender: u.sender, into: &tree, excluding: [], crypto: crypto)
            let provisional = context(&tree)
            try expectEqual(provisional.treeHash, u.tree_hash_after.bytes, "path \(number): tree_hash_after")
            try tree.validate(leafNode: path.leafNode, at: u.sender, use: .commit, context: provisional, crypto: crypto)
            for leaf in e.leaves_private where leaf.index != u.sender {
                let decrypted = try TreeKEM.decrypt(
                    path,
                    sender: u.sender,
                    receiver: leaf.index,
                    tree: tree,
                    privateKeys: keys[leaf.index]!,
                    context: provisional,
                    excluding: [],
                    crypto: crypto
                )
                try expectEqual(
                    decrypted.pathSecret,
                    u.path_secrets[Int(leaf.index)]?.bytes ?? [],
                    "path \(number): path secret of leaf \(leaf.index)"
                )
                try expectEqual(
                    decrypted.commitSecret,
                    u.commit_secret.bytes,
                    "path \(number): commit secret at leaf \(leaf.index)"
                )
            }
        }

        // Our own UpdatePath from every private leaf must be processed by every other one.
        for sender in e.leaves_private {
            var senderTree = original
            let generated = try TreeKEM.generate(
                tree: &senderTree,
                leaf: sender.index,
                leafNode: original.leaf(sender.index)!,
                signingKey: SecretBytes(sender.signature_priv.bytes),
                crypto: crypto,
                excluding: [],
                context: context
            )
            for receiver in e.leaves_private where receiver.index != sender.index {
                var tree = original
                try TreeKEM.merge(generated.updatePath, sender: sender.index, into: &tree, excluding: [], crypto: crypto)
                let provisional = context(&tree)
                try expectEqual(
                    provisional.treeHash,
                    generated.context.treeHash,
                    "generated path of leaf \(sender.index): tree hash"
                )
                try tree.validate(
                    leafNode: generated.updatePath.leafNode,
                    at: sender.index,
                    use: .commit,
                    context: provisional,
                    crypto: crypto
                )
                let decrypted = try TreeKEM.decrypt(
                    generated.updatePath,
                    sender: sender.index,
                    receiver: receiver.index,
                    tree: tree,
                    privateKeys: keys[receiver.index]!,
                    context: provisional,
                    excluding: [],
                    crypto: crypto
                )
                try expectEqual(
                    decrypted.commitSecret,
                    generated.commitSecret,
                    "generated path of leaf \(sender.index) at leaf \(receiver.index)"
                )
            }
        }
    }
}
