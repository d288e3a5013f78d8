/// `PublicMessage`: signed, not encrypted; members add a membership tag.
public struct PublicMessage: MLSCodable, Hashable {
    public var content: FramedContent
    public var auth: FramedContentAuthData
    /// Present exactly when the sender is a member.
    public var membershipTag: [UInt8]?

    public init(content: FramedContent, auth: FramedContentAuthData, membershipTag: [UInt8]?) {
        self.content = content
        self.auth = auth
        self.membershipTag = membershipTag
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.content = try reader.read(FramedContent.self)
        self.auth = try FramedContentAuthData(from: &reader, contentType: self.content.contentType)
        if case .member = self.content.sender {
            self.membershipTag = try reader.readOpaque()
        } else {
            self.membershipTag = nil
        }
    }

    public func encode(to writer: inout MLSWriter) {
        writer.write(self.content)
        self.auth.encode(to: &writer)
        if let tag = self.membershipTag { writer.writeOpaque(tag) }
    }
}

/// `PrivateMessage`: content and sender encrypted.
public struct PrivateMessage: MLSCodable, Hashable {
    public var groupID: [UInt8]
    public var epoch: UInt64
    public var contentType: ContentType
    public var authenticatedData: [UInt8]
    public var encryptedSenderData: [UInt8]
    public var ciphertext: [UInt8]

    public init(
        groupID: [UInt8],
        epoch: UInt64,
        contentType: ContentType,
        authenticatedData: [UInt8],
        encryptedSenderData: [UInt8],
        ciphertext: [UInt8]
    ) {
        self.groupID = groupID
        self.epoch = epoch
        self.contentType = contentType
        self.authenticatedData = authenticatedData
        self.encryptedSenderData = encryptedSenderData
        self.ciphertext = ciphertext
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.groupID = try reader.readOpaque()
        self.epoch = try reader.readUInt64()
        self.contentType = try reader.read(ContentType.self)
        self.authenticatedData = try reader.readOpaque()
        self.encryptedSenderData = try reader.readOpaque()
        self.ciphertext = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.groupID)
        writer.writeUInt64(self.epoch)
        writer.write(self.contentType)
        writer.writeOpaque(self.authenticatedData)
        writer.writeOpaque(self.encryptedSenderData)
        writer.writeOpaque(self.ciphertext)
    }
}

/// `SenderData`: who sent a PrivateMessage, which generation, and the reuse guard.
public struct SenderData: MLSCodable, Hashable {
    public var leafIndex: UInt32
    public var generation: UInt32
    public var reuseGuard: [UInt8]

    public init(leafIndex: UInt32, generation: UInt32, reuseGuard: [UInt8]) {
        precondition(reuseGuard.count == 4, "reuse_guard is 4 bytes")
        self.leafIndex = leafIndex
        self.generation = generation
        self.reuseGuard = reuseGuard
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.leafIndex = try reader.readUInt32()
        self.generation = try reader.readUInt32()
        self.reuseGuard = try reader.readBytes(4)
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt32(self.leafIndex)
        writer.writeUInt32(self.generation)
        writer.writeBytes(self.reuseGuard)
    }
}
