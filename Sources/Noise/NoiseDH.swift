package import Primitives

/// Noise's DH functions (§12.1, §12.2): X25519 (libsodium) and X448 (OpenSSL).
package enum NoiseDH: String, Sendable, Hashable, CaseIterable {
    case x25519 = "25519"
    case x448 = "448"

    var group: DHGroup {
        switch self {
        case .x25519: .x25519
        case .x448: .x448
        }
    }

    /// DHLEN: the length of public keys and of DH results.
    package var length: Int { self.group.publicKeySize }

    /// GENERATE_KEYPAIR().
    package func generateKeyPair() -> NoiseKeyPair {
        while true {
            // Any random bytes of the right length are an X25519/X448 private key.
            if let pair = try? self.keyPair(privateKey: self.group.generatePrivateKey()) { return pair }
        }
    }

    /// The key pair of a private key (a stored static key, or a test vector's ephemeral).
    package func keyPair(privateKey: SecretBytes) throws(NoiseError) -> NoiseKeyPair {
        do {
            return NoiseKeyPair(privateKey: privateKey, publicKey: try self.group.publicKey(for: privateKey))
        } catch {
            throw NoiseError(.invalidKey, "not a \(self.rawValue) private key")
        }
    }

    /// DH(key_pair, public_key).
    func agree(_ keyPair: NoiseKeyPair, _ publicKey: [UInt8]) throws(NoiseError) -> SecretBytes {
        do {
            return try self.group.sharedSecret(privateKey: keyPair.privateKey, publicKey: publicKey)
        } catch {
            throw NoiseError(.invalidKey, "the peer's \(self.rawValue) public key gives no shared secret")
        }
    }
}

/// A DH key pair; the private half never appears in a description.
package struct NoiseKeyPair: Sendable, CustomStringConvertible {
    package let privateKey: SecretBytes
    package let publicKey: [UInt8]

    package var description: String { "NoiseKeyPair(public \(Hex.encode(self.publicKey)))" }
}
