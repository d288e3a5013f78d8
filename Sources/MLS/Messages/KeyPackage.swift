/// `KeyPackage` (RFC 9420 §10).
package struct KeyPackage: MLSCodable, Hashable {
    package var version: ProtocolVersion
    package var cipherSuite: CipherSuiteID
    package var initKey: [UInt8]
    package var leafNode: LeafNode
    package var extensions: [Extension]
    package var signature: [UInt8]

    package init(
        version: ProtocolVersion,
        cipherSuite: CipherSuiteID,
        initKey: [UInt8],
        leafNode: LeafNode,
        extensions: [Extension],
        signature: [UInt8]
    ) {
        self.version = version
        self.cipherSuite = cipherSuite
        self.initKey = initKey
        self.leafNode = leafNode
        self.extensions = extensions
        self.signature = signature
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.version = try reader.readUInt16()
        self.cipherSuite = try reader.readUInt16()
        self.initKey = try reader.readOpaque()
        self.leafNode = try reader.read(LeafNode.self)
        self.extensions = try reader.readVector(of: Extension.self)
        self.signature = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeBytes(self.toBeSigned)
        writer.writeOpaque(self.signature)
    }

    /// `KeyPackageTBS`.
    package var toBeSigned: [UInt8] {
        var writer = MLSWriter()
        writer.writeUInt16(self.version)
        writer.writeUInt16(self.cipherSuite)
        writer.writeOpaque(self.initKey)
        writer.write(self.leafNode)
        writer.writeVector(self.extensions)
        return writer.bytes
    }
}
