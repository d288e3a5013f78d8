/// `KeyPackage` (RFC 9420 §10).
public struct KeyPackage: MLSCodable, Hashable {
    public var version: ProtocolVersion
    public var cipherSuite: CipherSuiteID
    public var initKey: [UInt8]
    public var leafNode: LeafNode
    public var extensions: [Extension]
    public var signature: [UInt8]

    public init(
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

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.version = try reader.readUInt16()
        self.cipherSuite = try reader.readUInt16()
        self.initKey = try reader.readOpaque()
        self.leafNode = try reader.read(LeafNode.self)
        self.extensions = try reader.readVector(of: Extension.self)
        self.signature = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeBytes(self.toBeSigned)
        writer.writeOpaque(self.signature)
    }

    /// `KeyPackageTBS`.
    public var toBeSigned: [UInt8] {
        var writer = MLSWriter()
        writer.writeUInt16(self.version)
        writer.writeUInt16(self.cipherSuite)
        writer.writeOpaque(self.initKey)
        writer.write(self.leafNode)
        writer.writeVector(self.extensions)
        return writer.bytes
    }
}
