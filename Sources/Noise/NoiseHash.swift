import COpenSSL
import Primitives

/// Noise's hash functions (§12.5–12.8, OpenSSL libcrypto), with the HMAC and HKDF that Noise
/// builds on them (§4.3).
package enum NoiseHash: String, Sendable, Hashable, CaseIterable {
    case sha256 = "SHA256"
    case sha512 = "SHA512"
    case blake2s = "BLAKE2s"
    case blake2b = "BLAKE2b"

    /// HASHLEN.
    package var length: Int {
        switch self {
        case .sha256, .blake2s: 32
        case .sha512, .blake2b: 64
        }
    }

    var messageDigest: OpaquePointer {
        switch self {
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        case .blake2s: EVP_blake2s256()
        case .blake2b: EVP_blake2b512()
        }
    }

    /// HASH(data).
    package func hash(_ data: [UInt8]) -> [UInt8] { OpenSSLDigest.hash(self.messageDigest, data, length: self.length) }

    /// HMAC-HASH(key, data).
    package func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        OpenSSLDigest.hmac(self.messageDigest, key: key, message: data, length: self.length)
    }

    /// HKDF(chaining_key, input_key_material, num_outputs) of §4.3: two or three outputs of
    /// HASHLEN bytes.
    package func hkdf(chainingKey: [UInt8], _ inputKeyMaterial: [UInt8], outputs: Int) -> [[UInt8]] {
        precondition(outputs == 2 || outputs == 3, "Noise's HKDF has two or three outputs")
        let temporaryKey = self.hmac(key: chainingKey, inputKeyMaterial)
        var results = [self.hmac(key: temporaryKey, [0x01])]
        for index in 2...outputs { results.append(self.hmac(key: temporaryKey, results[results.count - 1] + [UInt8(index)])) }
        return results
    }
}
