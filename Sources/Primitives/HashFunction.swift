import COpenSSL

/// SHA-2 hash functions (OpenSSL libcrypto), with HMAC.
package enum HashFunction: Sendable, Hashable, CaseIterable {
    case sha256
    case sha384
    case sha512

    /// Output length in bytes (Nh).
    package var outputSize: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    var messageDigest: OpaquePointer {
        switch self {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }

    /// The digest of `data`.
    package func hash(_ data: [UInt8]) -> [UInt8] {
        OpenSSLDigest.hash(self.messageDigest, data, length: self.outputSize)
    }

    /// HMAC of `message` under `key` (RFC 2104).
    package func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        OpenSSLDigest.hmac(self.messageDigest, key: key, message: message, length: self.outputSize)
    }

    /// HMAC with a secret key.
    package func hmac(key: SecretBytes, message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in self.hmac(key: Array(k), message: message) }
    }
}

/// One-shot digests and HMACs of libcrypto for any `EVP_MD` (SHA-2 here, BLAKE2 for Noise).
package enum OpenSSLDigest {
    /// The digest of `data` with `messageDigest` (an `EVP_MD`), `length` bytes long.
    package static func hash(_ messageDigest: OpaquePointer, _ data: [UInt8], length: Int) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress ?? emptyInput, input.count, &digest, &written, messageDigest, nil)
        }
        precondition(ok == 1 && Int(written) == length, "EVP_Digest failed")
        return digest
    }

    /// HMAC of `message` under `key` with `messageDigest` (RFC 2104), `length` bytes long.
    package static func hmac(_ messageDigest: OpaquePointer, key: [UInt8], message: [UInt8], length: Int) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(
                    messageDigest,
                    k.baseAddress ?? emptyInput,
                    Int32(k.count),
                    m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInputBytes,
                    m.count,
                    &mac,
                    &written
                )
            }
        }
        precondition(result != nil && Int(written) == length, "HMAC failed")
        return mac
    }
}

/// A valid address for empty inputs (OpenSSL treats NULL specially in some calls).
/// `nonisolated(unsafe)`: one byte written once at initialisation and never again.
nonisolated(unsafe) let emptyInputBytes: UnsafePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return UnsafePointer(pointer)
}()
var emptyInput: UnsafeRawPointer { UnsafeRawPointer(emptyInputBytes) }
