package import Primitives

/// The secret tree of an epoch (RFC 9420 §9): per-member handshake and application ratchets
/// derived from `encryption_secret`, with the deletion schedule of §9.2.
///
/// Node secrets are derived on demand from the root down and deleted as soon as both children
/// exist; a ratchet keeps only its next secret plus the keys of generations it skipped (for
/// out-of-order messages, up to ``Limits``). A value type: copying it forks the state.
package struct SecretTree: Sendable {
    /// Which ratchet of a leaf.
    package enum RatchetKind: Sendable, Hashable {
        case handshake
        case application
    }

    /// How far a receiver tolerates reordering.
    package struct Limits: Sendable, Hashable {
        /// Most generations a message may be ahead of the ratchet (keys in between are kept).
        package var maximumForwardDistance: UInt32
        /// Most skipped keys kept per ratchet; the oldest go first.
        package var maximumSkippedKeys: Int

        package init(maximumForwardDistance: UInt32 = 1000, maximumSkippedKeys: Int = 128) {
            self.maximumForwardDistance = maximumForwardDistance
            self.maximumSkippedKeys = maximumSkippedKeys
        }
    }

    /// A message key and nonce for one generation.
    package struct KeyAndNonce: Sendable {
        package let generation: UInt32
        package let key: SecretBytes
        package let nonce: [UInt8]
    }

    struct Ratchet: Sendable {
        var secret: SecretBytes
        var generation: UInt32
        var skipped: [UInt32: KeyAndNonce] = [:]
    }

    private let crypto: MLSCrypto
    package let leafCount: UInt32
    package var limits: Limits
    private var nodeSecrets: [UInt32: SecretBytes]
    private var ratchets: [UInt32: [RatchetKind: Ratchet]] = [:]

    package init(crypto: MLSCrypto, encryptionSecret: SecretBytes, leafCount: UInt32, limits: Limits = Limits()) {
        self.crypto = crypto
        self.leafCount = leafCount
        self.limits = limits
        self.nodeSecrets = [TreeMath.root(leaves: leafCount): encryptionSecret]
    }

    /// The key and nonce for the next message this member sends, advancing the ratchet.
    package mutating func nextKey(leaf: UInt32, kind: RatchetKind) throws(MLSError) -> KeyAndNonce {
        var ratchet = try self.ratchet(leaf: leaf, kind: kind)
        let keyAndNonce = try self.derive(&ratchet)
        self.ratchets[leaf, default: [:]][kind] = ratchet
        return keyAndNonce
    }

    /// The key and nonce to decrypt a message of `generation` from `leaf`. Each is handed out once.
    ///
    /// - Throws: ``MLSError/Code/generationConsumed`` for a generation already used or dropped,
    ///   ``MLSError/Code/generationTooFar`` beyond ``Limits/maximumForwardDistance``.
    package mutating func key(leaf: UInt32, kind: RatchetKind, generation: UInt32) throws(MLSError) -> KeyAndNonce {
        var ratchet = try self.ratchet(leaf: leaf, kind: kind)
        defer { self.ratchets[leaf, default: [:]][kind] = ratchet }
        if generation < ratchet.generation {
            guard let kept = ratchet.skipped.removeValue(forKey: generation) else {
                throw MLSError(.generationConsumed, "generation \(generation) of leaf \(leaf) was already used or dropped")
            }
            return kept
        }
        guard generation - ratchet.generation <= self.limits.maximumForwardDistance else {
            throw MLSError(.generationTooFar, "generation \(generation) is more than \(self.limits.maximumForwardDistance) ahead")
        }
        while ratchet.generation < generation {
            let skipped = try self.derive(&ratchet)
            ratchet.skipped[skipped.generation] = skipped
            if ratchet.skipped.count > self.limits.maximumSkippedKeys, let oldest = ratchet.skipped.keys.min() {
                ratchet.skipped[oldest] = nil
            }
        }
        return try self.derive(&ratchet)
    }

    /// Derives the current generation's key and nonce and steps the ratchet.
    private func derive(_ ratchet: inout Ratchet) throws(MLSError) -> KeyAndNonce {
        let secret = ratchet.secret.bytes
        let g = ratchet.generation
        guard g < UInt32.max else { throw MLSError(.generationTooFar, "ratchet exhausted") }
        let aead = self.crypto.suite.aead
        let key = try self.crypto.deriveTreeSecret(secret, label: "key", generation: g, length: aead.keySize)
        let nonce = try self.crypto.deriveTreeSecret(secret, label: "nonce", generation: g, length: aead.nonceSize)
        ratchet.secret = SecretBytes(
            try self.crypto.deriveTreeSecret(secret, label: "secret", generation: g, length: self.crypto.hashSize)
        )
        ratchet.generation = g + 1
        return KeyAndNonce(generation: g, key: SecretBytes(key), nonce: nonce)
    }

    /// The leaf's ratchet, creating both ratchets of the leaf from its tree secret on first use.
    private mutating func ratchet(leaf: UInt32, kind: RatchetKind) throws(MLSError) -> Ratchet {
        guard leaf < self.leafCount else { throw MLSError(.indexOutOfRange, "leaf \(leaf) of \(self.leafCount)") }
        if let existing = self.ratchets[leaf]?[kind] { return existing }
        let leafSecret = try self.takeNodeSecret(TreeMath.node(ofLeaf: leaf)).bytes
        let size = self.crypto.hashSize
        let handshake = try self.crypto.expandWithLabel(secret: leafSecret, label: "handshake", context: [], length: size)
        let application = try self.crypto.expandWithLabel(secret: leafSecret, label: "application", context: [], length: size)
        self.ratchets[leaf] = [
            .handshake: Ratchet(secret: SecretBytes(handshake), generation: 0),
            .application: Ratchet(secret: SecretBytes(application), generation: 0),
        ]
        return self.ratchets[leaf]![kind]!
    }

    /// Removes and returns the secret of `node`, deriving it (and deleting its ancestors as it goes).
    private mutating func takeNodeSecret(_ node: UInt32) throws(MLSError) -> SecretBytes {
        if let secret = self.nodeSecrets.removeValue(forKey: node) { return secret }
        // Find the closest ancestor whose secret is still held, then walk down.
        var path: [UInt32] = []
        var current = node
        while self.nodeSecrets[current] == nil {
            guard let parent = TreeMath.parent(current, leaves: self.leafCount) else {
                throw MLSError(.generationConsumed, "the secret tree no longer holds node \(node)")
            }
            path.append(current)
            current = parent
        }
        for child in path.reversed() {
            let parent = current
            let secret = self.nodeSecrets.removeValue(forKey: parent)!.bytes
            let size = self.crypto.hashSize
            let left = TreeMath.left(parent)!
            let right = TreeMath.right(parent)!
            self.nodeSecrets[left] = SecretBytes(
                try self.crypto.expandWithLabel(secret: secret, label: "tree", context: Array("left".utf8), length: size)
            )
            self.nodeSecrets[right] = SecretBytes(
                try self.crypto.expandWithLabel(secret: secret, label: "tree", context: Array("right".utf8), length: size)
            )
            current = child
        }
        return self.nodeSecrets.removeValue(forKey: node)!
    }

    // MARK: Persistence

    /// Writes the state (node secrets, ratchets and kept keys) for ``MLSGroup/serialized()``.
    func encode(to writer: inout MLSWriter) {
        writer.writeUInt32(self.leafCount)
        writer.writeVector(self.nodeSecrets.sorted { $0.key < $1.key }) { w, entry in
            w.writeUInt32(entry.key)
            w.writeOpaque(entry.value.bytes)
        }
        let ratchets = self.ratchets.sorted { $0.key < $1.key }.flatMap { leaf, kinds in
            kinds.sorted { $0.key == .handshake && $1.key == .application }.map { (leaf, $0.key, $0.value) }
        }
        writer.writeVector(ratchets) { w, entry in
            w.writeUInt32(entry.0)
            w.writeUInt8(entry.1 == .handshake ? 1 : 2)
            w.writeOpaque(entry.2.secret.bytes)
            w.writeUInt32(entry.2.generation)
            w.writeVector(entry.2.skipped.values.sorted { $0.generation < $1.generation }) { w, kept in
                w.writeUInt32(kept.generation)
                w.writeOpaque(kept.key.bytes)
                w.writeOpaque(kept.nonce)
            }
        }
    }

    /// Reads what ``encode(to:)`` wrote.
    init(from reader: inout MLSReader, crypto: MLSCrypto, limits: Limits) throws(MLSDecodingError) {
        self.crypto = crypto
        self.limits = limits
        self.leafCount = try reader.readUInt32()
        var nodes: [UInt32: SecretBytes] = [:]
        for (node, secret) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readUInt32(), try r.readOpaque())
        }) {
            nodes[node] = SecretBytes(secret)
        }
        self.nodeSecrets = nodes
        let entries = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) -> (UInt32, RatchetKind, Ratchet) in
            let leaf = try r.readUInt32()
            let kind: RatchetKind = try r.readUInt8() == 1 ? .handshake : .application
            var ratchet = Ratchet(secret: SecretBytes(try r.readOpaque()), generation: try r.readUInt32())
            for kept in try r.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
                KeyAndNonce(generation: try r.readUInt32(), key: SecretBytes(try r.readOpaque()), nonce: try r.readOpaque())
            }) {
                ratchet.skipped[kept.generation] = kept
            }
            return (leaf, kind, ratchet)
        }
        for (leaf, kind, ratchet) in entries { self.ratchets[leaf, default: [:]][kind] = ratchet }
    }
}
