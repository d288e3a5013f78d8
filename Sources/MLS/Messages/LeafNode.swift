/// `Capabilities`: what a client supports. Unknown values (GREASE) are kept as they are.
public struct Capabilities: MLSCodable, Hashable {
    public var versions: [ProtocolVersion]
    public var cipherSuites: [CipherSuiteID]
    public var extensions: [ExtensionType]
    public var proposals: [ProposalType]
    public var credentials: [CredentialType]

    public init(
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

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let u16 = { (r: inout MLSReader) throws(MLSDecodingError) -> UInt16 in try r.readUInt16() }
        self.versions = try reader.readVector(u16)
        self.cipherSuites = try reader.readVector(u16)
        self.extensions = try reader.readVector(u16)
        self.proposals = try reader.readVector(u16)
        self.credentials = try reader.readVector(u16)
    }

    public func encode(to writer: inout MLSWriter) {
        for list in [self.versions, self.cipherSuites, self.extensions, self.proposals, self.credentials] {
            writer.writeVector(list) { w, value in w.writeUInt16(value) }
        }
    }
}

/// `Lifetime`: seconds since the Unix epoch.
public struct Lifetime: MLSCodable, Hashable {
    public var notBefore: UInt64
    public var notAfter: UInt64

    public init(notBefore: UInt64, notAfter: UInt64) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.notBefore = try reader.readUInt64()
        self.notAfter = try reader.readUInt64()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt64(self.notBefore)
        writer.writeUInt64(self.notAfter)
    }
}

/// `LeafNode` (RFC 9420 §7.2): a member's keys, credential, capabilities and signature.
public struct LeafNode: MLSCodable, Hashable {
    /// `leaf_node_source` with its data.
    public enum Source: Hashable, Sendable {
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

    public var encryptionKey: [UInt8]
    public var signatureKey: [UInt8]
    public var credential: Credential
    public var capabilities: Capabilities
    public var source: Source
    public var extensions: [Extension]
    public var signature: [UInt8]

    public init(
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

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
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

    public func encode(to writer: inout MLSWriter) {
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
    public func toBeSigned(groupID: [UInt8], leafIndex: UInt32) -> [UInt8] {
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
public struct ParentNode: MLSCodable, Hashable {
    public var encryptionKey: [UInt8]
    public var parentHash: [UInt8]
    public var unmergedLeaves: [UInt32]

    public init(encryptionKey: [UInt8], parentHash: [UInt8], unmergedLeaves: [UInt32]) {
        self.encryptionKey = encryptionKey
        self.parentHash = parentHash
        self.unmergedLeaves = unmergedLeaves
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.encryptionKey = try reader.readOpaque()
        self.parentHash = try reader.readOpaque()
        self.unmergedLeaves = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readUInt32() }
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.encryptionKey)
        writer.writeOpaque(self.parentHash)
        writer.writeVector(self.unmergedLeaves) { w, leaf in w.writeUInt32(leaf) }
    }
}

/// `Node`: a leaf or a parent.
public enum Node: MLSCodable, Hashable {
    case leaf(LeafNode)
    case parent(ParentNode)

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt8()
        switch type {
        case 1: self = .leaf(try reader.read(LeafNode.self))
        case 2: self = .parent(try reader.read(ParentNode.self))
        default: throw reader.error(.unknownValue, "node type \(type)")
        }
    }

    public func encode(to writer: inout MLSWriter) {
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
public struct RatchetTreeNodes: MLSCodable, Hashable {
    public var nodes: [Node?]

    public init(nodes: [Node?]) {
        self.nodes = nodes
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.nodes = try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOptional(of: Node.self) }
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeVector(self.nodes) { w, node in w.writeOptional(node) }
    }
}
