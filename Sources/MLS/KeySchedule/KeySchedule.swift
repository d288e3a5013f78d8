package import Primitives

/// The secrets of one epoch (RFC 9420 §8), derived from the previous init secret, the commit
/// secret, the PSK secret and the new GroupContext. Secrets are held as ``SecretBytes``.
package struct EpochSecrets: Sendable {
    package let joinerSecret: SecretBytes
    package let welcomeSecret: SecretBytes
    package let epochSecret: SecretBytes
    package let senderDataSecret: SecretBytes
    package let encryptionSecret: SecretBytes
    package let exporterSecret: SecretBytes
    package let externalSecret: SecretBytes
    package let confirmationKey: SecretBytes
    package let membershipKey: SecretBytes
    package let resumptionPSK: SecretBytes
    /// Not secret: members compare it to detect impersonation.
    package let epochAuthenticator: [UInt8]
    /// The next epoch's init secret.
    package let initSecret: SecretBytes

    /// Runs the key schedule.
    ///
    /// - Parameters:
    ///   - initSecret: `init_secret_[n-1]` (or a fresh random value for a new group).
    ///   - commitSecret: the commit secret (Nh zero bytes when the commit has no path).
    ///   - pskSecret: from ``KeySchedule/pskSecret(_:crypto:)`` (Nh zero bytes without PSKs).
    ///   - groupContext: the GroupContext of the new epoch.
    package init(
        crypto: MLSCrypto,
        initSecret: [UInt8],
        commitSecret: [UInt8],
        pskSecret: [UInt8],
        groupContext: GroupContext
    ) throws(MLSError) {
        let context = groupContext.encoded
        let joiner = try crypto.expandWithLabel(
            secret: crypto.extract(salt: initSecret, ikm: commitSecret),
            label: "joiner",
            context: context,
            length: crypto.hashSize
        )
        try self.init(crypto: crypto, joinerSecret: joiner, pskSecret: pskSecret, groupContext: groupContext)
    }

    /// Runs the key schedule from the joiner secret (a new member's start, from a Welcome).
    package init(crypto: MLSCrypto, joinerSecret joiner: [UInt8], pskSecret: [UInt8], groupContext: GroupContext) throws(MLSError)
    {
        let intermediate = crypto.extract(salt: joiner, ikm: pskSecret)
        let epoch = try crypto.expandWithLabel(
            secret: intermediate,
            label: "epoch",
            context: groupContext.encoded,
            length: crypto.hashSize
        )
        func derive(_ label: String) throws(MLSError) -> SecretBytes { SecretBytes(try crypto.deriveSecret(epoch, label: label)) }
        self.joinerSecret = SecretBytes(joiner)
        self.welcomeSecret = SecretBytes(try crypto.deriveSecret(intermediate, label: "welcome"))
        self.epochSecret = SecretBytes(epoch)
        self.senderDataSecret = try derive("sender data")
        self.encryptionSecret = try derive("encryption")
        self.exporterSecret = try derive("exporter")
        self.externalSecret = try derive("external")
        self.confirmationKey = try derive("confirm")
        self.membershipKey = try derive("membership")
        self.resumptionPSK = try derive("resumption")
        self.epochAuthenticator = try crypto.deriveSecret(epoch, label: "authentication")
        self.initSecret = try derive("init")
    }

    /// The secrets in a fixed order, for persistence.
    var all: [SecretBytes] {
        [
            self.joinerSecret, self.welcomeSecret, self.epochSecret, self.senderDataSecret, self.encryptionSecret,
            self.exporterSecret,
            self.externalSecret, self.confirmationKey, self.membershipKey, self.resumptionPSK,
            SecretBytes(self.epochAuthenticator),
            self.initSecret,
        ]
    }

    /// Secrets restored in the order of ``all``.
    init(restoring secrets: [SecretBytes]) {
        precondition(secrets.count == 12)
        self.joinerSecret = secrets[0]
        self.welcomeSecret = secrets[1]
        self.epochSecret = secrets[2]
        self.senderDataSecret = secrets[3]
        self.encryptionSecret = secrets[4]
        self.exporterSecret = secrets[5]
        self.externalSecret = secrets[6]
        self.confirmationKey = secrets[7]
        self.membershipKey = secrets[8]
        self.resumptionPSK = secrets[9]
        self.epochAuthenticator = secrets[10].bytes
        self.initSecret = secrets[11]
    }

    /// `MLS-Exporter(label, context, length)`.
    package func export(crypto: MLSCrypto, label: String, context: [UInt8], length: Int) throws(MLSError) -> [UInt8] {
        try self.export(crypto: crypto, label: Array(label.utf8), context: context, length: length)
    }

    /// `MLS-Exporter` with a label given as bytes.
    package func export(crypto: MLSCrypto, label: [UInt8], context: [UInt8], length: Int) throws(MLSError) -> [UInt8] {
        let secret = try crypto.deriveSecret(self.exporterSecret.bytes, label: label)
        return try crypto.expandWithLabel(secret: secret, label: "exported", context: crypto.hash(context), length: length)
    }

    /// The group's external HPKE key pair: `DeriveKeyPair(external_secret)`.
    package func externalKeyPair(crypto: MLSCrypto) throws(MLSError) -> (privateKey: SecretBytes, publicKey: [UInt8]) {
        try crypto.deriveKeyPair(self.externalSecret.bytes)
    }
}

