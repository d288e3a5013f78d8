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
        var digest = [UInt8](repeating: 0, count: self.outputSize)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress ?? emptyInput, input.count, &digest, &length, self.messageDigest, nil)
        }
        precondition(ok == 1 && Int(length) == self.outputSize, "EVP_Digest failed")
        return digest
    }

    /// HMAC of `message` under `key` (RFC 2104).
    package func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: self.outputSize)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(
                    self.messageDigest,
                    k.baseAddress ?? emptyInput,
                    Int32(k.count),
                    m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInputBytes,
                    m.count,
                    &mac,
                    &length
                )
            }
        }
        precondition(result != nil && Int(length) == self.outputSize, "HMAC failed")
        return mac
    }

    /// HMAC with a secret key.
    package func hmac(key: SecretBytes, message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in self.hmac(key: Array(k), message: message) }
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
