/// `Proposal` (RFC 9420 §12.1) with every proposal type a client meets.
public enum Proposal: MLSCodable, Hashable {
    case add(Add)
    case update(Update)
    case remove(Remove)
    case preSharedKey(PreSharedKey)
    case reinit(ReInit)
    case externalInit(ExternalInit)
    case groupContextExtensions(GroupContextExtensions)

    public var type: ProposalType {
        switch self {
        case .add: MLSCode.Proposal.add
        case .update: MLSCode.Proposal.update
        case .remove: MLSCode.Proposal.remove
        case .preSharedKey: MLSCode.Proposal.psk
        case .reinit: MLSCode.Proposal.reinit
        case .externalInit: MLSCode.Proposal.externalInit
        case .groupContextExtensions: MLSCode.Proposal.groupContextExtensions
        }
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt16()
        switch type {
        case MLSCode.Proposal.add: self = .add(try reader.read(Add.self))
        case MLSCode.Proposal.update: self = .update(try reader.read(Update.self))
        case MLSCode.Proposal.remove: self = .remove(try reader.read(Remove.self))
        case MLSCode.Proposal.psk: self = .preSharedKey(try reader.read(PreSharedKey.self))
        case MLSCode.Proposal.reinit: self = .reinit(try reader.read(ReInit.self))
        case MLSCode.Proposal.externalInit: self = .externalInit(try reader.read(ExternalInit.self))
        case MLSCode.Proposal.groupContextExtensions: self = .groupContextExtensions(try reader.read(GroupContextExtensions.self))
        default: throw reader.error(.unknownValue, "proposal type \(type)")
        }
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.type)
        switch self {
        case .add(let p): writer.write(p)
        case .update(let p): writer.write(p)
        case .remove(let p): writer.write(p)
        case .preSharedKey(let p): writer.write(p)
        case .reinit(let p): writer.write(p)
        case .externalInit(let p): writer.write(p)
        case .groupContextExtensions(let p): writer.write(p)
        }
    }

    /// `Add`.
    public struct Add: MLSCodable, Hashable {
        public var keyPackage: KeyPackage
        public init(keyPackage: KeyPackage) { self.keyPackage = keyPackage }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) { self.keyPackage = try reader.read(KeyPackage.self) }
        public func encode(to writer: inout MLSWriter) { writer.write(self.keyPackage) }
    }

    /// `Update`.
    public struct Update: MLSCodable, Hashable {
        public var leafNode: LeafNode
        public init(leafNode: LeafNode) { self.leafNode = leafNode }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) { self.leafNode = try reader.read(LeafNode.self) }
        public func encode(to writer: inout MLSWriter) { writer.write(self.leafNode) }
    }

    /// `Remove`.
    public struct Remove: MLSCodable, Hashable {
        public var removed: UInt32
        public init(removed: UInt32) { self.removed = removed }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) { self.removed = try reader.readUInt32() }
        public func encode(to writer: inout MLSWriter) { writer.writeUInt32(self.removed) }
    }

    /// `PreSharedKey`.
    public struct PreSharedKey: MLSCodable, Hashable {
        public var psk: PreSharedKeyID
        public init(psk: PreSharedKeyID) { self.psk = psk }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) { self.psk = try reader.read(PreSharedKeyID.self) }
        public func encode(to writer: inout MLSWriter) { writer.write(self.psk) }
    }

    /// `ReInit`.
    public struct ReInit: MLSCodable, Hashable {
        public var groupID: [UInt8]
        public var version: ProtocolVersion
        public var cipherSuite: CipherSuiteID
        public var extensions: [Extension]

        public init(groupID: [UInt8], version: ProtocolVersion, cipherSuite: CipherSuiteID, extensions: [Extension]) {
            self.groupID = groupID
            self.version = version
            self.cipherSuite = cipherSuite
            self.extensions = extensions
        }

        public init(from reader: inout MLSReader) throws(MLSDecodingError) {
            self.groupID = try reader.readOpaque()
            self.version = try reader.readUInt16()
            self.cipherSuite = try reader.readUInt16()
            self.extensions = try reader.readVector(of: Extension.self)
        }

        public func encode(to writer: inout MLSWriter) {
            writer.writeOpaque(self.groupID)
            writer.writeUInt16(self.version)
            writer.writeUInt16(self.cipherSuite)
            writer.writeVector(self.extensions)
        }
    }

    /// `ExternalInit`.
    public struct ExternalInit: MLSCodable, Hashable {
        public var kemOutput: [UInt8]
        public init(kemOutput: [UInt8]) { self.kemOutput = kemOutput }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) { self.kemOutput = try reader.readOpaque() }
        public func encode(to writer: inout MLSWriter) { writer.writeOpaque(self.kemOutput) }
    }

    /// `GroupContextExtensions`.
    public struct GroupContextExtensions: MLSCodable, Hashable {
        public var extensions: [Extension]
        public init(extensions: [Extension]) { self.extensions = extensions }
        public init(from reader: inout MLSReader) throws(MLSDecodingError) {
            self.extensions = try reader.readVector(of: Extension.self)
        }
        public func encode(to writer: inout MLSWriter) { writer.writeVector(self.extensions) }
    }
}
