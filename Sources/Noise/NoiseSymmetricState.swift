package import Primitives

/// A `SymmetricState` (§5.2): the chaining key, the handshake hash and the current
/// `CipherState`. A value.
struct NoiseSymmetricState: Sendable {
    let hash: NoiseHash
    var cipherState: NoiseCipherState
    private var chainingKey: [UInt8]
    /// h.
    private(set) var handshakeHash: [UInt8]

    /// InitializeSymmetric(protocol_name).
    init(_ noise: NoiseProtocol) {
        self.hash = noise.hash
        let name = Array(noise.name.utf8)
        self.handshakeHash =
            name.count <= noise.hash.length
            ? name + [UInt8](repeating: 0, count: noise.hash.length - name.count) : noise.hash.hash(name)
        self.chainingKey = self.handshakeHash
        self.cipherState = NoiseCipherState(cipher: noise.cipher)
    }

    /// A HASHLEN output as a cipher key (its first 32 bytes: §5.2's truncation for 64-byte hashes).
    func key(_ output: [UInt8]) -> SecretBytes { SecretBytes(output.prefix(NoiseCipher.keyLength)) }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        let outputs = self.hash.hkdf(chainingKey: self.chainingKey, inputKeyMaterial, outputs: 2)
        self.chainingKey = outputs[0]
        self.cipherState = NoiseCipherState(cipher: self.cipherState.cipher, key: self.key(outputs[1]))
    }

    mutating func mixHash(_ data: [UInt8]) {
        self.handshakeHash = self.hash.hash(self.handshakeHash + data)
    }

    mutating func mixKeyAndHash(_ inputKeyMaterial: [UInt8]) {
        let outputs = self.hash.hkdf(chainingKey: self.chainingKey, inputKeyMaterial, outputs: 3)
        self.chainingKey = outputs[0]
        self.mixHash(outputs[1])
        self.cipherState = NoiseCipherState(cipher: self.cipherState.cipher, key: self.key(outputs[2]))
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let ciphertext = try self.cipherState.encrypt(ad: self.handshakeHash, plaintext)
        self.mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let plaintext = try self.cipherState.decrypt(ad: self.handshakeHash, ciphertext)
        self.mixHash(ciphertext)
        return plaintext
    }

    /// Split(): the initiator's sending and the responder's sending `CipherState`s.
    func split() -> (NoiseCipherState, NoiseCipherState) {
        let outputs = self.hash.hkdf(chainingKey: self.chainingKey, [], outputs: 2)
        let cipher = self.cipherState.cipher
        return (
            NoiseCipherState(cipher: cipher, key: self.key(outputs[0])),
            NoiseCipherState(cipher: cipher, key: self.key(outputs[1]))
        )
    }
}
