import Foundation
import Primitives

/// The `polygate-identity` file: an identity in the form the web client keeps and imports
/// (polygate(7), WEB CLIENT; ADR 0028). JSON, so that a browser opens it with WebCrypto alone:
/// the passphrase through PBKDF2-HMAC-SHA-256 (600,000 iterations, 16-byte salt) to an
/// AES-256-GCM key, which seals Polycentric's `ExportBundle` (12-byte nonce, associated data
/// `polygate-identity v1`). polychat writes it with `identity export --web` and reads it with
/// `init --import`, beside its own `PCX2` exports.
package enum WebIdentityFile {
    /// The envelope (every byte field standard base64).
    struct Envelope: Codable {
        var format = "polygate-identity"
        var version = 1
        /// The Ed25519 public key in hex: which identity it is, readable without the passphrase.
        var publicKey: String
        var kdf = "PBKDF2-SHA256"
        var iterations: Int
        var salt: String
        var cipher = "AES-256-GCM"
        var nonce: String
        var sealed: String
    }

    /// What new files use (OWASP's figure for PBKDF2-HMAC-SHA-256).
    package static let iterations = 600_000
    /// Fewer is refused when reading: a file that cheap to attack was not made by polygate.
    static let minimumIterations = 100_000
    static let associatedData = Array("polygate-identity v1".utf8)

    /// The AES-256-GCM key of a passphrase.
    static func key(_ passphrase: String, _ salt: [UInt8], _ iterations: Int) throws(PrimitivesError) -> [UInt8] {
        try PBKDF2.sha256(password: Array(passphrase.utf8), salt: salt, iterations: iterations, length: 32).bytes
    }

    /// Whether `bytes` look like this format (a JSON object) rather than a `PCX` export.
    package static func matches(_ bytes: [UInt8]) -> Bool {
        bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "{")
    }

    /// The file for `bundle` (a serialized ExportBundle whose key is `publicKey`).
    package static func seal(
        bundle: [UInt8],
        publicKey: [UInt8],
        passphrase: String,
        iterations: Int = Self.iterations
    ) throws(ChatError) -> [UInt8] {
        let salt = SecureRandom.bytes(count: 16)
        let nonce = SecureRandom.bytes(count: 12)
        let sealed: [UInt8]
        do {
            sealed = try AEADAlgorithm.aes256GCM.seal(
                key: try Self.key(passphrase, salt, iterations),
                nonce: nonce,
                associatedData: Self.associatedData,
                plaintext: bundle
            )
        } catch {
            throw ChatError(.io, "cannot seal the identity file (\(error.code))")
        }
        let envelope = Envelope(
            publicKey: Hex.encode(publicKey),
            iterations: iterations,
            salt: Base64.encode(salt, .standard),
            nonce: Base64.encode(nonce, .standard),
            sealed: Base64.encode(sealed, .standard)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let json = try? encoder.encode(envelope) else { throw ChatError(.io, "cannot encode the identity file") }
        return [UInt8](json) + [0x0A]
    }

    /// The ExportBundle in a file made by ``seal(bundle:publicKey:passphrase:iterations:)`` or by
    /// the web client.
    ///
    /// - Throws: ``ChatError`` `bad_argument` for a file of another format or with parameters
    ///   this version does not use, `bad_state` for a wrong passphrase or a damaged file.
    package static func open(_ bytes: [UInt8], passphrase: String) throws(ChatError) -> [UInt8] {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)),
            envelope.format == "polygate-identity"
        else {
            throw ChatError(.badArgument, "not a polygate identity file (a JSON file with \"format\": \"polygate-identity\")")
        }
        guard envelope.version == 1, envelope.kdf == "PBKDF2-SHA256", envelope.cipher == "AES-256-GCM",
            (Self.minimumIterations...10_000_000).contains(envelope.iterations)
        else {
            throw ChatError(
                .badArgument,
                "this identity file uses version \(envelope.version), \(envelope.kdf) with \(envelope.iterations) iterations and \(envelope.cipher): this polychat reads version 1, PBKDF2-SHA256 (100,000 to 10,000,000 iterations) and AES-256-GCM"
            )
        }
        guard let salt = Base64.decode(envelope.salt), let nonce = Base64.decode(envelope.nonce), nonce.count == 12,
            let sealed = Base64.decode(envelope.sealed)
        else {
            throw ChatError(
                .badState,
                "the identity file is damaged (its salt, nonce or sealed field is not base64 of the right size)"
            )
        }
        do {
            return try AEADAlgorithm.aes256GCM.open(
                key: try Self.key(passphrase, salt, envelope.iterations),
                nonce: nonce,
                associatedData: Self.associatedData,
                ciphertext: sealed
            )
        } catch {
            throw ChatError(.badState, "wrong passphrase, or the identity file is damaged")
        }
    }
}
