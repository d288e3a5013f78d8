import Primitives

extension MLSGroup {
    /// The current format of ``serialized()``.
    package static let stateFormatVersion: UInt16 = 1
    private static let magic = Array("PGMLSG".utf8)

    /// The whole group state, secrets included, as bytes for the client's local store:
    /// `"PGMLSG"`, a format version, then the state in TLS presentation encoding. The bytes are
    /// as sensitive as the group's keys: store them encrypted. ``Configuration`` is not stored.
    package func serialized() -> [UInt8] {
        var writer = MLSWriter()
        writer.writeBytes(Self.magic)
        writer.writeUInt16(Self.stateFormatVersion)
        self.encodeState(to: &writer)
        return writer.bytes
    }

    /// Restores a group from ``serialized()`` bytes.
    ///
    /// - Throws: ``MLSError/Code/malformed`` for foreign, damaged or newer-format bytes.
    package init(serialized bytes: [UInt8], configuration: Configuration = Configuration()) throws(MLSError) {
        var reader = MLSReader(bytes, context: "MLSGroup state")
        do {
            guard try reader.readBytes(Self.magic.count) == Self.magic else {
                throw MLSError(.malformed, "not a polygate MLS group state")
            }
            let version = try reader.readUInt16()
            guard version == Self.stateFormatVersion else {
                throw MLSError(
                    .malformed,
                    "group state format \(version) is not supported (this build reads \(Self.stateFormatVersion))"
                )
            }
            self = try Self.decodeState(from: &reader, configuration: configuration)
            guard reader.isAtEnd else { throw MLSError(.malformed, "trailing bytes after the group state") }
        } catch let error as MLSDecodingError {
            throw MLSError(error)
        } catch {
            throw error as! MLSError
        }
    }

    private func encodeState(to writer: inout MLSWriter) {
        writer.writeUInt16(self.crypto.suite.id)
        writer.write(self.context)
        writer.writeVector(self.tree.nodes) { w, node in w.writeOptional(node) }
        writer.writeUInt32(self.ownLeaf)
        writer.writeOpaque(self.signingKey.bytes)
        writer.writeVector(self.privateKeys.sorted { $0.key < $1.key }) { w, entry in
            w.writeUInt32(entry.key)
            w.writeOpaque(entry.value.bytes)
        }
        writer.writeVector(self.epochSecrets.all) { w, secret in w.writeOpaque(secret.bytes) }
        self.secretTree.encode(to: &writer)
        writer.writeOpaque(self.interimTranscriptHash)
        writer.writeOpaque(self.confirmationTag)
        writer.writeVector(self.proposalOrder.compactMap { ref in self.proposals[ref].map { (ref, $0) } }) { w, entry in
            w.writeOpaque(entry.0)
            w.write(entry.1.proposal)
            w.write(entry.1.sender)
        }
        writer.writeOptional(self.pending) { w, pending in
            w.write(pending.message)
            var nested = MLSWriter()
            pending.next.value.encodeState(to: &nested)
            w.writeOpaque(nested.bytes)
            pending.outcome.encode(to: &w)
        }
        writer.writeVector(self.pastEpochs.sorted { $0.key < $1.key }) { w, entry in
            w.writeUInt64(entry.key)
            w.write(entry.value.context)
            entry.value.secretTree.encode(to: &w)
            w.writeOpaque(entry.value.senderDataSecret.bytes)
            w.writeVector(entry.value.signatureKeys.sorted { $0.key < $1.key }) { w, key in
                w.writeUInt32(key.key)
                w.writeOpaque(key.value)
            }
        }
        writer.writeVector(self.resumptionPSKs.sorted { $0.key < $1.key }) { w, entry in
            w.writeUInt64(entry.key)
            w.writeOpaque(entry.value.bytes)
        }
        writer.writeVector(self.externalPSKs.sorted { $0.key.lexicographicallyPrecedes($1.key) }) { w, entry in
            w.writeOpaque(entry.key)
            w.writeOpaque(entry.value.bytes)
        }
        writer.writeVector(self.updateKeys.sorted { $0.key.lexicographicallyPrecedes($1.key) }) { w, entry in
            w.writeOpaque(entry.key)
            w.writeOpaque(entry.value.bytes)
        }
        writer.writeOptional(self.discarded)
        writer.writeUInt8(self.isActive ? 1 : 0)
    }

