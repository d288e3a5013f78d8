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
