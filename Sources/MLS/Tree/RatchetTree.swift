import Primitives

/// The public ratchet tree of a group (RFC 9420 §4, §7), in the array representation: leaves at
/// even node indices, parents at odd ones, always 2^d leaves. A value type; tree hashes are
/// cached per node and invalidated along the path of every change.
package struct RatchetTree: Sendable {
    /// The nodes, `nil` for blank; count is `2 * leafCount - 1`.
    package private(set) var nodes: [Node?]
    private var hashCache: [[UInt8]?]

    /// A tree whose only node is `leaf` (a new group).
    package init(leaf: LeafNode) {
        self.nodes = [.leaf(leaf)]
        self.hashCache = [nil]
    }

    /// A tree from the `ratchet_tree` extension's node list: the last node must be non-blank, the
    /// list is extended with blanks to a full tree, and leaves/parents must sit at even/odd indices.
    package init(_ list: RatchetTreeNodes) throws(MLSError) {
        guard let last = list.nodes.last, last != nil else {
            throw MLSError(.malformed, "a ratchet tree must not be empty or end with a blank node")
        }
        var width = 1
        while width < list.nodes.count { width = 2 * width + 1 }
        var nodes = list.nodes
        nodes += [Node?](repeating: nil, count: width - nodes.count)
        for (index, node) in nodes.enumerated() {
            switch (node, index % 2) {
            case (.leaf?, 1), (.parent?, 0):
                throw MLSError(.malformed, "node \(index) of the ratchet tree has the wrong type for its position")
            default: break
            }
        }
        self.nodes = nodes
        self.hashCache = [[UInt8]?](repeating: nil, count: width)
    }

    /// A tree from its complete node array (persistence); the count must be 2^(d+1) - 1.
    init(complete nodes: [Node?]) throws(MLSError) {
        guard nodes.count % 2 == 1, (nodes.count + 1) & nodes.count == 0 else {
            throw MLSError(.malformed, "a stored tree of \(nodes.count) nodes is not complete")
        }
        self.nodes = nodes
        self.hashCache = [[UInt8]?](repeating: nil, count: nodes.count)
    }

    /// The node list for the `ratchet_tree` extension (trailing blanks dropped).
    package var exported: RatchetTreeNodes {
        var nodes = self.nodes
        while let last = nodes.last, last == nil { nodes.removeLast() }
        return RatchetTreeNodes(nodes: nodes)
    }

    package var leafCount: UInt32 { UInt32((self.nodes.count + 1) / 2) }
    package var root: UInt32 { TreeMath.root(leaves: self.leafCount) }

    // MARK: Access

    /// The LeafNode of leaf `leaf`, nil when blank or outside the tree.
    package func leaf(_ leaf: UInt32) -> LeafNode? {
        guard leaf < self.leafCount, case .leaf(let node)? = self.nodes[Int(2 * leaf)] else { return nil }
        return node
    }

    /// The ParentNode at node index `node`, nil when blank or not a parent.
    package func parent(_ node: UInt32) -> ParentNode? {
        guard Int(node) < self.nodes.count, case .parent(let parent)? = self.nodes[Int(node)] else { return nil }
        return parent
    }

    /// Whether node `node` is blank.
    package func isBlank(_ node: UInt32) -> Bool { Int(node) >= self.nodes.count || self.nodes[Int(node)] == nil }

    /// Indices of the non-blank leaves.
    package var occupiedLeaves: [UInt32] {
        // Tests the slot without copying the LeafNode out (this runs on every commit).
        (0..<self.leafCount).filter { if case .some = self.nodes[Int(2 * $0)] { true } else { false } }
    }

    /// The HPKE public key held at a node, if any.
    package func encryptionKey(_ node: UInt32) -> [UInt8]? {
        switch self.nodes[Int(node)] {
        case .leaf(let leaf)?: leaf.encryptionKey
        case .parent(let parent)?: parent.encryptionKey
        case nil: nil
        }
    }

    // MARK: Mutation

    /// Sets node `node`, invalidating the cached hashes above it.
    package mutating func set(_ node: UInt32, _ value: Node?) {
        self.nodes[Int(node)] = value
        self.invalidate(node)
    }

    private mutating func invalidate(_ node: UInt32) {
        self.hashCache[Int(node)] = nil
        for ancestor in TreeMath.directPath(node, leaves: self.leafCount) { self.hashCache[Int(ancestor)] = nil }
    }

    /// Blanks every node on the direct path of `leaf`.
    package mutating func blankPath(_ leaf: UInt32) {
        for node in TreeMath.directPath(TreeMath.node(ofLeaf: leaf), leaves: self.leafCount) where !self.isBlank(node) {
            self.set(node, nil)
        }
    }

    /// Adds a member at the leftmost blank leaf (extending the tree when full) and records it as
    /// unmerged in every non-blank ancestor. Returns its leaf index.
    @discardableResult
    package mutating func add(_ leafNode: LeafNode) -> UInt32 {
        let leaf = self.reserveLeaf()
        let node = TreeMath.node(ofLeaf: leaf)
        for ancestor in TreeMath.directPath(node, leaves: self.leafCount) {
            guard var parent = self.parent(ancestor) else { continue }
            parent.unmergedLeaves.append(leaf)
            parent.unmergedLeaves.sort()
            self.set(ancestor, .parent(parent))
        }
        self.set(node, .leaf(leafNode))
        return leaf
    }

    /// The leftmost blank leaf, extending the tree when there is none (where an external joiner goes).
    package mutating func reserveLeaf() -> UInt32 {
        (0..<self.leafCount).first { self.isBlankLeaf($0) } ?? self.extend()
    }

    /// Whether leaf `leaf` is blank, without copying its node.
    private func isBlankLeaf(_ leaf: UInt32) -> Bool {
        if case .none = self.nodes[Int(2 * leaf)] { return true }
        return false
    }

    /// Doubles the leaves (a new blank root over the old tree and a blank right subtree); returns
    /// the first new leaf.
    private mutating func extend() -> UInt32 {
        let first = self.leafCount
        let width = self.nodes.count
        self.nodes += [Node?](repeating: nil, count: width + 1)
        self.hashCache = [[UInt8]?](repeating: nil, count: self.nodes.count)
        return first
    }

    /// Replaces a member's LeafNode (Update) and blanks its direct path.
    package mutating func update(_ leaf: UInt32, with leafNode: LeafNode) {
        self.set(TreeMath.node(ofLeaf: leaf), .leaf(leafNode))
        self.blankPath(leaf)
    }

    /// Removes a member: blanks its leaf and direct path, then truncates the tree.
    package mutating func remove(_ leaf: UInt32) {
        self.set(TreeMath.node(ofLeaf: leaf), nil)
        self.blankPath(leaf)
        self.truncate()
    }

    /// Halves the tree while its right half has no non-blank leaf.
    package mutating func truncate() {
        while self.leafCount > 1 {
            let half = self.leafCount / 2
            guard (half..<self.leafCount).allSatisfy({ self.isBlankLeaf($0) }) else { return }
            self.nodes.removeLast(self.nodes.count - Int(2 * half - 1))
            self.hashCache = [[UInt8]?](repeating: nil, count: self.nodes.count)
        }
    }

    // MARK: Resolution and paths

    /// The resolution of `node` (RFC 9420 §4.1.1): itself (and its unmerged leaves) when
    /// non-blank, else the resolutions of its children.
    package func resolution(_ node: UInt32) -> [UInt32] {
        var resolution: [UInt32] = []
        self.appendResolution(of: node, to: &resolution)
        return resolution
    }

    /// Appends the resolution of `node` (one array for the whole walk, not one per level).
    private func appendResolution(of node: UInt32, to resolution: inout [UInt32]) {
        switch self.nodes[Int(node)] {
        case .leaf?: resolution.append(node)
        case .parent(let parent)?:
            resolution.append(node)
            for leaf in parent.unmergedLeaves { resolution.append(TreeMath.node(ofLeaf: leaf)) }
        case nil:
            guard let left = TreeMath.left(node), let right = TreeMath.right(node) else { return }
            self.appendResolution(of: left, to: &resolution)
            self.appendResolution(of: right, to: &resolution)
        }
    }

    /// Whether the resolution of `node` is non-empty: some node of its subtree is non-blank
    /// (stops at the first).
    private func hasResolution(_ node: UInt32) -> Bool {
        if case .some = self.nodes[Int(node)] { return true }
        guard let left = TreeMath.left(node), let right = TreeMath.right(node) else { return false }
        return self.hasResolution(left) || self.hasResolution(right)
    }

    /// The filtered direct path of `leaf`: its direct path without nodes whose copath child has
    /// an empty resolution.
    package func filteredDirectPath(_ leaf: UInt32) -> [UInt32] {
        let node = TreeMath.node(ofLeaf: leaf)
        let path = TreeMath.directPath(node, leaves: self.leafCount)
        let copath = TreeMath.copath(node, leaves: self.leafCount)
        return zip(path, copath).filter { self.hasResolution($0.1) }.map(\.0)
    }

    /// The copath child of each node in the filtered direct path of `leaf`, in the same order.
    package func filteredCopath(_ leaf: UInt32) -> [UInt32] {
        let node = TreeMath.node(ofLeaf: leaf)
        let path = TreeMath.directPath(node, leaves: self.leafCount)
        let copath = TreeMath.copath(node, leaves: self.leafCount)
        return zip(path, copath).filter { self.hasResolution($0.1) }.map(\.1)
    }

    /// Whether `node` is in the subtree rooted at `ancestor`.
    static func isInSubtree(_ node: UInt32, of ancestor: UInt32) -> Bool {
        let level = TreeMath.level(ancestor)
        let span = UInt32(1) << UInt32(level)
        return node >= ancestor + 1 - span && node <= ancestor + span - 1
    }

    // MARK: Tree hash

    /// The tree hash of the root.
    package mutating func treeHash(crypto: MLSCrypto) -> [UInt8] {
        self.treeHash(self.root, crypto: crypto)
    }

    /// The tree hash of `node` (cached).
    package mutating func treeHash(_ node: UInt32, crypto: MLSCrypto) -> [UInt8] {
        if let cached = self.hashCache[Int(node)] { return cached }
        let hash: [UInt8]
        if TreeMath.level(node) == 0 {
            hash = self.leafHash(node, blanked: false, crypto: crypto)
        } else {
            let left = self.treeHash(TreeMath.left(node)!, crypto: crypto)
            let right = self.treeHash(TreeMath.right(node)!, crypto: crypto)
            hash = self.parentHashInput(node, parent: self.parent(node), left: left, right: right, crypto: crypto)
        }
        self.hashCache[Int(node)] = hash
        return hash
    }

    /// The tree hash of `node` as if the leaves in `excluded` were blank and absent from every
    /// `unmerged_leaves` list (the "original sibling tree hash" of RFC 9420 §7.9).
    mutating func treeHash(_ node: UInt32, excluding excluded: Set<UInt32>, crypto: MLSCrypto) -> [UInt8] {
        if excluded.isEmpty || !excluded.contains(where: { Self.isInSubtree(TreeMath.node(ofLeaf: $0), of: node) }) {
            return self.treeHash(node, crypto: crypto)
        }
        if TreeMath.level(node) == 0 {
            return self.leafHash(node, blanked: excluded.contains(node / 2), crypto: crypto)
        }
        let left = self.treeHash(TreeMath.left(node)!, excluding: excluded, crypto: crypto)
        let right = self.treeHash(TreeMath.right(node)!, excluding: excluded, crypto: crypto)
        var parent = self.parent(node)
        parent?.unmergedLeaves.removeAll { excluded.contains($0) }
        return self.parentHashInput(node, parent: parent, left: left, right: right, crypto: crypto)
    }

    /// Caches the tree hashes of leaves computed elsewhere (a joiner hashes every leaf on all
    /// cores while it verifies their signatures).
    mutating func cacheLeafHashes(_ hashes: some Sequence<(UInt32, [UInt8])>) {
        for (leaf, hash) in hashes { self.hashCache[Int(TreeMath.node(ofLeaf: leaf))] = hash }
    }

    /// The tree hash of leaf node `node`, as if blank when `blanked`.
    func leafHash(_ node: UInt32, blanked: Bool, crypto: MLSCrypto) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeUInt8(1)
        writer.writeUInt32(node / 2)
        writer.writeOptional(blanked ? nil : self.leaf(node / 2))
        return crypto.hash(writer.bytes)
    }

    private func parentHashInput(_ node: UInt32, parent: ParentNode?, left: [UInt8], right: [UInt8], crypto: MLSCrypto) -> [UInt8]
    {
        var writer = MLSWriter()
        writer.writeUInt8(2)
        writer.writeOptional(parent)
        writer.writeOpaque(left)
        writer.writeOpaque(right)
        return crypto.hash(writer.bytes)
    }

    // MARK: Parent hash

    /// The parent hash of parent `node` with copath child `sibling` (RFC 9420 §7.9).
    mutating func parentHash(of node: UInt32, sibling: UInt32, crypto: MLSCrypto) -> [UInt8] {
        guard let parent = self.parent(node) else { return [] }
        let original = self.treeHash(sibling, excluding: Set(parent.unmergedLeaves), crypto: crypto)
        var writer = MLSWriter()
        writer.writeOpaque(parent.encryptionKey)
        writer.writeOpaque(parent.parentHash)
        writer.writeOpaque(original)
        return crypto.hash(writer.bytes)
    }

    /// The `parent_hash` a node carries: a parent's field, a commit-source leaf's field.
    func parentHashField(_ node: UInt32) -> [UInt8]? {
        switch self.nodes[Int(node)] {
        case .parent(let parent)?: return parent.parentHash
        case .leaf(let leaf)?:
            if case .commit(let hash) = leaf.source { return hash }
            return nil
        case nil: return nil
        }
    }

    /// Whether every non-blank parent node is parent-hash valid: exactly one descendant chains to
    /// it (RFC 9420 §7.9.2, "top down").
    package mutating func isParentHashValid(crypto: MLSCrypto) -> Bool {
        for index in stride(from: 1, to: self.nodes.count, by: 2) {
            let node = UInt32(index)
            guard let parent = self.parent(node) else { continue }
            let unmerged = Set(parent.unmergedLeaves.map { TreeMath.node(ofLeaf: $0) })
            var chains = 0
            for (child, sibling) in [
                (TreeMath.left(node)!, TreeMath.right(node)!), (TreeMath.right(node)!, TreeMath.left(node)!),
            ] {
                let expected = self.parentHash(of: node, sibling: sibling, crypto: crypto)
                let resolution = self.resolution(child)
                let unmergedBelow = unmerged.filter { Self.isInSubtree($0, of: child) }
                for candidate in resolution where self.parentHashField(candidate) == expected {
                    if Set(resolution.filter { $0 != candidate }) == unmergedBelow { chains += 1 }
                }
            }
            if chains != 1 { return false }
        }
        return true
    }
}

// MARK: - Equatable (the cache is not part of the value)

extension RatchetTree: Equatable {
    package static func == (lhs: RatchetTree, rhs: RatchetTree) -> Bool { lhs.nodes == rhs.nodes }
}
