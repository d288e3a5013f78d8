import MLS
import Primitives
import Testing

/// A joiner's validation of a whole tree (RFC 9420 §12.4.3.1) on a tree of 12 members, big
/// enough that the leaf hashes and signatures are computed on all cores (ADR 0026).
@Suite struct TreeValidationTests {
    /// Alice's group after adding eleven members in one commit.
    static func group() throws -> MLSGroup {
        var alice = Member("alice")
        try GroupScenarioTests.makeGroup(&alice)
        let packages = try (1..<12).map { try Member("member\($0)").keyPackage().keyPackage }
        let add = try alice.group!.addMembers(packages)
        _ = try alice.group!.process(add.commit)
        return alice.group!
    }

    /// `tree` with the signatures of `leaves` altered (one bit each).
    static func tampered(_ tree: RatchetTree, leaves: [UInt32]) throws -> RatchetTree {
        var nodes = tree.exported.nodes
        for leaf in leaves {
            guard case .leaf(var node)? = nodes[Int(2 * leaf)] else {
                throw MLSError(.invalidTree, "leaf \(leaf) is blank in the test tree")
            }
            node.signature[0] ^= 1
            nodes[Int(2 * leaf)] = .leaf(node)
        }
        return try RatchetTree(RatchetTreeNodes(nodes: nodes))
    }

    static func validationError(_ tree: RatchetTree, _ context: GroupContext, _ crypto: MLSCrypto) -> MLSError? {
        var tree = tree
        do {
            try tree.validate(context: context, crypto: crypto)
            return nil
        } catch {
            return error
        }
    }

    @Test func aTreeThatDoesNotMatchItsGroupContextIsRefusedByItsHash() throws {
        let group = try Self.group()
        #expect(group.tree.occupiedLeaves.count == 12)
        #expect(Self.validationError(group.tree, group.context, group.crypto) == nil)
        let error = Self.validationError(try Self.tampered(group.tree, leaves: [9]), group.context, group.crypto)
        #expect(error?.code == .invalidTreeHash, "\(String(describing: error))")
    }

    /// A GroupContext that states the forged tree's hash (as a forged GroupInfo would): the
    /// signatures verified in parallel still name the lowest bad leaf, whichever finished first.
    @Test func theFirstLeafWithABadSignatureIsNamed() throws {
        let group = try Self.group()
        var forged = try Self.tampered(group.tree, leaves: [10, 4])
        var context = group.context
        context.treeHash = forged.treeHash(crypto: group.crypto)
        let error = Self.validationError(forged, context, group.crypto)
        #expect(error?.code == .invalidLeafNode)
        #expect(error?.message.hasPrefix("leaf 4: invalid LeafNode signature") == true, "\(String(describing: error))")
    }
}
