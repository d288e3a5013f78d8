package import Primitives

/// A `CipherState` (§5.1): a key (or none yet) and the counter used as its nonce. A value.
package struct NoiseCipherState: Sendable {
    package let cipher: NoiseCipher
    private var key: SecretBytes?
    /// n: the nonce of the next message.
    package private(set) var nonce: UInt64 = 0

    init(cipher: NoiseCipher, key: SecretBytes? = nil) {
        self.cipher = cipher
        self.key = key
    }

    /// Whether a key is set (before one is, messages pass in clear).
    package var hasKey: Bool { self.key != nil }

    /// EncryptWithAd: `plaintext` sealed with the next nonce (unchanged while there is no key).
    package mutating func encrypt(ad: [UInt8] = [], _ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard let key = self.key else { return plaintext }
        guard self.nonce < UInt64.max else { throw NoiseError(.nonceExhausted, "the key's nonces are used up") }
        let ciphertext = try self.cipher.encrypt(key: key.bytes, nonce: self.nonce, ad: ad, plaintext)
        self.nonce += 1
        return ciphertext
    }

    /// DecryptWithAd: `ciphertext` opened with the next nonce; the nonce moves on only when it
    /// authenticates.
    ///
    /// - Throws: ``NoiseError/Code/decryptFailed`` for an altered, replayed, reordered or foreign
    ///   message.
    package mutating func decrypt(ad: [UInt8] = [], _ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard let key = self.key else { return ciphertext }
        guard self.nonce < UInt64.max else { throw NoiseError(.nonceExhausted, "the key's nonces are used up") }
        let plaintext = try self.cipher.decrypt(key: key.bytes, nonce: self.nonce, ad: ad, ciphertext)
        self.nonce += 1
        return plaintext
    }

    /// Rekey (§11.3): the key becomes the first 32 bytes of ENCRYPT(k, 2^64-1, empty, zeros).
    package mutating func rekey() throws(NoiseError) {
        guard let key = self.key else { return }
        let next = try self.cipher.encrypt(key: key.bytes, nonce: UInt64.max, ad: [], [UInt8](repeating: 0, count: 32))
        self.key = SecretBytes(next.prefix(NoiseCipher.keyLength))
    }
}
