/// `Capabilities`: what a client supports. Unknown values (GREASE) are kept as they are.
package struct Capabilities: MLSCodable, Hashable {
    package var versions: [ProtocolVersion]
    package var cipherSuites: [CipherSuiteID]
    package var extensions: [ExtensionType]
    package var proposals: [ProposalType]
    package var credentials: [CredentialType]

    package init(
        versions: [ProtocolVersion],
        cipherSuites: [CipherSuiteID],
        extensions: [ExtensionType],
        proposals: [ProposalType],
        credentials: [CredentialType]
    ) {
        self.versions = versions
        self.cipherSuites = cipherSuites
        self.extensions = extensions
        self.proposals = proposals
        self.credentials = credentials
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let u16 = { (r: inout MLSReader) throws(MLSDecodingError) -> UInt16 in try r.readUInt16() }
        self.versions = try reader.readVector(u16)
        self.cipherSuites = try reader.readVector(u16)
        self.extensions = try reader.readVector(u16)
        self.proposals = try reader.readVector(u16)
        self.credentials = try reader.readVector(u16)
    }

    package func encode(to writer: inout MLSWriter) {
        for list in [self.versions, self.cipherSuites, self.extensions, self.proposals, self.credentials] {
            writer.writeVector(list) { w, value in w.writeUInt16(value) }
        }
    }
}

/// `Lifetime`: seconds since the Unix epoch.
package struct Lifetime: MLSCodable, Hashable {
    package var notBefore: UInt64
    package var notAfter: UInt64

    package init(notBefore: UInt64, notAfter: UInt64) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.notBefore = try reader.readUInt64()
        self.notAfter = try reader.readUInt64()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt64(self.notBefore)
        writer.writeUInt64(self.notAfter)
    }
}

/// `LeafNode` (RFC 9420 §7.2): a member's keys, credential, capabilities and signature.
package struct LeafNode: MLSCodable, Hashable {
    /// `leaf_node_source` with its data.
    package enum Source: Hashable, Sendable {
        case keyPackage(Lifetime)
        case update
        case commit(parentHash: [UInt8])

        var code: UInt8 {
            switch self {
            case .keyPackage: 1
            case .update: 2
            case .commit: 3
            }
        }
    }

    package var encryptionKey: [UInt8]
    package var signatureKey: [UInt8]
    package var credential: Credential
    package var capabilities: Capabilities
    package var source: Source
    package var extensions: [Extension]
    package var signature: [UInt8]

    package init(
        encryptionKey: [UInt8],
        signatureKey: [UInt8],
        credential: Credential,
        capabilities: Capabilities,
        source: Source,
        extensions: [Extension],
        signature: [UInt8]
    ) {
        self.encryptionKey = encryptionKey
        self.signatureKey = signatureKey
        self.credential = credential
        self.capabilities = capabilities
        self.source = source
        self.extensions = extensions
        self.signature = signature
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.encryptionKey = try reader.readOpaque()
        self.signatureKey = try reader.readOpaque()
        self.credential = try reader.read(Credential.self)
        self.capabilities = try reader.read(Capabilities.self)
        let source = try reader.readUInt8()
        switch source {
        case 1: self.source = .keyPackage(try reader.read(Lifetime.self))
        case 2: self.source = .update
        case 3: self.source = .commit(parentHash: try reader.readOpaque())
        default: throw reader.error(.unknownValue, "leaf node source \(source)")
        }
        self.extensions = try reader.readVector(of: Extension.self)
        self.signature = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        self.encodeContent(to: &writer)
        writer.writeOpaque(self.signature)
    }

    /// The fields before the signature (shared by LeafNode and LeafNodeTBS).
    func encodeContent(to writer: inout MLSWriter) {
        writer.writeOpaque(self.encryptionKey)
        writer.writeOpaque(self.signatureKey)
        writer.write(self.credential)
        writer.write(self.capabilities)
        writer.writeUInt8(self.source.code)
        switch self.source {
        case .keyPackage(let lifetime): writer.write(lifetime)
        case .update: break
        case .commit(let parentHash): writer.writeOpaque(parentHash)
        }
        writer.writeVector(self.extensions)
    }

    /// `LeafNodeTBS`: the content plus, for `update` and `commit` sources, the group and leaf.
    package func toBeSigned(groupID: [UInt8], leafIndex: UInt32) -> [UInt8] {
        var writer = MLSWriter()
        self.encodeContent(to: &writer)
        switch self.source {
        case .keyPackage: break
        case .update, .commit:
            writer.writeOpaque(groupID)
            writer.writeUInt32(leafIndex)
        }
        return writer.bytes
    }
}

/// `ParentNode`.
package struct ParentNode: MLSCodable, Hashable {
    package var encryptionKey: [UInt8]
    package var parentHash: [UInt8]
    package var unmergedLeaves: [UInt32]

    package init(encryptionKey: [UInt8], parentHash: [UInt8], unmergedLeaves: [UInt32]) {
        self.encryptionKey = encryptionKey
        self.parentHash = parentHash
        self.unmergedLeaves = unmergedLeaves
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.encryptionKey = try reader.readOpaque()
        self.parentHash = try reader.readOpaque()
        self.unmergedLeaves = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readUInt32() }
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.encryptionKey)
        writer.writeOpaque(self.parentHash)
        writer.writeVector(self.unmergedLeaves) { w, leaf in w.writeUInt32(leaf) }
    }
}

/// `Node`: a leaf or a parent.
package enum Node: MLSCodable, Hashable {
    case leaf(LeafNode)
    case parent(ParentNode)

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt8()
        switch type {
        case 1: self = .leaf(try reader.read(LeafNode.self))
        case 2: self = .parent(try reader.read(ParentNode.self))
        default: throw reader.error(.unknownValue, "node type \(type)")
        }
    }

    package func encode(to writer: inout MLSWriter) {
        switch self {
        case .leaf(let leaf):
            writer.writeUInt8(1)
            writer.write(leaf)
        case .parent(let parent):
            writer.writeUInt8(2)
            writer.write(parent)
        }
    }
}

/// `optional<Node> ratchet_tree<V>`: the tree as the ratchet_tree extension carries it.
package struct RatchetTreeNodes: MLSCodable, Hashable {
    package var nodes: [Node?]

    package init(nodes: [Node?]) {
        self.nodes = nodes
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.nodes = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOptional(of: Node.self) }
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeVector(self.nodes) { w, node in w.writeOptional(node) }
    }
}
