import Foundation
package import Noise
package import Primitives

/// The gateway's static X25519 keys for sealed sessions (ADR 0025), as a value: the newest is
/// the current one, offered to clients that do not know the gateway yet; a key replaced by
/// `polygated rotate-keys` stays accepted until its `retiresMs`, then it is dropped.
package struct GatewayKeyRing: Sendable {
    package struct Key: Sendable {
        package let pair: NoiseKeyPair
        package let createdMs: UInt64
        /// When the key stops being accepted (nil: the current key, not replaced yet).
        package var retiresMs: UInt64?

        package var publicKey: [UInt8] { self.pair.publicKey }
        /// The public key in hex: what operators compare and clients pin.
        package var hex: String { Hex.encode(self.pair.publicKey) }
    }

    /// Oldest first; the last is the current key.
    package private(set) var keys: [Key]

    /// The sealed-session protocol (docs/GATEWAY_SPEC.md §14).
    package static let noise = try! NoiseProtocol(name: Self.protocolName)
    package static let protocolName = "Noise_NK_25519_ChaChaPoly_SHA256"

    /// A ring with one new key.
    package static func generate(nowMs: UInt64) -> GatewayKeyRing {
        GatewayKeyRing(keys: [Key(pair: Self.noise.dh.generateKeyPair(), createdMs: nowMs, retiresMs: nil)])
    }

    init(keys: [Key]) { self.keys = keys }

    package var current: Key { self.keys[self.keys.count - 1] }

    /// The keys a client may use at `nowMs`, newest first.
    package func accepted(nowMs: UInt64) -> [Key] {
        self.keys.filter { ($0.retiresMs ?? .max) > nowMs }.reversed()
    }

    /// Adds a new current key; the keys in force now are accepted for `overlap` more, then
    /// retire. Keys already retired are dropped.
    package mutating func rotate(nowMs: UInt64, overlap: Duration) {
        self.prune(nowMs: nowMs)
        let until = nowMs + UInt64(max(0, overlap.milliseconds))
        for index in self.keys.indices where self.keys[index].retiresMs.map({ $0 > until }) ?? true {
            self.keys[index].retiresMs = until
        }
        self.keys.append(Key(pair: Self.noise.dh.generateKeyPair(), createdMs: nowMs, retiresMs: nil))
    }

    /// Drops the keys retired by `nowMs`; whether any was.
    @discardableResult
    package mutating func prune(nowMs: UInt64) -> Bool {
        let before = self.keys.count
        self.keys.removeAll { ($0.retiresMs ?? .max) <= nowMs }
        return self.keys.count != before
    }

    // MARK: The file

    struct Stored: Codable {
        struct StoredKey: Codable {
            var `public`: String
            var `private`: String
            var created_ms: UInt64
            var retires_ms: UInt64?
        }

        var version: Int
        var keys: [StoredKey]
    }

    /// The file's text: JSON, version 1, the private keys in hex (the file is the daemon's
    /// alone: mode 0600).
    package var fileText: String {
        let stored = Stored(
            version: 1,
            keys: self.keys.map {
                Stored.StoredKey(
                    public: $0.hex,
                    private: Hex.encode($0.pair.privateKey.bytes),
                    created_ms: $0.createdMs,
                    retires_ms: $0.retiresMs
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(stored)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// Reads a key file's text.
    ///
    /// - Throws: ``GatewayKeyRingError`` saying what is wrong (never a key).
    package init(fileText: String) throws(GatewayKeyRingError) {
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(fileText.utf8)) else {
            throw GatewayKeyRingError("not a key file of polygated (JSON with \"version\" and \"keys\")")
        }
        guard stored.version == 1 else { throw GatewayKeyRingError("version \(stored.version) is not known to this polygated") }
        guard !stored.keys.isEmpty else { throw GatewayKeyRingError("it holds no key") }
        var keys: [Key] = []
        for (index, key) in stored.keys.enumerated() {
            guard let privateKey = Hex.decode(key.private), privateKey.count == 32,
                let pair = try? Self.noise.dh.keyPair(privateKey: SecretBytes(privateKey))
            else { throw GatewayKeyRingError("key \(index + 1): the private key is not 32 bytes of hex") }
            guard Hex.encode(pair.publicKey) == key.public.lowercased() else {
                throw GatewayKeyRingError("key \(index + 1): the public key is not the private key's")
            }
            keys.append(Key(pair: pair, createdMs: key.created_ms, retiresMs: key.retires_ms))
        }
        self.keys = keys.sorted { $0.createdMs < $1.createdMs }
    }
}

/// A key file that cannot be used: what is wrong, never key material.
package struct GatewayKeyRingError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
