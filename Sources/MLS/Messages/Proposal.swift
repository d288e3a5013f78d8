/// `Proposal` (RFC 9420 §12.1) with every proposal type a client meets.
package enum Proposal: MLSCodable, Hashable {
    case add(Add)
    case update(Update)
    case remove(Remove)
    case preSharedKey(PreSharedKey)
    case reinit(ReInit)
    case externalInit(ExternalInit)
    case groupContextExtensions(GroupContextExtensions)

    package var type: ProposalType {
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

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
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

    package func encode(to writer: inout MLSWriter) {
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
    package struct Add: MLSCodable, Hashable {
        package var keyPackage: KeyPackage
        package init(keyPackage: KeyPackage) { self.keyPackage = keyPackage }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.keyPackage = try reader.read(KeyPackage.self) }
        package func encode(to writer: inout MLSWriter) { writer.write(self.keyPackage) }
    }

    /// `Update`.
    package struct Update: MLSCodable, Hashable {
        package var leafNode: LeafNode
        package init(leafNode: LeafNode) { self.leafNode = leafNode }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.leafNode = try reader.read(LeafNode.self) }
        package func encode(to writer: inout MLSWriter) { writer.write(self.leafNode) }
    }

    /// `Remove`.
    package struct Remove: MLSCodable, Hashable {
        package var removed: UInt32
        package init(removed: UInt32) { self.removed = removed }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.removed = try reader.readUInt32() }
        package func encode(to writer: inout MLSWriter) { writer.writeUInt32(self.removed) }
    }

    /// `PreSharedKey`.
    package struct PreSharedKey: MLSCodable, Hashable {
        package var psk: PreSharedKeyID
        package init(psk: PreSharedKeyID) { self.psk = psk }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.psk = try reader.read(PreSharedKeyID.self) }
        package func encode(to writer: inout MLSWriter) { writer.write(self.psk) }
    }

    /// `ReInit`.
    package struct ReInit: MLSCodable, Hashable {
        package var groupID: [UInt8]
        package var version: ProtocolVersion
        package var cipherSuite: CipherSuiteID
        package var extensions: [Extension]

        package init(groupID: [UInt8], version: ProtocolVersion, cipherSuite: CipherSuiteID, extensions: [Extension]) {
            self.groupID = groupID
            self.version = version
            self.cipherSuite = cipherSuite
            self.extensions = extensions
        }

        package init(from reader: inout MLSReader) throws(MLSDecodingError) {
            self.groupID = try reader.readOpaque()
            self.version = try reader.readUInt16()
            self.cipherSuite = try reader.readUInt16()
            self.extensions = try reader.readVector(of: Extension.self)
        }

        package func encode(to writer: inout MLSWriter) {
            writer.writeOpaque(self.groupID)
            writer.writeUInt16(self.version)
            writer.writeUInt16(self.cipherSuite)
            writer.writeVector(self.extensions)
        }
    }

    /// `ExternalInit`.
    package struct ExternalInit: MLSCodable, Hashable {
        package var kemOutput: [UInt8]
        package init(kemOutput: [UInt8]) { self.kemOutput = kemOutput }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.kemOutput = try reader.readOpaque() }
        package func encode(to writer: inout MLSWriter) { writer.writeOpaque(self.kemOutput) }
    }

    /// `GroupContextExtensions`.
    package struct GroupContextExtensions: MLSCodable, Hashable {
        package var extensions: [Extension]
        package init(extensions: [Extension]) { self.extensions = extensions }
        package init(from reader: inout MLSReader) throws(MLSDecodingError) {
            self.extensions = try reader.readVector(of: Extension.self)
        }
        package func encode(to writer: inout MLSWriter) { writer.writeVector(self.extensions) }
    }
}
