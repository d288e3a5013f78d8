internal import Crypto
import FoundationEssentials

/// X25519 public keys through BoringSSL (swift-crypto). BoringSSL multiplies the base point with
/// the Ed25519 precomputed table and maps the result to Montgomery form: 12.7 µs here, against
/// 27.9 µs for libsodium 1.0.18's ladder (ADR 0027). Every key generation and HPKE encapsulation
/// does one. The shared-secret ladder stays in libsodium (the two are equal there).
enum X25519Base {
    /// `X25519(privateKey, 9)`, or nil when BoringSSL refuses the key (only a wrong length).
    static func publicKey(_ privateKey: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey) else { return nil }
        return [UInt8](key.publicKey.rawRepresentation)
    }
}
