extension HPKE.KEM {
    private var kdf: LabeledKDF { LabeledKDF(hash: self.hash, suiteID: self.suiteID) }

    /// `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3): a deterministic key pair from input keying material.
    package func deriveKeyPair(ikm: [UInt8]) throws(PrimitivesError) -> (privateKey: SecretBytes, publicKey: [UInt8]) {
        let kdf = self.kdf
        let prk = kdf.extract(salt: [], label: "dkp_prk", ikm: ikm)
        let group = self.group
        switch group {
        case .x25519, .x448:
            let sk = SecretBytes(try kdf.expand(prk: prk, label: "sk", info: [], length: group.privateKeySize))
            return (sk, try group.publicKey(for: sk))
        case .p256, .p384, .p521:
            let mask: UInt8 = group == .p521 ? 0x01 : 0xFF
            for counter in 0...255 {
                var candidate = try kdf.expand(prk: prk, label: "candidate", info: [UInt8(counter)], length: group.privateKeySize)
                candidate[0] &= mask
                if group.isValidPrivateKey(candidate) {
                    let sk = SecretBytes(candidate)
                    return (sk, try group.publicKey(for: sk))
                }
            }
            throw PrimitivesError(.deriveKeyPairFailed, "HPKE DeriveKeyPair \(group.name)")
        }
    }

    /// A fresh key pair.
    package func generateKeyPair() throws(PrimitivesError) -> (privateKey: SecretBytes, publicKey: [UInt8]) {
        let sk = self.group.generatePrivateKey()
        return (sk, try self.group.publicKey(for: sk))
    }

    /// `ExtractAndExpand(dh, kem_context)`.
    private func extractAndExpand(dh: [UInt8], context: [UInt8]) throws(PrimitivesError) -> SecretBytes {
        let kdf = self.kdf
        let prk = kdf.extract(salt: [], label: "eae_prk", ikm: dh)
        return SecretBytes(try kdf.expand(prk: prk, label: "shared_secret", info: context, length: self.sharedSecretSize))
    }

    /// `Encap` / `AuthEncap` with a given ephemeral key pair (fresh in normal use; fixed by tests).
    func encapsulate(
        recipient: [UInt8],
        ephemeral: (privateKey: SecretBytes, publicKey: [UInt8]),
        sender: (privateKey: SecretBytes, publicKey: [UInt8])? = nil
    ) throws(PrimitivesError) -> (sharedSecret: SecretBytes, encapsulatedKey: [UInt8]) {
        var dh = try self.group.sharedSecret(privateKey: ephemeral.privateKey, publicKey: recipient).bytes
        var context = ephemeral.publicKey + recipient
        if let sender {
            dh += try self.group.sharedSecret(privateKey: sender.privateKey, publicKey: recipient).bytes
            context += sender.publicKey
        }
        return (try self.extractAndExpand(dh: dh, context: context), ephemeral.publicKey)
    }

    /// `Decap` / `AuthDecap`.
    func decapsulate(
        _ encapsulatedKey: [UInt8],
        recipient: SecretBytes,
        senderPublicKey: [UInt8]? = nil
    ) throws(PrimitivesError) -> SecretBytes {
        let recipientPublic = try self.group.publicKey(for: recipient)
        var dh = try self.group.sharedSecret(privateKey: recipient, publicKey: encapsulatedKey).bytes
        var context = encapsulatedKey + recipientPublic
        if let senderPublicKey {
            dh += try self.group.sharedSecret(privateKey: recipient, publicKey: senderPublicKey).bytes
            context += senderPublicKey
        }
        return try self.extractAndExpand(dh: dh, context: context)
    }
}
