/// Hybrid Public Key Encryption (RFC 9180): DHKEM over the five curves, HKDF-SHA256/384/512,
/// AES-128/256-GCM, ChaCha20-Poly1305 and export-only; base, PSK, auth and auth-PSK modes.
package enum HPKE {
    /// The mode byte of the key schedule.
    package enum Mode: UInt8, Sendable, Hashable {
        case base = 0x00
        case psk = 0x01
        case auth = 0x02
        case authPSK = 0x03
    }

    /// KEM identifiers (RFC 9180 §7.1).
    package enum KEM: UInt16, Sendable, Hashable, CaseIterable {
        case dhkemP256HKDFSHA256 = 0x0010
        case dhkemP384HKDFSHA384 = 0x0011
        case dhkemP521HKDFSHA512 = 0x0012
        case dhkemX25519HKDFSHA256 = 0x0020
        case dhkemX448HKDFSHA512 = 0x0021

        package var group: DHGroup {
            switch self {
            case .dhkemP256HKDFSHA256: .p256
            case .dhkemP384HKDFSHA384: .p384
            case .dhkemP521HKDFSHA512: .p521
            case .dhkemX25519HKDFSHA256: .x25519
            case .dhkemX448HKDFSHA512: .x448
            }
        }

        /// The KDF of the KEM itself.
        var hash: HashFunction {
            switch self {
            case .dhkemP256HKDFSHA256, .dhkemX25519HKDFSHA256: .sha256
            case .dhkemP384HKDFSHA384: .sha384
            case .dhkemP521HKDFSHA512, .dhkemX448HKDFSHA512: .sha512
            }
        }

        /// Length of the KEM shared secret (Nsecret).
        package var sharedSecretSize: Int { self.hash.outputSize }
        /// Length of the encapsulated key (Nenc).
        package var encapsulatedKeySize: Int { self.group.publicKeySize }

        /// "KEM" || I2OSP(kem_id, 2).
        var suiteID: [UInt8] { Array("KEM".utf8) + bigEndian(self.rawValue) }
    }

    /// KDF identifiers.
    package enum KDF: UInt16, Sendable, Hashable, CaseIterable {
        case hkdfSHA256 = 0x0001
        case hkdfSHA384 = 0x0002
        case hkdfSHA512 = 0x0003

        package var hash: HashFunction {
            switch self {
            case .hkdfSHA256: .sha256
            case .hkdfSHA384: .sha384
            case .hkdfSHA512: .sha512
            }
        }
    }

    /// AEAD identifiers; `exportOnly` gives a context that can only export secrets.
    package enum AEAD: UInt16, Sendable, Hashable, CaseIterable {
        case aes128GCM = 0x0001
        case aes256GCM = 0x0002
        case chacha20Poly1305 = 0x0003
        case exportOnly = 0xFFFF

        package var algorithm: AEADAlgorithm? {
            switch self {
            case .aes128GCM: .aes128GCM
            case .aes256GCM: .aes256GCM
            case .chacha20Poly1305: .chacha20Poly1305
            case .exportOnly: nil
            }
        }
    }

    /// A KEM, KDF and AEAD together.
    package struct Suite: Sendable, Hashable {
        package var kem: KEM
        package var kdf: KDF
        package var aead: AEAD

        package init(kem: KEM, kdf: KDF, aead: AEAD) {
            self.kem = kem
            self.kdf = kdf
            self.aead = aead
        }

        /// "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).
        var suiteID: [UInt8] {
            Array("HPKE".utf8) + bigEndian(self.kem.rawValue) + bigEndian(self.kdf.rawValue) + bigEndian(self.aead.rawValue)
        }
    }
}

// MARK: - Labeled KDF (RFC 9180 §4)

/// `LabeledExtract` and `LabeledExpand` with a given suite id.
struct LabeledKDF {
    let hkdf: HKDF
    let suiteID: [UInt8]
    private static let version = Array("HPKE-v1".utf8)

    init(hash: HashFunction, suiteID: [UInt8]) {
        self.hkdf = HKDF(hash: hash)
        self.suiteID = suiteID
    }

    func extract(salt: [UInt8], label: String, ikm: [UInt8]) -> [UInt8] {
        self.hkdf.extract(salt: salt, ikm: Self.version + self.suiteID + Array(label.utf8) + ikm)
    }

    func expand(prk: [UInt8], label: String, info: [UInt8], length: Int) throws(PrimitivesError) -> [UInt8] {
        guard length <= 0xFFFF else { throw PrimitivesError(.invalidLength, "HPKE LabeledExpand") }
        return try self.hkdf.expand(
            prk: prk,
            info: bigEndian(UInt16(length)) + Self.version + self.suiteID + Array(label.utf8) + info,
            length: length
        )
    }
}

/// I2OSP for 16-bit values.
func bigEndian(_ value: UInt16) -> [UInt8] {
    [UInt8(value >> 8), UInt8(value & 0xFF)]
}
