package import Primitives

/// The keys both devices derive from the CPace ISK of a pairing (ADR 0023): each side's
/// confirmation key, the transfer key that seals the identity, and the verification string
/// both devices show. HKDF-SHA256 with salt `"polygate pairing v1"` over the ISK; each output
/// expanded under its own label.
package struct PairingKeys: Sendable {
    /// CPace's channel identifier for pairings at `gatewayID`.
    package static func channelID(gatewayID: String) -> [UInt8] {
        Array("polygate pairing v1".utf8) + [0] + Array(gatewayID.utf8)
    }

    let initiatorConfirmation: SecretBytes
    let responderConfirmation: SecretBytes
    /// The ChaCha20-Poly1305 key of the transfer (32 bytes).
    package let transfer: SecretBytes
    /// Six digits, shown as `123 456` on both devices before the transfer completes.
    package let verification: String

    package init(isk: SecretBytes) throws(PrimitivesError) {
        let hkdf = HKDF(hash: .sha256)
        let prk = hkdf.extract(salt: Array("polygate pairing v1".utf8), ikm: isk.bytes)
        func key(_ label: String, _ length: Int = 32) throws(PrimitivesError) -> [UInt8] {
            try hkdf.expand(prk: prk, info: Array(label.utf8), length: length)
        }
        self.initiatorConfirmation = SecretBytes(try key("confirm initiator"))
        self.responderConfirmation = SecretBytes(try key("confirm responder"))
        self.transfer = SecretBytes(try key("transfer"))
        let number = try key("verification", 4).reduce(UInt32(0)) { ($0 << 8) | UInt32($1) } % 1_000_000
        let digits = String(number)
        let padded = String(repeating: "0", count: 6 - digits.count) + digits
        self.verification = "\(padded.prefix(3)) \(padded.suffix(3))"
    }

    /// The confirmation tag a side sends: HMAC-SHA256 under its key over the pairing id and
    /// both shares (initiator's first), so that it binds this exchange.
    package func confirmation(initiator: Bool, pairingID: [UInt8], initiatorShare: [UInt8], responderShare: [UInt8]) -> [UInt8] {
        HashFunction.sha256.hmac(
            key: initiator ? self.initiatorConfirmation : self.responderConfirmation,
            message: pairingID + initiatorShare + responderShare
        )
    }

    /// Whether `tag` is the other side's confirmation (compared in constant time).
    package func verify(
        _ tag: [UInt8],
        fromInitiator: Bool,
        pairingID: [UInt8],
        initiatorShare: [UInt8],
        responderShare: [UInt8]
    ) -> Bool {
        let expected = self.confirmation(
            initiator: fromInitiator,
            pairingID: pairingID,
            initiatorShare: initiatorShare,
            responderShare: responderShare
        )
        return ConstantTime.equal(expected, tag)
    }
}
