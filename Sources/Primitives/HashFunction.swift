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

    var bits: Int32 { Int32(self.outputSize * 8) }

    /// The digest of `data` (libcrypto's SHA-2 functions directly: no EVP fetch per call).
    package func hash(_ data: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: self.outputSize) { out, count in
            let ok = data.withUnsafeBytes { cshim_sha2(self.bits, $0.baseAddress, $0.count, out.baseAddress) }
            precondition(ok == 1, "SHA-2 failed")
            count = self.outputSize
        }
    }

    /// HMAC of `message` under `key` (RFC 2104).
    package func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { self.hmac(key: $0, message, [], []) }
    }

    /// HMAC with a secret key.
    package func hmac(key: SecretBytes, message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { self.hmac(key: $0, message, [], []) }
    }

    /// HMAC of the concatenation of three parts, without joining them first (HKDF-Expand's
    /// `T(n-1) | info | counter`). 0.15 µs for a short message against 1.1 µs through
    /// OpenSSL 3's one-shot HMAC() (ADR 0027).
    func hmac(key: UnsafeRawBufferPointer, _ first: [UInt8], _ second: [UInt8], _ third: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: self.outputSize) { out, count in
            let ok = first.withUnsafeBytes { a in
                second.withUnsafeBytes { b in
                    third.withUnsafeBytes { c in
                        cshim_hmac_sha2(
                            self.bits,
                            key.baseAddress?.assumingMemoryBound(to: UInt8.self),
                            key.count,
                            a.baseAddress,
                            a.count,
                            b.baseAddress,
                            b.count,
                            c.baseAddress,
                            c.count,
                            out.baseAddress
                        )
                    }
                }
            }
            precondition(ok == 1, "HMAC failed")
            count = self.outputSize
        }
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
