import GatewayWire
import Primitives

/// The sealed identity of a pairing (docs/GATEWAY_SPEC.md §12.4): the export's plaintext under
/// ChaCha20-Poly1305 with the pairing's transfer key (used once, so the nonce is zero), the
/// pairing id as associated data.
enum PairingTransfer {
    static let label = Array("polygate pairing transfer v1".utf8)

    static func seal(_ plaintext: [UInt8], keys: PairingKeys, pairingID: [UInt8]) throws(ChatError) -> [UInt8] {
        do {
            return try AEADAlgorithm.chacha20Poly1305.seal(
                key: keys.transfer.bytes,
                nonce: [UInt8](repeating: 0, count: 12),
                associatedData: Self.label + pairingID,
                plaintext: plaintext
            )
        } catch {
            throw ChatError(.badState, "cannot seal the identity: \(error)")
        }
    }

    static func open(_ sealed: [UInt8], keys: PairingKeys, pairingID: [UInt8]) throws(ChatError) -> [UInt8] {
        do {
            return try AEADAlgorithm.chacha20Poly1305.open(
                key: keys.transfer.bytes,
                nonce: [UInt8](repeating: 0, count: 12),
                associatedData: Self.label + pairingID,
                ciphertext: sealed
            )
        } catch {
            throw ChatError(
                .refused,
                "the identity that arrived does not open with this pairing's key (altered on the way?): nothing was stored"
            )
        }
    }
}
