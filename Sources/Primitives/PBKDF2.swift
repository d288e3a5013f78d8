import COpenSSL
import CSodium

/// PBKDF2 with HMAC-SHA-256 (RFC 8018 §5.2), through OpenSSL. Only for the web client's
/// identity file (ADR 0028): browsers derive keys from passphrases with WebCrypto, which offers
/// PBKDF2 and not Argon2id; polychat's own state keeps Argon2id (``PasswordHash``).
package enum PBKDF2 {
    /// `length` bytes derived from `password` and `salt` with `iterations` rounds.
    package static func sha256(
        password: [UInt8],
        salt: [UInt8],
        iterations: Int,
        length: Int
    ) throws(PrimitivesError) -> SecretBytes {
        guard iterations >= 1, iterations <= Int(Int32.max), length >= 1, length <= 1024 else {
            throw PrimitivesError(.invalidLength, "PBKDF2-SHA256 with \(iterations) iterations and \(length) bytes")
        }
        var output = [UInt8](repeating: 0, count: length)
        let rc = password.withUnsafeBufferPointer { pass in
            pass.withMemoryRebound(to: CChar.self) { pass in
                PKCS5_PBKDF2_HMAC(
                    pass.baseAddress,
                    Int32(pass.count),
                    salt,
                    Int32(salt.count),
                    Int32(iterations),
                    EVP_sha256(),
                    Int32(length),
                    &output
                )
            }
        }
        defer { sodium_memzero(&output, output.count) }
        guard rc == 1 else { throw PrimitivesError(.libraryFailure, "PBKDF2-SHA256") }
        return SecretBytes(output)
    }
}
