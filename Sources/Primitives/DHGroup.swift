import COpenSSL
import CSodium

/// Diffie-Hellman groups for DHKEM: X25519 (libsodium's ladder, BoringSSL's base-point
/// table), X448 and NIST P-256/P-384/P-521 (OpenSSL). Keys use HPKE's serialisation (RFC 9180
/// §7.1.1): raw bytes for X25519/X448, the big-endian scalar and the uncompressed point for
/// the NIST curves.
package enum DHGroup: Sendable, Hashable, CaseIterable {
    case x25519
    case x448
    case p256
    case p384
    case p521

    /// Private key length (Nsk).
    package var privateKeySize: Int {
        switch self {
        case .x25519: 32
        case .x448: 56
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    /// Public key length (Npk).
    package var publicKeySize: Int {
        switch self {
        case .x25519: 32
        case .x448: 56
        case .p256: 65
        case .p384: 97
        case .p521: 133
        }
    }

    /// Shared secret length (Ndh).
    package var sharedSecretSize: Int {
        switch self {
        case .x25519: 32
        case .x448: 56
        case .p256: 32
        case .p384: 48
        case .p521: 66
        }
    }

    package var name: String {
        switch self {
        case .x25519: "X25519"
        case .x448: "X448"
        case .p256: "P-256"
        case .p384: "P-384"
        case .p521: "P-521"
        }
    }

    var curveNID: Int32 {
        switch self {
        case .p256: OpenSSLKeys.p256
        case .p384: OpenSSLKeys.p384
        case .p521: OpenSSLKeys.p521
        case .x25519, .x448: 0
        }
    }

    /// Whether `candidate` is a usable private key: any bytes of the right length for X25519/X448,
    /// a scalar 0 < d < order for the NIST curves.
    package func isValidPrivateKey(_ candidate: [UInt8]) -> Bool {
        guard candidate.count == self.privateKeySize else { return false }
        switch self {
        case .x25519, .x448: return true
        case .p256, .p384, .p521: return cshim_ec_scalar_valid(self.curveNID, candidate, candidate.count) == 1
        }
    }

    /// A fresh private key.
    package func generatePrivateKey() -> SecretBytes {
        while true {
            let candidate = SecretBytes.random(count: self.privateKeySize)
            if candidate.withUnsafeBytes({ self.isValidPrivateKey(Array($0)) }) { return candidate }
        }
    }

    /// A NIST-curve scalar shorter than Nsk (leading zeros dropped, as some encoders emit)
    /// padded to full length; anything else unchanged.
    func normalized(_ privateKey: SecretBytes) -> SecretBytes {
        guard self.curveNID != 0, privateKey.count < self.privateKeySize, privateKey.count > 0 else { return privateKey }
        return privateKey.withUnsafeBytes {
            SecretBytes([UInt8](repeating: 0, count: self.privateKeySize - $0.count) + Array($0))
        }
    }

    /// The public key of `privateKey`.
    package func publicKey(for privateKey: SecretBytes) throws(PrimitivesError) -> [UInt8] {
        let privateKey = self.normalized(privateKey)
        let operation = "\(self.name) public key"
        guard privateKey.count == self.privateKeySize else { throw PrimitivesError(.invalidKey, operation) }
        switch self {
        case .x25519:
            guard let out = privateKey.withUnsafeBytes({ X25519Base.publicKey($0) }) else {
                throw PrimitivesError(.invalidKey, operation)
            }
            return out
        case .x448:
            let pkey = try OpenSSLKeys.rawPrivate(type: EVP_PKEY_X448, privateKey, operation)
            defer { EVP_PKEY_free(pkey) }
            return try OpenSSLKeys.rawPublicKey(of: pkey, size: 56, operation)
        case .p256, .p384, .p521:
            return try OpenSSLKeys.ecPublicKey(nid: self.curveNID, privateKey: privateKey, size: self.publicKeySize, operation)
        }
    }

    /// Checks that `publicKey` has the right length and, for the NIST curves, is a point on the curve.
    package func validatePublicKey(_ publicKey: [UInt8]) throws(PrimitivesError) {
        guard publicKey.count == self.publicKeySize else { throw PrimitivesError(.invalidPublicKey, "\(self.name) public key") }
        switch self {
        case .x25519, .x448: return
        case .p256, .p384, .p521:
            guard cshim_ec_point_valid(self.curveNID, publicKey, publicKey.count) == 1 else {
                throw PrimitivesError(.invalidPublicKey, "\(self.name) public key")
            }
        }
    }

    /// `DH(sk, pk)`. An all-zero result (a small-order peer key) is refused, as RFC 9180 §7.1.4 requires.
    package func sharedSecret(privateKey: SecretBytes, publicKey: [UInt8]) throws(PrimitivesError) -> SecretBytes {
        let privateKey = self.normalized(privateKey)
        let operation = "\(self.name) DH"
        guard privateKey.count == self.privateKeySize else { throw PrimitivesError(.invalidKey, operation) }
        try self.validatePublicKey(publicKey)
        var out: [UInt8]
        switch self {
        case .x25519:
            Primitives.initialize()
            out = [UInt8](repeating: 0, count: 32)
            let rc = privateKey.withUnsafeBytes {
                crypto_scalarmult(&out, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), publicKey)
            }
            guard rc == 0 else { throw PrimitivesError(.invalidPublicKey, operation) }
        case .x448:
            let own = try OpenSSLKeys.rawPrivate(type: EVP_PKEY_X448, privateKey, operation)
            defer { EVP_PKEY_free(own) }
            let peer = try OpenSSLKeys.rawPublic(type: EVP_PKEY_X448, publicKey, operation)
            defer { EVP_PKEY_free(peer) }
            out = try OpenSSLKeys.derive(own, peer, size: 56, operation)
        case .p256, .p384, .p521:
            let own = try OpenSSLKeys.ecPrivateKey(nid: self.curveNID, privateKey, operation)
            defer { EVP_PKEY_free(own) }
            let peer = try OpenSSLKeys.ecPublicKey(nid: self.curveNID, publicKey, operation)
            defer { EVP_PKEY_free(peer) }
            out = try OpenSSLKeys.derive(own, peer, size: self.sharedSecretSize, operation)
        }
        defer { sodium_memzero(&out, out.count) }
        guard out.contains(where: { $0 != 0 }) else { throw PrimitivesError(.invalidPublicKey, operation) }
        return SecretBytes(out)
    }
}
