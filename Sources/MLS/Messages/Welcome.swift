/// `GroupInfo` (RFC 9420 §12.4.3).
public struct GroupInfo: MLSCodable, Hashable {
    public var groupContext: GroupContext
    public var extensions: [Extension]
    public var confirmationTag: [UInt8]
    public var signer: UInt32
    public var signature: [UInt8]

    public init(groupContext: GroupContext, extensions: [Extension], confirmationTag: [UInt8], signer: UInt32, signature: [UInt8])
    {
        self.groupContext = groupContext
        self.extensions = extensions
        self.confirmationTag = confirmationTag
        self.signer = signer
        self.signature = signature
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.groupContext = try reader.read(GroupContext.self)
        self.extensions = try reader.readVector(of: Extension.self)
        self.confirmationTag = try reader.readOpaque()
        self.signer = try reader.readUInt32()
        self.signature = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeBytes(self.toBeSigned)
        writer.writeOpaque(self.signature)
    }

    /// `GroupInfoTBS`.
    public var toBeSigned: [UInt8] {
        var writer = MLSWriter()
        writer.write(self.groupContext)
        writer.writeVector(self.extensions)
        writer.writeOpaque(self.confirmationTag)
        writer.writeUInt32(self.signer)
        return writer.bytes
    }
}

/// `GroupSecrets`: what a Welcome gives a new member.
public struct GroupSecrets: MLSCodable, Hashable {
    public var joinerSecret: [UInt8]
    public var pathSecret: [UInt8]?
    public var psks: [PreSharedKeyID]

    public init(joinerSecret: [UInt8], pathSecret: [UInt8]?, psks: [PreSharedKeyID]) {
        self.joinerSecret = joinerSecret
        self.pathSecret = pathSecret
        self.psks = psks
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.joinerSecret = try reader.readOpaque()
        self.pathSecret = try reader.readOptional { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOpaque() }
        self.psks = try reader.readVector(of: PreSharedKeyID.self)
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.joinerSecret)
        writer.writeOptional(self.pathSecret) { w, secret in w.writeOpaque(secret) }
        writer.writeVector(self.psks)
    }
}

/// `EncryptedGroupSecrets`.
public struct EncryptedGroupSecrets: MLSCodable, Hashable {
    public var newMember: [UInt8]
    public var encryptedGroupSecrets: HPKECiphertext

    public init(newMember: [UInt8], encryptedGroupSecrets: HPKECiphertext) {
        self.newMember = newMember
        self.encryptedGroupSecrets = encryptedGroupSecrets
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.newMember = try reader.readOpaque()
        self.encryptedGroupSecrets = try reader.read(HPKECiphertext.self)
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.newMember)
        writer.write(self.encryptedGroupSecrets)
    }
}

/// `Welcome`.
public struct Welcome: MLSCodable, Hashable {
    public var cipherSuite: CipherSuiteID
    public var secrets: [EncryptedGroupSecrets]
    public var encryptedGroupInfo: [UInt8]

    public init(cipherSuite: CipherSuiteID, secrets: [EncryptedGroupSecrets], encryptedGroupInfo: [UInt8]) {
        self.cipherSuite = cipherSuite
        self.secrets = secrets
        self.encryptedGroupInfo = encryptedGroupInfo
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.cipherSuite = try reader.readUInt16()
        self.secrets = try reader.readVector(of: EncryptedGroupSecrets.self)
        self.encryptedGroupInfo = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.cipherSuite)
        writer.writeVector(self.secrets)
        writer.writeOpaque(self.encryptedGroupInfo)
    }
}
