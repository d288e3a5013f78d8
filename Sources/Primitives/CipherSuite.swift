/// An MLS cipher suite (RFC 9420 §17.1): one value selects the HPKE suite, the hash, the AEAD
/// and the signature scheme. All seven registered suites are supported.
package struct CipherSuite: Sendable, Hashable, CustomStringConvertible {
    /// The registered code point.
    package let id: UInt16
    package let hpke: HPKE.Suite
    package let signature: SignatureAlgorithm
    package let name: String

    private init(
        _ id: UInt16,
        _ name: String,
        _ kem: HPKE.KEM,
        _ kdf: HPKE.KDF,
        _ aead: HPKE.AEAD,
        _ signature: SignatureAlgorithm
    ) {
        self.id = id
        self.name = name
        self.hpke = HPKE.Suite(kem: kem, kdf: kdf, aead: aead)
        self.signature = signature
    }

    package static let mls128DHKEMX25519AES128GCMSHA256Ed25519 = CipherSuite(
        1,
        "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
        .dhkemX25519HKDFSHA256,
        .hkdfSHA256,
        .aes128GCM,
        .ed25519
    )
    package static let mls128DHKEMP256AES128GCMSHA256P256 = CipherSuite(
        2,
        "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
        .dhkemP256HKDFSHA256,
        .hkdfSHA256,
        .aes128GCM,
        .ecdsaP256SHA256
    )
    package static let mls128DHKEMX25519ChaCha20Poly1305SHA256Ed25519 = CipherSuite(
        3,
        "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
        .dhkemX25519HKDFSHA256,
        .hkdfSHA256,
        .chacha20Poly1305,
        .ed25519
    )
    package static let mls256DHKEMX448AES256GCMSHA512Ed448 = CipherSuite(
        4,
        "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
        .dhkemX448HKDFSHA512,
        .hkdfSHA512,
        .aes256GCM,
        .ed448
    )
    package static let mls256DHKEMP521AES256GCMSHA512P521 = CipherSuite(
        5,
        "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
        .dhkemP521HKDFSHA512,
        .hkdfSHA512,
        .aes256GCM,
        .ecdsaP521SHA512
    )
    package static let mls256DHKEMX448ChaCha20Poly1305SHA512Ed448 = CipherSuite(
        6,
        "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
        .dhkemX448HKDFSHA512,
        .hkdfSHA512,
        .chacha20Poly1305,
        .ed448
    )
    package static let mls256DHKEMP384AES256GCMSHA384P384 = CipherSuite(
        7,
        "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
        .dhkemP384HKDFSHA384,
        .hkdfSHA384,
        .aes256GCM,
        .ecdsaP384SHA384
    )

    /// Suites 1–7 in order.
    package static let all: [CipherSuite] = [
        .mls128DHKEMX25519AES128GCMSHA256Ed25519, .mls128DHKEMP256AES128GCMSHA256P256,
        .mls128DHKEMX25519ChaCha20Poly1305SHA256Ed25519, .mls256DHKEMX448AES256GCMSHA512Ed448,
        .mls256DHKEMP521AES256GCMSHA512P521, .mls256DHKEMX448ChaCha20Poly1305SHA512Ed448,
        .mls256DHKEMP384AES256GCMSHA384P384,
    ]

    /// The suite with code point `id`, or nil when it is not one of 1–7.
    package init?(id: UInt16) {
        guard let suite = Self.all.first(where: { $0.id == id }) else { return nil }
        self = suite
    }

    /// The hash function (and KDF) of the suite.
    package var hash: HashFunction { self.hpke.kdf.hash }
    /// The AEAD of the suite (never export-only).
    package var aead: AEADAlgorithm { self.hpke.aead.algorithm! }
    /// Hash output length (Nh), also the length of every MLS secret.
    package var secretSize: Int { self.hash.outputSize }

    package var description: String { "\(self.name) (0x\(String(self.id, radix: 16)))" }
}
