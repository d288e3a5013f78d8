/// `GroupContext` (RFC 9420 §8.1): the state every member agrees on in an epoch.
public struct GroupContext: MLSCodable, Hashable {
    public var version: ProtocolVersion
    public var cipherSuite: CipherSuiteID
    public var groupID: [UInt8]
    public var epoch: UInt64
    public var treeHash: [UInt8]
    public var confirmedTranscriptHash: [UInt8]
    public var extensions: [Extension]

    public init(
        version: ProtocolVersion = MLSCode.mls10,
        cipherSuite: CipherSuiteID,
        groupID: [UInt8],
        epoch: UInt64,
        treeHash: [UInt8],
        confirmedTranscriptHash: [UInt8],
        extensions: [Extension]
    ) {
        self.version = version
        self.cipherSuite = cipherSuite
        self.groupID = groupID
        self.epoch = epoch
        self.treeHash = treeHash
        self.confirmedTranscriptHash = confirmedTranscriptHash
        self.extensions = extensions
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.version = try reader.readUInt16()
        self.cipherSuite = try reader.readUInt16()
        self.groupID = try reader.readOpaque()
        self.epoch = try reader.readUInt64()
        self.treeHash = try reader.readOpaque()
        self.confirmedTranscriptHash = try reader.readOpaque()
        self.extensions = try reader.readVector(of: Extension.self)
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.version)
        writer.writeUInt16(self.cipherSuite)
        writer.writeOpaque(self.groupID)
        writer.writeUInt64(self.epoch)
        writer.writeOpaque(self.treeHash)
        writer.writeOpaque(self.confirmedTranscriptHash)
        writer.writeVector(self.extensions)
    }
}
