/// A Noise protocol: `Noise_<pattern>_<DH>_<cipher>_<hash>` (§8), e.g.
/// `Noise_NK_25519_ChaChaPoly_SHA256`.
package struct NoiseProtocol: Sendable, Hashable, CustomStringConvertible {
    package let pattern: NoisePattern
    package let dh: NoiseDH
    package let cipher: NoiseCipher
    package let hash: NoiseHash

    /// The protocol's full name.
    package var name: String { "Noise_\(self.pattern.name)_\(self.dh.rawValue)_\(self.cipher.rawValue)_\(self.hash.rawValue)" }
    package var description: String { self.name }

    /// - Throws: ``NoiseError/Code/unknownProtocol`` for a name this implementation cannot run.
    package init(name: String) throws(NoiseError) {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "Noise" else {
            throw NoiseError(.unknownProtocol, "'\(name)' is not Noise_PATTERN_DH_CIPHER_HASH")
        }
        guard let dh = NoiseDH(rawValue: parts[2]), let cipher = NoiseCipher(rawValue: parts[3]),
            let hash = NoiseHash(rawValue: parts[4])
        else {
            throw NoiseError(.unknownProtocol, "'\(name)': unknown DH, cipher or hash function")
        }
        self.pattern = try NoisePattern(named: parts[1])
        self.dh = dh
        self.cipher = cipher
        self.hash = hash
    }
}
