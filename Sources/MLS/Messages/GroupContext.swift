/// `GroupContext` (RFC 9420 §8.1): the state every member agrees on in an epoch.
package struct GroupContext: MLSCodable, Hashable {
    package var version: ProtocolVersion
    package var cipherSuite: CipherSuiteID
    package var groupID: [UInt8]
    package var epoch: UInt64
    package var treeHash: [UInt8]
    package var confirmedTranscriptHash: [UInt8]
    package var extensions: [Extension]

    package init(
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

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.version = try reader.readUInt16()
        self.cipherSuite = try reader.readUInt16()
        self.groupID = try reader.readOpaque()
        self.epoch = try reader.readUInt64()
        self.treeHash = try reader.readOpaque()
        self.confirmedTranscriptHash = try reader.readOpaque()
        self.extensions = try reader.readVector(of: Extension.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.version)
        writer.writeUInt16(self.cipherSuite)
        writer.writeOpaque(self.groupID)
        writer.writeUInt64(self.epoch)
        writer.writeOpaque(self.treeHash)
        writer.writeOpaque(self.confirmedTranscriptHash)
        writer.writeVector(self.extensions)
    }
}
