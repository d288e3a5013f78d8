import Foundation
package import Primitives
import SwiftProtobuf

/// A system's identity key: Ed25519 (`key_type` 1), the only kind Polycentric v1 has.
package struct SystemKeyPair: Sendable {
    /// The RFC 8032 private key (32-byte seed).
    package let seed: SecretBytes
    /// The raw 32-byte public key.
    package let publicKey: [UInt8]

    /// The key pair of `seed`.
    package init(seed: SecretBytes) throws(PolycentricError) {
        guard seed.count == 32 else { throw PolycentricError(.unsupportedKey, "an Ed25519 seed is 32 bytes, not \(seed.count)") }
        do {
            self.publicKey = try SignatureAlgorithm.ed25519.publicKey(for: seed)
        } catch {
            throw PolycentricError(.unsupportedKey, "Ed25519 key derivation failed")
        }
        self.seed = seed
    }

    /// A fresh random key pair.
    package static func generate() -> SystemKeyPair {
        // A 32-byte seed is always a valid Ed25519 private key.
        try! SystemKeyPair(seed: SignatureAlgorithm.ed25519.generatePrivateKey())
    }

    /// The system as it appears on the wire.
    package var system: Userpackage_PublicKey { .ed25519(self.publicKey) }

    /// Ed25519 over exactly `bytes` (no prefix, context or pre-hash).
    package func sign(_ bytes: [UInt8]) -> [UInt8] {
        // Signing with a valid 32-byte seed cannot fail.
        try! SignatureAlgorithm.ed25519.sign(bytes, privateKey: self.seed)
    }
}

extension Userpackage_PublicKey {
    /// An Ed25519 system key from its 32 raw bytes.
    package static func ed25519(_ key: [UInt8]) -> Userpackage_PublicKey {
        var publicKey = Userpackage_PublicKey()
        publicKey.keyType = 1
        publicKey.key = Data(key)
        return publicKey
    }

    /// Checks key type 1 and a 32-byte key, as every upstream implementation does.
    package func validated() throws(PolycentricError) -> Userpackage_PublicKey {
        guard self.keyType == 1 else {
            throw PolycentricError(.unsupportedKey, "key_type \(self.keyType) (only 1, Ed25519, exists)")
        }
        guard self.key.count == 32 else {
            throw PolycentricError(.unsupportedKey, "an Ed25519 key is 32 bytes, not \(self.key.count)")
        }
        return self
    }

    /// Canonical id: standard base64 of the serialized `PublicKey` (`CAESI…`, 48 characters).
    package var id: String { Base64.encode(self.serialized, .standard) }

    /// The form used in query strings: URL-safe base64, no padding.
    package var queryID: String { Base64.encode(self.serialized, .urlSafe) }

    /// Parses either id form.
    package init(id: some StringProtocol) throws(PolycentricError) {
        guard let bytes = Base64.decode(id) else { throw PolycentricError(.badBase64, "system id is not base64") }
        do {
            self = try Userpackage_PublicKey(serializedBytes: bytes)
        } catch {
            throw PolycentricError(.malformed, "system id is not a PublicKey")
        }
        _ = try self.validated()
    }
}
