import COpenSSL
import CSodium

/// Signature schemes for MLS credentials: Ed25519 (libsodium), Ed448 and ECDSA over P-256/384/521
/// with SHA-256/384/512 (OpenSSL). ECDSA signatures are DER-encoded, as RFC 9420 §5.1.2 requires.
///
/// Private keys: the 32/57-byte seed for EdDSA, the big-endian scalar for ECDSA. Public keys: the
/// raw key for EdDSA, the uncompressed point for ECDSA.
package enum SignatureAlgorithm: Sendable, Hashable, CaseIterable {
    case ed25519
    case ed448
    case ecdsaP256SHA256
    case ecdsaP384SHA384
    case ecdsaP521SHA512

    /// The TLS SignatureScheme value (RFC 8446), as MLS names them.
    package var tlsCode: UInt16 {
        switch self {
        case .ed25519: 0x0807
        case .ed448: 0x0808
        case .ecdsaP256SHA256: 0x0403
        case .ecdsaP384SHA384: 0x0503
        case .ecdsaP521SHA512: 0x0603
        }
    }

    package var name: String {
        switch self {
        case .ed25519: "Ed25519"
        case .ed448: "Ed448"
        case .ecdsaP256SHA256: "ECDSA-P256-SHA256"
        case .ecdsaP384SHA384: "ECDSA-P384-SHA384"
        case .ecdsaP521SHA512: "ECDSA-P521-SHA512"
        }
    }

    /// Private key length.
    package var privateKeySize: Int {
        switch self {
        case .ed25519: 32
        case .ed448: 57
        case .ecdsaP256SHA256: 32
        case .ecdsaP384SHA384: 48
        case .ecdsaP521SHA512: 66
        }
    }

    /// Public key length.
    package var publicKeySize: Int {
        switch self {
        case .ed25519: 32
        case .ed448: 57
        case .ecdsaP256SHA256: 65
        case .ecdsaP384SHA384: 97
        case .ecdsaP521SHA512: 133
        }
    }

    private var curve: DHGroup? {
        switch self {
        case .ecdsaP256SHA256: .p256
        case .ecdsaP384SHA384: .p384
        case .ecdsaP521SHA512: .p521
        case .ed25519, .ed448: nil
        }
    }

    private var digest: OpaquePointer? {
        switch self {
        case .ecdsaP256SHA256: EVP_sha256()
        case .ecdsaP384SHA384: EVP_sha384()
        case .ecdsaP521SHA512: EVP_sha512()
        case .ed25519, .ed448: nil
        }
    }

    /// A fresh private key.
    package func generatePrivateKey() -> SecretBytes {
        if let curve = self.curve { return curve.generatePrivateKey() }
        return SecretBytes.random(count: self.privateKeySize)
    }

    /// ECDSA scalars shorter than the field are padded as ``DHGroup`` does.
    private func normalized(_ privateKey: SecretBytes) -> SecretBytes {
        self.curve?.normalized(privateKey) ?? privateKey
    }

    /// The public key of `privateKey`.
    package func publicKey(for privateKey: SecretBytes) throws(PrimitivesError) -> [UInt8] {
        let operation = "\(self.name) public key"
        let privateKey = self.normalized(privateKey)
        guard privateKey.count == self.privateKeySize else { throw PrimitivesError(.invalidKey, operation) }
        switch self {
        case .ed25519:
            return try Self.ed25519KeyPair(privateKey, operation).publicKey
        case .ed448:
            let pkey = try OpenSSLKeys.rawPrivate(type: EVP_PKEY_ED448, privateKey, operation)
            defer { EVP_PKEY_free(pkey) }
            return try OpenSSLKeys.rawPublicKey(of: pkey, size: 57, operation)
        case .ecdsaP256SHA256, .ecdsaP384SHA384, .ecdsaP521SHA512:
            return try self.curve!.publicKey(for: privateKey)
        }
    }

    /// Signs `message`.
    package func sign(_ message: [UInt8], privateKey: SecretBytes) throws(PrimitivesError) -> [UInt8] {
        let operation = "\(self.name) sign"
        let privateKey = self.normalized(privateKey)
        guard privateKey.count == self.privateKeySize else { throw PrimitivesError(.invalidKey, operation) }
        switch self {
        case .ed25519:
            var keyPair = try Self.ed25519KeyPair(privateKey, operation)
            defer { sodium_memzero(&keyPair.secretKey, keyPair.secretKey.count) }
            var signature = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
            guard crypto_sign_detached(&signature, nil, message, UInt64(message.count), keyPair.secretKey) == 0 else {
                throw PrimitivesError(.libraryFailure, operation)
            }
            return signature
        case .ed448:
            let pkey = try OpenSSLKeys.rawPrivate(type: EVP_PKEY_ED448, privateKey, operation)
            defer { EVP_PKEY_free(pkey) }
            return try OpenSSLKeys.sign(pkey, digest: nil, message: message, operation)
        case .ecdsaP256SHA256, .ecdsaP384SHA384, .ecdsaP521SHA512:
            let pkey = try OpenSSLKeys.ecPrivateKey(nid: self.curve!.curveNID, privateKey, operation)
            defer { EVP_PKEY_free(pkey) }
            return try OpenSSLKeys.sign(pkey, digest: self.digest, message: message, operation)
        }
    }

    /// Whether `signature` is valid for `message` under `publicKey`. Malformed keys or signatures
    /// are simply invalid.
    package func verify(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard publicKey.count == self.publicKeySize else { return false }
        switch self {
        case .ed25519:
            Primitives.initialize()
            guard signature.count == Int(crypto_sign_BYTES) else { return false }
            return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
        case .ed448:
            guard let pkey = try? OpenSSLKeys.rawPublic(type: EVP_PKEY_ED448, publicKey, "") else { return false }
            defer { EVP_PKEY_free(pkey) }
            return OpenSSLKeys.verify(pkey, digest: nil, signature: signature, message: message)
        case .ecdsaP256SHA256, .ecdsaP384SHA384, .ecdsaP521SHA512:
            guard let pkey = try? OpenSSLKeys.ecPublicKey(nid: self.curve!.curveNID, publicKey, "") else {
                return false
            }
            defer { EVP_PKEY_free(pkey) }
            return OpenSSLKeys.verify(pkey, digest: self.digest, signature: signature, message: message)
        }
    }

    private static func ed25519KeyPair(
        _ seed: SecretBytes,
        _ operation: String
    ) throws(PrimitivesError) -> (publicKey: [UInt8], secretKey: [UInt8]) {
        Primitives.initialize()
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        let rc = seed.withUnsafeBytes {
            crypto_sign_seed_keypair(&publicKey, &secretKey, $0.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard rc == 0 else { throw PrimitivesError(.invalidKey, operation) }
        return (publicKey, secretKey)
    }
}