/// Key-schedule helpers that are not tied to one epoch.
package enum KeySchedule {
    /// A PSK with its id, as injected into the key schedule.
    package struct PSK: Sendable {
        package var id: PreSharedKeyID
        package var secret: SecretBytes

        package init(id: PreSharedKeyID, secret: SecretBytes) {
            self.id = id
            self.secret = secret
        }
    }

    /// `psk_secret` from the PSKs in order (RFC 9420 §8.4); Nh zero bytes for none.
    package static func pskSecret(_ psks: [PSK], crypto: MLSCrypto) throws(MLSError) -> [UInt8] {
        let zero = [UInt8](repeating: 0, count: crypto.hashSize)
        var secret = zero
        for (index, psk) in psks.enumerated() {
            let extracted = crypto.extract(salt: zero, ikm: psk.secret.bytes)
            var label = MLSWriter()
            label.write(psk.id)
            label.writeUInt16(UInt16(index))
            label.writeUInt16(UInt16(psks.count))
            let input = try crypto.expandWithLabel(
                secret: extracted,
                label: "derived psk",
                context: label.bytes,
                length: crypto.hashSize
            )
            secret = crypto.extract(salt: input, ikm: secret)
        }
        return secret
    }

    /// `welcome_secret` from the joiner secret and PSK secret (before the GroupContext is known).
    package static func welcomeSecret(joinerSecret: [UInt8], pskSecret: [UInt8], crypto: MLSCrypto) throws(MLSError) -> [UInt8] {
        try crypto.deriveSecret(crypto.extract(salt: joinerSecret, ikm: pskSecret), label: "welcome")
    }

    /// The AEAD key and nonce that protect a Welcome's GroupInfo.
    package static func welcomeKey(welcomeSecret: [UInt8], crypto: MLSCrypto) throws(MLSError) -> (key: [UInt8], nonce: [UInt8]) {
        let aead = crypto.suite.aead
        return (
            try crypto.expandWithLabel(secret: welcomeSecret, label: "key", context: [], length: aead.keySize),
            try crypto.expandWithLabel(secret: welcomeSecret, label: "nonce", context: [], length: aead.nonceSize)
        )
    }

    /// The init secret an external joiner sends in ExternalInit: `kem_output` and the secret
    /// exported from `SetupBaseS(external_pub, "")`.
    package static func externalInit(
        externalPublicKey: [UInt8],
        crypto: MLSCrypto
    ) throws(MLSError) -> (kemOutput: [UInt8], initSecret: [UInt8]) {
        do {
            let (kemOutput, context) = try HPKE.makeSender(suite: crypto.suite.hpke, recipientKey: externalPublicKey, info: [])
            return (kemOutput, try context.export(context: Array("MLS 1.0 external init secret".utf8), length: crypto.hashSize))
        } catch {
            throw MLSError(error)
        }
    }

    /// The members' side of external init: the init secret from the `kem_output`.
    package static func externalInitSecret(
        kemOutput: [UInt8],
        externalPrivateKey: SecretBytes,
        crypto: MLSCrypto
    ) throws(MLSError) -> [UInt8] {
        do {
            let context = try HPKE.makeRecipient(
                suite: crypto.suite.hpke,
                encapsulatedKey: kemOutput,
                recipientKey: externalPrivateKey,
                info: []
            )
            return try context.export(context: Array("MLS 1.0 external init secret".utf8), length: crypto.hashSize)
        } catch {
            throw MLSError(.decryptionFailed, "external init", primitive: error)
        }
    }
}

/// The transcript hashes (RFC 9420 §8.2).
package enum TranscriptHash {
    /// `confirmed_transcript_hash_[n] = Hash(interim_[n-1] || ConfirmedTranscriptHashInput)`.
    package static func confirmed(interim: [UInt8], content: AuthenticatedContent, crypto: MLSCrypto) -> [UInt8] {
        var input = MLSWriter()
        input.write(content.wireFormat)
        input.write(content.content)
        input.writeOpaque(content.auth.signature)
        return crypto.hash(interim + input.bytes)
    }

    /// `interim_transcript_hash_[n] = Hash(confirmed_[n] || InterimTranscriptHashInput)`.
    package static func interim(confirmed: [UInt8], confirmationTag: [UInt8], crypto: MLSCrypto) -> [UInt8] {
        var input = MLSWriter()
        input.writeOpaque(confirmationTag)
        return crypto.hash(confirmed + input.bytes)
    }

    /// `confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)`.
    package static func confirmationTag(confirmationKey: SecretBytes, confirmed: [UInt8], crypto: MLSCrypto) -> [UInt8] {
        crypto.mac(key: confirmationKey.bytes, data: confirmed)
    }
}
