package import Primitives

extension Capabilities {
    /// What this implementation supports: MLS 1.0, suites 1–7, basic and X.509 credentials.
    package static let supported = Capabilities(
        versions: [MLSCode.mls10],
        cipherSuites: CipherSuite.all.map(\.id),
        extensions: [],
        proposals: [],
        credentials: [MLSCode.Credential.basic, MLSCode.Credential.x509]
    )
}

extension KeyPackage {
    /// A new KeyPackage with fresh init and encryption keys, signed with `signingKey`.
    ///
    /// - Parameters:
    ///   - lifetime: validity window; defaults to the whole range (the group application
    ///     decides how long it accepts a KeyPackage).
    ///   - leafExtensions: LeafNode extensions (their types must be in `capabilities`).
    package static func make(
        cipherSuite: CipherSuite,
        credential: Credential,
        signingKey: SecretBytes,
        capabilities: Capabilities = .supported,
        lifetime: Lifetime = Lifetime(notBefore: 0, notAfter: UInt64.max),
        extensions: [Extension] = [],
        leafExtensions: [Extension] = []
    ) throws(MLSError) -> KeyPackageSecrets {
        let crypto = MLSCrypto(suite: cipherSuite)
        let (initPrivate, initPublic) = try crypto.deriveKeyPair(SecureRandom.bytes(count: crypto.hashSize))
        let (encryptionPrivate, encryptionPublic) = try crypto.deriveKeyPair(SecureRandom.bytes(count: crypto.hashSize))
        let signatureKey: [UInt8]
        do {
            signatureKey = try cipherSuite.signature.publicKey(for: signingKey)
        } catch {
            throw MLSError(error)
        }
        var leaf = LeafNode(
            encryptionKey: encryptionPublic,
            signatureKey: signatureKey,
            credential: credential,
            capabilities: capabilities,
            source: .keyPackage(lifetime),
            extensions: leafExtensions,
            signature: []
        )
        try leaf.sign(privateKey: signingKey, crypto: crypto, groupID: [], leafIndex: 0)
        var keyPackage = KeyPackage(
            version: MLSCode.mls10,
            cipherSuite: cipherSuite.id,
            initKey: initPublic,
            leafNode: leaf,
            extensions: extensions,
            signature: []
        )
        keyPackage.signature = try crypto.signWithLabel(
            privateKey: signingKey,
            label: "KeyPackageTBS",
            content: keyPackage.toBeSigned
        )
        return KeyPackageSecrets(
            keyPackage: keyPackage,
            initPrivateKey: initPrivate,
            encryptionPrivateKey: encryptionPrivate,
            signingKey: signingKey
        )
    }
}

extension LeafNode {
    /// A LeafNode template for ``MLSGroup/create(groupID:cipherSuite:leafNode:signingKey:extensions:configuration:)``
    /// and external joins: keys, source and signature are filled in by the group.
    package static func template(
        credential: Credential,
        signingKey: SecretBytes,
        cipherSuite: CipherSuite,
        capabilities: Capabilities = .supported,
        extensions: [Extension] = []
    ) throws(MLSError) -> LeafNode {
        let signatureKey: [UInt8]
        do {
            signatureKey = try cipherSuite.signature.publicKey(for: signingKey)
        } catch {
            throw MLSError(error)
        }
        return LeafNode(
            encryptionKey: [],
            signatureKey: signatureKey,
            credential: credential,
            capabilities: capabilities,
            source: .keyPackage(Lifetime(notBefore: 0, notAfter: UInt64.max)),
            extensions: extensions,
            signature: []
        )
    }
}
