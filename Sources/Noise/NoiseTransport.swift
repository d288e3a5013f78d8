/// The transport phase (§5.3's Split): one `CipherState` to send with and one to receive
/// with, and the handshake hash that binds the channel (§11.2). A value.
package struct NoiseTransport: Sendable {
    package var send: NoiseCipherState
    package var receive: NoiseCipherState
    package let handshakeHash: [UInt8]

    /// A transport message carrying `plaintext` (at most 65,535 bytes with its tag).
    package mutating func encrypt(_ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard plaintext.count + NoiseCipher.tagLength <= NoiseHandshake.maximumMessageLength else {
            throw NoiseError(.tooLong, "a transport message of \(plaintext.count + NoiseCipher.tagLength) bytes")
        }
        return try self.send.encrypt(plaintext)
    }

    /// The plaintext of the peer's next transport message.
    ///
    /// - Throws: ``NoiseError/Code/decryptFailed`` for a message altered, replayed, reordered
    ///   or sealed under another key.
    package mutating func decrypt(_ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard ciphertext.count <= NoiseHandshake.maximumMessageLength else {
            throw NoiseError(.tooLong, "a transport message of \(ciphertext.count) bytes")
        }
        return try self.receive.decrypt(ciphertext)
    }
}
