package import Primitives

/// Noise's cipher functions (§12.3, §12.4): ChaCha20-Poly1305 (libsodium) and AES-256-GCM
/// (OpenSSL), 32-byte keys, 16-byte tags, and the 64-bit counter as the nonce — little-endian
/// for ChaChaPoly, big-endian for AESGCM, after four zero bytes.
package enum NoiseCipher: String, Sendable, Hashable, CaseIterable {
    case chaChaPoly = "ChaChaPoly"
    case aesGCM = "AESGCM"

    package static let tagLength = 16
    package static let keyLength = 32

    var aead: AEADAlgorithm {
        switch self {
        case .chaChaPoly: .chacha20Poly1305
        case .aesGCM: .aes256GCM
        }
    }

    func nonce(_ counter: UInt64) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 {
            let byte = UInt8(truncatingIfNeeded: counter >> (8 * index))
            nonce[self == .chaChaPoly ? 4 + index : 11 - index] = byte
        }
        return nonce
    }

    /// ENCRYPT(k, n, ad, plaintext).
    package func encrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], _ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        do {
            return try self.aead.seal(key: key, nonce: self.nonce(nonce), associatedData: ad, plaintext: plaintext)
        } catch {
            throw NoiseError(.invalidKey, "\(self.rawValue) encryption failed")
        }
    }

    /// DECRYPT(k, n, ad, ciphertext).
    ///
    /// - Throws: ``NoiseError/Code/decryptFailed`` when the tag does not verify.
    package func decrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], _ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        do {
            return try self.aead.open(key: key, nonce: self.nonce(nonce), associatedData: ad, ciphertext: ciphertext)
        } catch {
            throw NoiseError(.decryptFailed, "a message does not authenticate (\(self.rawValue))")
        }
    }
}
