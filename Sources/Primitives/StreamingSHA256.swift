import CSodium

/// SHA-256 over bytes that arrive in pieces (libsodium), so that a large upload is hashed as it
/// streams, in constant memory. `finish()` gives the same digest as
/// `HashFunction.sha256.hash(all bytes)`.
package struct StreamingSHA256: Sendable {
    private var state = crypto_hash_sha256_state()

    package init() {
        Primitives.initialize()
        crypto_hash_sha256_init(&self.state)
    }

    /// Adds `bytes` to what is hashed.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        crypto_hash_sha256_update(&self.state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    package mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.update($0) }
    }

    /// The digest of everything added (the state is spent).
    package mutating func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256_final(&self.state, &digest)
        return digest
    }
}
