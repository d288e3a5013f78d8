/// `PublicMessage`: signed, not encrypted; members add a membership tag.
package struct PublicMessage: MLSCodable, Hashable {
    package var content: FramedContent
    package var auth: FramedContentAuthData
    /// Present exactly when the sender is a member.
    package var membershipTag: [UInt8]?

    package init(content: FramedContent, auth: FramedContentAuthData, membershipTag: [UInt8]?) {
        self.content = content
        self.auth = auth
        self.membershipTag = membershipTag
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.content = try reader.read(FramedContent.self)
        self.auth = try FramedContentAuthData(from: &reader, contentType: self.content.contentType)
        if case .member = self.content.sender {
            self.membershipTag = try reader.readOpaque()
        } else {
            self.membershipTag = nil
        }
    }

    package func encode(to writer: inout MLSWriter) {
        writer.write(self.content)
        self.auth.encode(to: &writer)
        if let tag = self.membershipTag { writer.writeOpaque(tag) }
    }
}

/// `PrivateMessage`: content and sender encrypted.
package struct PrivateMessage: MLSCodable, Hashable {
    package var groupID: [UInt8]
    package var epoch: UInt64
    package var contentType: ContentType
    package var authenticatedData: [UInt8]
    package var encryptedSenderData: [UInt8]
    package var ciphertext: [UInt8]

    package init(
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

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.groupID = try reader.readOpaque()
        self.epoch = try reader.readUInt64()
        self.contentType = try reader.read(ContentType.self)
        self.authenticatedData = try reader.readOpaque()
        self.encryptedSenderData = try reader.readOpaque()
        self.ciphertext = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.groupID)
        writer.writeUInt64(self.epoch)
        writer.write(self.contentType)
        writer.writeOpaque(self.authenticatedData)
        writer.writeOpaque(self.encryptedSenderData)
        writer.writeOpaque(self.ciphertext)
    }
}

/// `SenderData`: who sent a PrivateMessage, which generation, and the reuse guard.
package struct SenderData: MLSCodable, Hashable {
    package var leafIndex: UInt32
    package var generation: UInt32
    package var reuseGuard: [UInt8]

    package init(leafIndex: UInt32, generation: UInt32, reuseGuard: [UInt8]) {
        precondition(reuseGuard.count == 4, "reuse_guard is 4 bytes")
        self.leafIndex = leafIndex
        self.generation = generation
        self.reuseGuard = reuseGuard
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.leafIndex = try reader.readUInt32()
        self.generation = try reader.readUInt32()
        self.reuseGuard = try reader.readBytes(4)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt32(self.leafIndex)
        writer.writeUInt32(self.generation)
        writer.writeBytes(self.reuseGuard)
    }
}
