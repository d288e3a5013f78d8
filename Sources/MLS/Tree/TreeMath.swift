/// Index arithmetic for the array representation of a left-balanced binary tree (RFC 9420
/// Appendix C). Leaves sit at even node indices (`2 * leaf`), parents at odd ones.
package enum TreeMath {
    /// The level of node `x`: 0 for leaves, k for a parent whose children are at level k-1.
    package static func level(_ x: UInt32) -> Int {
        guard x & 1 == 1 else { return 0 }
        var k = 0
        while (x >> UInt32(k)) & 1 == 1 { k += 1 }
        return k
    }

    /// The number of nodes for `leaves` leaves.
    package static func nodeWidth(leaves: UInt32) -> UInt32 {
        leaves == 0 ? 0 : 2 * (leaves - 1) + 1
    }

    /// The root of a tree with `leaves` leaves.
    package static func root(leaves: UInt32) -> UInt32 {
        let width = Self.nodeWidth(leaves: leaves)
        guard width > 0 else { return 0 }
        return (1 << UInt32(31 - width.leadingZeroBitCount)) - 1
    }

    /// The left child of parent `x`, nil for a leaf.
    package static func left(_ x: UInt32) -> UInt32? {
        let k = Self.level(x)
        guard k > 0 else { return nil }
        return x ^ (1 << UInt32(k - 1))
    }

    /// The right child of parent `x`, nil for a leaf.
    package static func right(_ x: UInt32) -> UInt32? {
        let k = Self.level(x)
        guard k > 0 else { return nil }
        return x ^ (3 << UInt32(k - 1))
    }

    /// The parent of `x` in a tree of `leaves` leaves, nil for the root.
    package static func parent(_ x: UInt32, leaves: UInt32) -> UInt32? {
        guard x != Self.root(leaves: leaves) else { return nil }
        let k = UInt32(Self.level(x))
        let b = (x >> (k + 1)) & 1
        return (x | (1 << k)) ^ (b << (k + 1))
    }

    /// The other child of `x`'s parent, nil for the root.
    package static func sibling(_ x: UInt32, leaves: UInt32) -> UInt32? {
        guard let p = Self.parent(x, leaves: leaves) else { return nil }
        return x < p ? Self.right(p) : Self.left(p)
    }

    /// The direct path of `x`, from its parent up to the root.
    package static func directPath(_ x: UInt32, leaves: UInt32) -> [UInt32] {
        var path: [UInt32] = []
        var node = x
        while let p = Self.parent(node, leaves: leaves) {
            path.append(p)
            node = p
        }
        return path
    }

    /// The copath of `x`: the sibling of `x` and of each node of its direct path except the root.
    package static func copath(_ x: UInt32, leaves: UInt32) -> [UInt32] {
        guard x != Self.root(leaves: leaves) else { return [] }
        var path = [x] + Self.directPath(x, leaves: leaves)
        path.removeLast()
        return path.compactMap { Self.sibling($0, leaves: leaves) }
    }

    /// The lowest common ancestor of nodes `x` and `y`.
    package static func commonAncestor(_ x: UInt32, _ y: UInt32) -> UInt32 {
        let lx = Self.level(x) + 1
        let ly = Self.level(y) + 1
        if lx <= ly && (x >> UInt32(ly)) == (y >> UInt32(ly)) { return y }
        if ly <= lx && (x >> UInt32(lx)) == (y >> UInt32(lx)) { return x }
        var xn = x
        var yn = y
        var k: UInt32 = 0
        while xn != yn {
            xn >>= 1
            yn >>= 1
            k += 1
        }
        return (xn << k) + (1 << (k - 1)) - 1
    }

    /// The node index of leaf `leaf`.
    package static func node(ofLeaf leaf: UInt32) -> UInt32 { 2 * leaf }
}