    private static func decodeState(from reader: inout MLSReader, configuration: Configuration) throws -> MLSGroup {
        let crypto = try MLSCrypto(suiteID: try reader.readUInt16())
        let context = try reader.read(GroupContext.self)
        let tree = try RatchetTree(
            complete: try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOptional(of: Node.self) }
        )
        let ownLeaf = try reader.readUInt32()
        let signingKey = SecretBytes(try reader.readOpaque())
        var privateKeys: [UInt32: SecretBytes] = [:]
        for (node, key) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readUInt32(), try r.readOpaque())
        }) {
            privateKeys[node] = SecretBytes(key)
        }
        let secrets = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in SecretBytes(try r.readOpaque()) }
        guard secrets.count == 12 else { throw MLSError(.malformed, "epoch secrets are incomplete") }
        let secretTree = try SecretTree(from: &reader, crypto: crypto, limits: configuration.secretTreeLimits)
        let interim = try reader.readOpaque()
        let confirmationTag = try reader.readOpaque()

        var group = MLSGroup(
            crypto: crypto,
            configuration: configuration,
            context: context,
            tree: tree,
            ownLeaf: ownLeaf,
            signingKey: signingKey,
            privateKeys: privateKeys,
            epochSecrets: EpochSecrets(restoring: secrets),
            confirmationTag: confirmationTag
        )
        group.secretTree = secretTree
        group.interimTranscriptHash = interim
        group.resumptionPSKs = [:]
        for (reference, proposal, sender) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readOpaque(), try r.read(Proposal.self), try r.read(Sender.self))
        }) {
            group.proposals[reference] = CachedProposal(proposal: proposal, sender: sender)
            group.proposalOrder.append(reference)
        }
        if try reader.readUInt8() == 1 {
            let message = try reader.read(MLSMessage.self)
            var nested = MLSReader(try reader.readOpaque(), context: "pending MLSGroup state")
            let next = try Self.decodeState(from: &nested, configuration: configuration)
            let outcome = try CommitOutcome(from: &reader)
            group.pending = PendingCommit(message: message, next: Box(next), outcome: outcome)
        }
        for _ in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) -> Void in
            let epoch = try r.readUInt64()
            let pastContext = try r.read(GroupContext.self)
            let pastTree = try SecretTree(from: &r, crypto: crypto, limits: configuration.secretTreeLimits)
            let senderData = SecretBytes(try r.readOpaque())
            var keys: [UInt32: [UInt8]] = [:]
            for (leaf, key) in try r.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
                (try r.readUInt32(), try r.readOpaque())
            }) {
                keys[leaf] = key
            }
            group.pastEpochs[epoch] = PastEpoch(
                context: pastContext,
                secretTree: pastTree,
                senderDataSecret: senderData,
                signatureKeys: keys
            )
        }) {}
        for (epoch, secret) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readUInt64(), try r.readOpaque())
        }) {
            group.resumptionPSKs[epoch] = SecretBytes(secret)
        }
        for (id, secret) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readOpaque(), try r.readOpaque())
        }) {
            group.externalPSKs[id] = SecretBytes(secret)
        }
        for (publicKey, secret) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
            (try r.readOpaque(), try r.readOpaque())
        }) {
            group.updateKeys[publicKey] = SecretBytes(secret)
        }
        group.discarded = try reader.readOptional(of: MLSMessage.self)
        group.isActive = try reader.readUInt8() == 1
        return group
    }
}

extension CommitOutcome {
    func encode(to writer: inout MLSWriter) {
        writer.writeUInt64(self.epoch)
        writer.writeUInt32(self.committer)
        for map in [self.added, self.removed] {
            writer.writeVector(map.sorted { $0.key < $1.key }) { w, entry in
                w.writeUInt32(entry.key)
                w.write(entry.value)
            }
        }
        writer.writeVector(self.updated) { w, leaf in w.writeUInt32(leaf) }
        writer.writeUInt8(self.removedSelf ? 1 : 0)
        writer.writeOptional(self.reinit)
        writer.writeUInt8(self.external ? 1 : 0)
    }

    init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.epoch = try reader.readUInt64()
        self.committer = try reader.readUInt32()
        var maps: [[UInt32: LeafNode]] = []
        for _ in 0..<2 {
            var map: [UInt32: LeafNode] = [:]
            for (leaf, node) in try reader.readVector({ (r: inout MLSReader) throws(MLSDecodingError) in
                (try r.readUInt32(), try r.read(LeafNode.self))
            }) {
                map[leaf] = node
            }
            maps.append(map)
        }
        self.added = maps[0]
        self.removed = maps[1]
        self.updated = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readUInt32() }
        self.removedSelf = try reader.readUInt8() == 1
        self.reinit = try reader.readOptional(of: Proposal.ReInit.self)
        self.external = try reader.readUInt8() == 1
    }
}
