import CSodium

/// Keys from passphrases: Argon2id (RFC 9106) through libsodium's `crypto_pwhash`, version
/// 0x13, one lane.
package enum PasswordHash {
    /// The cost of a derivation.
    package struct Cost: Sendable, Hashable {
        /// Passes over memory (Argon2 `t`).
        package var operations: Int
        /// Memory in bytes (Argon2 `m` × 1 KiB).
        package var memoryBytes: Int

        package init(operations: Int, memoryBytes: Int) {
            self.operations = operations
            self.memoryBytes = memoryBytes
        }

        /// libsodium's "interactive" limits: 2 passes, 64 MiB (about 0.1 s here).
        package static let interactive = Cost(operations: 2, memoryBytes: 64 << 20)
    }

    /// Salts are this long.
    package static let saltSize = 16

    /// Derives `length` bytes from `passphrase` and a 16-byte `salt`.
    ///
    /// - Throws: ``PrimitivesError`` when the salt has the wrong size or libsodium refuses
    ///   (out of memory).
    package static func argon2id(
        passphrase: some Collection<UInt8>,
        salt: [UInt8],
        cost: Cost = .interactive,
        length: Int = 32
    ) throws(PrimitivesError) -> SecretBytes {
        Primitives.initialize()
        guard salt.count == Self.saltSize else { throw PrimitivesError(.invalidLength, "an Argon2id salt is 16 bytes") }
        var out = [UInt8](repeating: 0, count: length)
        defer { sodium_memzero(&out, out.count) }
        // One byte more than the passphrase, so that an empty one still has an address.
        var password = Array(passphrase).map { CChar(bitPattern: $0) } + [0]
        defer { sodium_memzero(&password, password.count) }
        let count = password.count - 1
        let rc = password.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { s in
                crypto_pwhash(
                    &out,
                    UInt64(length),
                    pw.baseAddress!,
                    UInt64(count),
                    s.baseAddress!,
                    UInt64(cost.operations),
                    cost.memoryBytes,
                    crypto_pwhash_alg_argon2id13()
                )
            }
        }
        guard rc == 0 else { throw PrimitivesError(.libraryFailure, "Argon2id failed (memory)") }
        return SecretBytes(out)
    }
}
