/// `GroupInfo` (RFC 9420 §12.4.3).
package struct GroupInfo: MLSCodable, Hashable {
    package var groupContext: GroupContext
    package var extensions: [Extension]
    package var confirmationTag: [UInt8]
    package var signer: UInt32
    package var signature: [UInt8]

    package init(
        groupContext: GroupContext,
        extensions: [Extension],
        confirmationTag: [UInt8],
        signer: UInt32,
        signature: [UInt8]
    ) {
        self.groupContext = groupContext
        self.extensions = extensions
        self.confirmationTag = confirmationTag
        self.signer = signer
        self.signature = signature
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.groupContext = try reader.read(GroupContext.self)
        self.extensions = try reader.readVector(of: Extension.self)
        self.confirmationTag = try reader.readOpaque()
        self.signer = try reader.readUInt32()
        self.signature = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeBytes(self.toBeSigned)
        writer.writeOpaque(self.signature)
    }

    /// `GroupInfoTBS`.
    package var toBeSigned: [UInt8] {
        var writer = MLSWriter()
        writer.write(self.groupContext)
        writer.writeVector(self.extensions)
        writer.writeOpaque(self.confirmationTag)
        writer.writeUInt32(self.signer)
        return writer.bytes
    }
}

/// `GroupSecrets`: what a Welcome gives a new member.
package struct GroupSecrets: MLSCodable, Hashable {
    package var joinerSecret: [UInt8]
    package var pathSecret: [UInt8]?
    package var psks: [PreSharedKeyID]

    package init(joinerSecret: [UInt8], pathSecret: [UInt8]?, psks: [PreSharedKeyID]) {
        self.joinerSecret = joinerSecret
        self.pathSecret = pathSecret
        self.psks = psks
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.joinerSecret = try reader.readOpaque()
        self.pathSecret = try reader.readOptional { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOpaque() }
        self.psks = try reader.readVector(of: PreSharedKeyID.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.joinerSecret)
        writer.writeOptional(self.pathSecret) { w, secret in w.writeOpaque(secret) }
        writer.writeVector(self.psks)
    }
}

/// `EncryptedGroupSecrets`.
package struct EncryptedGroupSecrets: MLSCodable, Hashable {
    package var newMember: [UInt8]
    package var encryptedGroupSecrets: HPKECiphertext

    package init(newMember: [UInt8], encryptedGroupSecrets: HPKECiphertext) {
        self.newMember = newMember
        self.encryptedGroupSecrets = encryptedGroupSecrets
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.newMember = try reader.readOpaque()
        self.encryptedGroupSecrets = try reader.read(HPKECiphertext.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.newMember)
        writer.write(self.encryptedGroupSecrets)
    }
}

/// `Welcome`.
package struct Welcome: MLSCodable, Hashable {
    package var cipherSuite: CipherSuiteID
    package var secrets: [EncryptedGroupSecrets]
    package var encryptedGroupInfo: [UInt8]

    package init(cipherSuite: CipherSuiteID, secrets: [EncryptedGroupSecrets], encryptedGroupInfo: [UInt8]) {
        self.cipherSuite = cipherSuite
        self.secrets = secrets
        self.encryptedGroupInfo = encryptedGroupInfo
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.cipherSuite = try reader.readUInt16()
        self.secrets = try reader.readVector(of: EncryptedGroupSecrets.self)
        self.encryptedGroupInfo = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.cipherSuite)
        writer.writeVector(self.secrets)
        writer.writeOpaque(self.encryptedGroupInfo)
    }
}
