/// `Sender`.
package enum Sender: MLSCodable, Hashable {
    case member(leafIndex: UInt32)
    case external(senderIndex: UInt32)
    case newMemberProposal
    case newMemberCommit

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt8()
        switch type {
        case 1: self = .member(leafIndex: try reader.readUInt32())
        case 2: self = .external(senderIndex: try reader.readUInt32())
        case 3: self = .newMemberProposal
        case 4: self = .newMemberCommit
        default: throw reader.error(.unknownValue, "sender type \(type)")
        }
    }

    package func encode(to writer: inout MLSWriter) {
        switch self {
        case .member(let index):
            writer.writeUInt8(1)
            writer.writeUInt32(index)
        case .external(let index):
            writer.writeUInt8(2)
            writer.writeUInt32(index)
        case .newMemberProposal:
            writer.writeUInt8(3)
        case .newMemberCommit:
            writer.writeUInt8(4)
        }
    }

    /// Whether FramedContentTBS includes the GroupContext for this sender (member, new member commit).
    var signsGroupContext: Bool {
        switch self {
        case .member, .newMemberCommit: true
        case .external, .newMemberProposal: false
        }
    }
}

/// `FramedContent`: the group, epoch, sender, authenticated data and the content itself.
package struct FramedContent: MLSCodable, Hashable {
    package enum Body: Hashable, Sendable {
        case application([UInt8])
        case proposal(Proposal)
        case commit(Commit)

        package var contentType: ContentType {
            switch self {
            case .application: .application
            case .proposal: .proposal
            case .commit: .commit
            }
        }

        func encode(to writer: inout MLSWriter) {
            switch self {
            case .application(let data): writer.writeOpaque(data)
            case .proposal(let proposal): writer.write(proposal)
            case .commit(let commit): writer.write(commit)
            }
        }

        static func decode(_ type: ContentType, from reader: inout MLSReader) throws(MLSDecodingError) -> Body {
            switch type {
            case .application: .application(try reader.readOpaque())
            case .proposal: .proposal(try reader.read(Proposal.self))
            case .commit: .commit(try reader.read(Commit.self))
            }
        }
    }

    package var groupID: [UInt8]
    package var epoch: UInt64
    package var sender: Sender
    package var authenticatedData: [UInt8]
    package var body: Body

    package var contentType: ContentType { self.body.contentType }

    package init(groupID: [UInt8], epoch: UInt64, sender: Sender, authenticatedData: [UInt8], body: Body) {
        self.groupID = groupID
        self.epoch = epoch
        self.sender = sender
        self.authenticatedData = authenticatedData
        self.body = body
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.groupID = try reader.readOpaque()
        self.epoch = try reader.readUInt64()
        self.sender = try reader.read(Sender.self)
        self.authenticatedData = try reader.readOpaque()
        self.body = try Body.decode(try reader.read(ContentType.self), from: &reader)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.groupID)
        writer.writeUInt64(self.epoch)
        writer.write(self.sender)
        writer.writeOpaque(self.authenticatedData)
        writer.write(self.contentType)
        self.body.encode(to: &writer)
    }
}

/// `FramedContentAuthData`: the signature, and the confirmation tag for commits.
package struct FramedContentAuthData: Hashable, Sendable {
    package var signature: [UInt8]
    /// Present exactly when the content is a commit.
    package var confirmationTag: [UInt8]?

    package init(signature: [UInt8], confirmationTag: [UInt8]?) {
        self.signature = signature
        self.confirmationTag = confirmationTag
    }

    package init(from reader: inout MLSReader, contentType: ContentType) throws(MLSDecodingError) {
        self.signature = try reader.readOpaque()
        self.confirmationTag = contentType == .commit ? try reader.readOpaque() : nil
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.signature)
        if let tag = self.confirmationTag { writer.writeOpaque(tag) }
    }
}

/// `AuthenticatedContent`: wire format, content and its authentication.
package struct AuthenticatedContent: MLSCodable, Hashable {
    package var wireFormat: WireFormat
    package var content: FramedContent
    package var auth: FramedContentAuthData

    package init(wireFormat: WireFormat, content: FramedContent, auth: FramedContentAuthData) {
        self.wireFormat = wireFormat
        self.content = content
        self.auth = auth
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.wireFormat = try reader.read(WireFormat.self)
        self.content = try reader.read(FramedContent.self)
        self.auth = try FramedContentAuthData(from: &reader, contentType: self.content.contentType)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.write(self.wireFormat)
        writer.write(self.content)
        self.auth.encode(to: &writer)
    }
}
