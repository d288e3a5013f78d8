package import Primitives

/// RFC 9420's labelled cryptographic operations for one cipher suite (§5.1, §5.2, §8).
package struct MLSCrypto: Sendable, Hashable {
    package let suite: CipherSuite
    private let hkdf: HKDF

    package init(suite: CipherSuite) {
        self.suite = suite
        self.hkdf = HKDF(hash: suite.hash)
    }

    /// The suite for a wire code point, or an ``MLSError`` when it is not one of 1–7.
    package init(suiteID: CipherSuiteID) throws(MLSError) {
        guard let suite = CipherSuite(id: suiteID) else {
            throw MLSError(.unsupportedCipherSuite, "cipher suite 0x\(String(suiteID, radix: 16)) is not supported")
        }
        self.init(suite: suite)
    }

    /// Nh.
    package var hashSize: Int { self.suite.hash.outputSize }

    private static let prefix = Array("MLS 1.0 ".utf8)

    // MARK: Hash, MAC, KDF

    package func hash(_ data: [UInt8]) -> [UInt8] { self.suite.hash.hash(data) }

    /// `MAC(key, data)`: HMAC with the suite's hash.
    package func mac(key: [UInt8], data: [UInt8]) -> [UInt8] { self.suite.hash.hmac(key: key, message: data) }

    package func extract(salt: [UInt8], ikm: [UInt8]) -> [UInt8] { self.hkdf.extract(salt: salt, ikm: ikm) }

    /// `ExpandWithLabel(secret, label, context, length)`.
    package func expandWithLabel(secret: [UInt8], label: String, context: [UInt8], length: Int) throws(MLSError) -> [UInt8] {
        try self.expandWithLabel(secret: secret, label: Array(label.utf8), context: context, length: length)
    }

    /// `ExpandWithLabel` with a label given as bytes.
    package func expandWithLabel(secret: [UInt8], label: [UInt8], context: [UInt8], length: Int) throws(MLSError) -> [UInt8] {
        guard length >= 0, length <= 0xFFFF else { throw MLSError(.invalidArgument, "ExpandWithLabel length \(length)") }
        var kdfLabel = MLSWriter()
        kdfLabel.writeUInt16(UInt16(length))
        kdfLabel.writeOpaque(Self.prefix + label)
        kdfLabel.writeOpaque(context)
        do {
            return try self.hkdf.expand(prk: secret, info: kdfLabel.bytes, length: length)
        } catch {
            throw MLSError(error)
        }
    }

    /// `DeriveSecret(secret, label)`.
    package func deriveSecret(_ secret: [UInt8], label: String) throws(MLSError) -> [UInt8] {
        try self.expandWithLabel(secret: secret, label: label, context: [], length: self.hashSize)
    }

    /// `DeriveSecret` with a label given as bytes.
    package func deriveSecret(_ secret: [UInt8], label: [UInt8]) throws(MLSError) -> [UInt8] {
        try self.expandWithLabel(secret: secret, label: label, context: [], length: self.hashSize)
    }

    /// `DeriveTreeSecret(secret, label, generation, length)`.
    package func deriveTreeSecret(_ secret: [UInt8], label: String, generation: UInt32, length: Int) throws(MLSError) -> [UInt8] {
        var context = MLSWriter()
        context.writeUInt32(generation)
        return try self.expandWithLabel(secret: secret, label: label, context: context.bytes, length: length)
    }

    /// `RefHash(label, value)`.
    package func refHash(label: String, value: [UInt8]) -> [UInt8] {
        var input = MLSWriter()
        input.writeOpaque(Array(label.utf8))
        input.writeOpaque(value)
        return self.hash(input.bytes)
    }

    /// `MakeKeyPackageRef(value)`.
    package func keyPackageRef(_ keyPackage: KeyPackage) -> [UInt8] {
        self.refHash(label: "MLS 1.0 KeyPackage Reference", value: keyPackage.encoded)
    }

    /// `MakeProposalRef(value)` over the AuthenticatedContent that carried the proposal.
    package func proposalRef(_ content: AuthenticatedContent) -> [UInt8] {
        self.refHash(label: "MLS 1.0 Proposal Reference", value: content.encoded)
    }

    // MARK: Signatures

    private func signContent(label: String, content: [UInt8]) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeOpaque(Self.prefix + Array(label.utf8))
        writer.writeOpaque(content)
        return writer.bytes
    }

    /// `SignWithLabel(key, label, content)`.
    package func signWithLabel(privateKey: SecretBytes, label: String, content: [UInt8]) throws(MLSError) -> [UInt8] {
        do {
            return try self.suite.signature.sign(self.signContent(label: label, content: content), privateKey: privateKey)
        } catch {
            throw MLSError(error)
        }
    }

    /// `VerifyWithLabel(key, label, content, signature)`.
    package func verifyWithLabel(publicKey: [UInt8], label: String, content: [UInt8], signature: [UInt8]) -> Bool {
        self.suite.signature.verify(signature, message: self.signContent(label: label, content: content), publicKey: publicKey)
    }

    // MARK: Public-key encryption

    private func encryptContext(label: String, context: [UInt8]) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeOpaque(Self.prefix + Array(label.utf8))
        writer.writeOpaque(context)
        return writer.bytes
    }

    /// `EncryptWithLabel(public_key, label, context, plaintext)`.
    package func encryptWithLabel(
        publicKey: [UInt8],
        label: String,
        context: [UInt8],
        plaintext: [UInt8]
    ) throws(MLSError) -> HPKECiphertext {
        do {
            let (kemOutput, ciphertext) = try HPKE.seal(
                suite: self.suite.hpke,
                recipientKey: publicKey,
                info: self.encryptContext(label: label, context: context),
                associatedData: [],
                plaintext: plaintext
            )
            return HPKECiphertext(kemOutput: kemOutput, ciphertext: ciphertext)
        } catch {
            throw MLSError(error)
        }
    }

    /// `DecryptWithLabel(private_key, label, context, kem_output, ciphertext)`.
    package func decryptWithLabel(
        privateKey: SecretBytes,
        label: String,
        context: [UInt8],
        ciphertext: HPKECiphertext
    ) throws(MLSError) -> [UInt8] {
        do {
            return try HPKE.open(
                suite: self.suite.hpke,
                encapsulatedKey: ciphertext.kemOutput,
                recipientKey: privateKey,
                info: self.encryptContext(label: label, context: context),
                associatedData: [],
                ciphertext: ciphertext.ciphertext
            )
        } catch {
            throw MLSError(.decryptionFailed, "DecryptWithLabel \(label)", primitive: error)
        }
    }

    /// `DeriveKeyPair(secret)` of the suite's KEM.
    package func deriveKeyPair(_ secret: [UInt8]) throws(MLSError) -> (privateKey: SecretBytes, publicKey: [UInt8]) {
        do {
            return try self.suite.hpke.kem.deriveKeyPair(ikm: secret)
        } catch {
            throw MLSError(error)
        }
    }
}
