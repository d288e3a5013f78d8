import Primitives
import Testing

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

@Suite struct HashAndKDFTests {
    @Test(arguments: [
        (HashFunction.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (
            .sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
    ])
    func shaOfABCIsTheFIPSValue(hash: HashFunction, digest: String) {
        #expect(Hex.encode(hash.hash(Array("abc".utf8))) == digest)
        #expect(hash.hash([]).count == hash.outputSize)
    }

    /// RFC 4231 test case 2 ("Jefe").
    @Test func hmacMatchesRFC4231() {
        let key = Array("Jefe".utf8)
        let message = Array("what do ya want for nothing?".utf8)
        #expect(
            Hex.encode(HashFunction.sha256.hmac(key: key, message: message))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        #expect(
            Hex.encode(HashFunction.sha512.hmac(key: key, message: message))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
    }

    /// RFC 4231 test case 2 for SHA-384 and test case 6 (a 131-byte key, hashed first) for all
    /// three; then keys of exactly one block and an empty message (values from Python's hmac).
    /// The HMAC is polygate's own over libcrypto's SHA-2 (COpenSSL shim), so every edge counts.
    @Test func hmacEdgesMatchRFC4231AndPython() {
        let jefe = HashFunction.sha384.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(
            Hex.encode(jefe)
                == "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
        )
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        let message = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        let expected: [(HashFunction, String)] = [
            (.sha256, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (.sha384, "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"),
            (
                .sha512,
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
            ),
        ]
        for (hash, mac) in expected {
            #expect(Hex.encode(hash.hmac(key: longKey, message: message)) == mac, "\(hash)")
            #expect(Hex.encode(hash.hmac(key: SecretBytes(longKey), message: message)) == mac, "\(hash), secret key")
        }
        let blockKey384 = HashFunction.sha384.hmac(
            key: [UInt8](repeating: 0x0b, count: 128),
            message: [UInt8](repeating: 0x78, count: 200)
        )
        #expect(
            Hex.encode(blockKey384)
                == "d2505531302879a2f5a6540d57c2d0b4936296f1dda75a567cd23a449bbb696b4be8d1b7db3063e891794be759443d0a"
        )
        #expect(
            Hex.encode(HashFunction.sha256.hmac(key: [UInt8](repeating: 0x0b, count: 64), message: []))
                == "75c2e15a41527bb3a793d864734d4e49cb8dc405cdf2b2ff6a44169afa1c5dee"
        )
    }

    /// RFC 5869 A.1 and A.3 (empty salt and info).
    @Test func hkdfMatchesRFC5869() throws {
        let hkdf = HKDF(hash: .sha256)
        let prk = hkdf.extract(salt: hex("000102030405060708090a0b0c"), ikm: [UInt8](repeating: 0x0b, count: 22))
        #expect(Hex.encode(prk) == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        let okm = try hkdf.expand(prk: prk, info: hex("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(Hex.encode(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        let prk3 = hkdf.extract(salt: [], ikm: [UInt8](repeating: 0x0b, count: 22))
        #expect(Hex.encode(prk3) == "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04")
        #expect(
            Hex.encode(try hkdf.expand(prk: prk3, info: [], length: 42))
                == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        )
        #expect(throws: PrimitivesError.self) { try hkdf.expand(prk: prk3, info: [], length: 255 * 32 + 1) }
    }
}

@Suite struct AEADTests {
    @Test(arguments: AEADAlgorithm.allCases)
    func sealOpenRoundTripAndEveryTamperingFails(aead: AEADAlgorithm) throws {
        let key = SecureRandom.bytes(count: aead.keySize)
        let nonce = SecureRandom.bytes(count: aead.nonceSize)
        let aad = Array("header".utf8)
        for plaintext in [[], Array("hello".utf8), [UInt8](repeating: 7, count: 10_000)] {
            let ciphertext = try aead.seal(key: key, nonce: nonce, associatedData: aad, plaintext: plaintext)
            #expect(ciphertext.count == plaintext.count + aead.tagSize)
            #expect(try aead.open(key: key, nonce: nonce, associatedData: aad, ciphertext: ciphertext) == plaintext)

            var flipped = ciphertext
            flipped[flipped.count / 2] ^= 0x01
            let tampered = #expect(throws: PrimitivesError.self) {
                try aead.open(key: key, nonce: nonce, associatedData: aad, ciphertext: flipped)
            }
            #expect(tampered?.code == .authenticationFailure)
            #expect(throws: PrimitivesError.self) {
                try aead.open(key: key, nonce: nonce, associatedData: aad + [0], ciphertext: ciphertext)
            }
            var otherNonce = nonce
            otherNonce[0] ^= 0x80
            #expect(throws: PrimitivesError.self) {
                try aead.open(key: key, nonce: otherNonce, associatedData: aad, ciphertext: ciphertext)
            }
            #expect(throws: PrimitivesError.self) {
                try aead.open(key: key, nonce: nonce, associatedData: aad, ciphertext: Array(ciphertext.dropLast()))
            }
        }
        let badKey = #expect(throws: PrimitivesError.self) {
            try aead.seal(key: [1, 2, 3], nonce: nonce, associatedData: [], plaintext: [])
        }
        #expect(badKey?.code == .invalidKey)
        #expect(throws: PrimitivesError.self) { try aead.seal(key: key, nonce: [0], associatedData: [], plaintext: []) }
    }
}

@Suite struct DHTests {
    /// RFC 7748 §6.1.
    @Test func x25519MatchesRFC7748() throws {
        let alice = SecretBytes(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = SecretBytes(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(
            Hex.encode(try DHGroup.x25519.publicKey(for: alice))
                == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        )
        let bobPublic = try DHGroup.x25519.publicKey(for: bob)
        #expect(Hex.encode(bobPublic) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        #expect(
            Hex.encode(try DHGroup.x25519.sharedSecret(privateKey: alice, publicKey: bobPublic).bytes)
                == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        )
    }

    @Test(arguments: DHGroup.allCases)
    func bothSidesAgreeAndBadPeerKeysAreRefused(group: DHGroup) throws {
        let a = group.generatePrivateKey()
        let b = group.generatePrivateKey()
        let aPublic = try group.publicKey(for: a)
        let bPublic = try group.publicKey(for: b)
        #expect(aPublic.count == group.publicKeySize)
        let ab = try group.sharedSecret(privateKey: a, publicKey: bPublic)
        #expect(ab == (try group.sharedSecret(privateKey: b, publicKey: aPublic)))
        #expect(ab.count == group.sharedSecretSize)
        // The identity / a zero point is refused, as is a truncated key.
        let zero = [UInt8](repeating: 0, count: group.publicKeySize)
        let refused = #expect(throws: PrimitivesError.self) { try group.sharedSecret(privateKey: a, publicKey: zero) }
        #expect(refused?.code == .invalidPublicKey)
        #expect(throws: PrimitivesError.self) { try group.sharedSecret(privateKey: a, publicKey: Array(bPublic.dropLast())) }
        if group == .p256 || group == .p384 || group == .p521 {
            var offCurve = bPublic
            offCurve[offCurve.count - 1] ^= 0x01
            #expect(throws: PrimitivesError.self) { try group.validatePublicKey(offCurve) }
            // Scalars of zero or at least the group order are not private keys.
            #expect(!group.isValidPrivateKey([UInt8](repeating: 0, count: group.privateKeySize)))
            #expect(!group.isValidPrivateKey([UInt8](repeating: 0xFF, count: group.privateKeySize)))
        }
    }
}

@Suite struct SignatureTests {
    /// RFC 8032 §7.1, test 1 (empty message): Ed25519 is deterministic.
    @Test func ed25519MatchesRFC8032() throws {
        let seed = SecretBytes(hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let publicKey = try SignatureAlgorithm.ed25519.publicKey(for: seed)
        #expect(Hex.encode(publicKey) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try SignatureAlgorithm.ed25519.sign([], privateKey: seed)
        #expect(
            Hex.encode(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func signVerifyAndEveryForgeryFails(algorithm: SignatureAlgorithm) throws {
        let key = algorithm.generatePrivateKey()
        let publicKey = try algorithm.publicKey(for: key)
        #expect(publicKey.count == algorithm.publicKeySize)
        let message = Array("the commit for epoch 7".utf8)
        let signature = try algorithm.sign(message, privateKey: key)
        #expect(algorithm.verify(signature, message: message, publicKey: publicKey))
        #expect(!algorithm.verify(signature, message: message + [0], publicKey: publicKey))
        var forged = signature
        forged[forged.count / 2] ^= 0x04
        #expect(!algorithm.verify(forged, message: message, publicKey: publicKey))
        let other = try algorithm.publicKey(for: algorithm.generatePrivateKey())
        #expect(!algorithm.verify(signature, message: message, publicKey: other))
        #expect(!algorithm.verify([], message: message, publicKey: publicKey))
        #expect(!algorithm.verify(signature, message: message, publicKey: [0x04]))
        if algorithm != .ed25519 && algorithm != .ed448 {
            #expect(signature.first == 0x30)  // DER SEQUENCE, as MLS requires for ECDSA
        }
    }
}

@Suite struct CipherSuiteTests {
    @Test func allSevenSuitesMapToTheirPrimitives() throws {
        #expect(CipherSuite.all.map(\.id) == [1, 2, 3, 4, 5, 6, 7])
        let four = try #require(CipherSuite(id: 4))
        #expect(four.hpke.kem == .dhkemX448HKDFSHA512)
        #expect(four.hash == .sha512)
        #expect(four.aead == .aes256GCM)
        #expect(four.signature == .ed448)
        let seven = try #require(CipherSuite(id: 7))
        #expect(seven.hpke.kem == .dhkemP384HKDFSHA384)
        #expect(seven.hash == .sha384)
        #expect(seven.secretSize == 48)
        #expect(CipherSuite(id: 0) == nil)
        #expect(CipherSuite(id: 8) == nil)
    }

    @Test(arguments: CipherSuite.all)
    func hpkeRoundTripsInEverySuite(suite: CipherSuite) throws {
        let (privateKey, publicKey) = try suite.hpke.kem.generateKeyPair()
        let (enc, ciphertext) = try HPKE.seal(
            suite: suite.hpke,
            recipientKey: publicKey,
            info: [1],
            associatedData: [2],
            plaintext: Array("group secrets".utf8)
        )
        #expect(
            try HPKE.open(
                suite: suite.hpke,
                encapsulatedKey: enc,
                recipientKey: privateKey,
                info: [1],
                associatedData: [2],
                ciphertext: ciphertext
            )
                == Array("group secrets".utf8)
        )
        #expect(throws: PrimitivesError.self) {
            try HPKE.open(
                suite: suite.hpke,
                encapsulatedKey: enc,
                recipientKey: privateKey,
                info: [9],
                associatedData: [2],
                ciphertext: ciphertext
            )
        }
    }
}

@Suite struct SecretBytesTests {
    @Test func neverPrintsItsContentsAndComparesByValue() {
        let secret = SecretBytes([0xde, 0xad, 0xbe, 0xef])
        #expect("\(secret)" == "SecretBytes(4 bytes)")
        #expect(String(reflecting: secret) == "SecretBytes(4 bytes)")
        #expect(secret == SecretBytes([0xde, 0xad, 0xbe, 0xef]))
        #expect(secret != SecretBytes([0xde, 0xad, 0xbe, 0xee]))
        #expect(secret != SecretBytes([0xde, 0xad, 0xbe]))
        #expect(SecretBytes.random(count: 32) != SecretBytes.random(count: 32))
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("ABcd") == [0xab, 0xcd])
    }
}

/// Argon2id against an independent implementation (argon2-cffi, `hash_secret_raw`, type ID,
/// version 19, t = 2, m = 65536 KiB, p = 1, 32 bytes).
@Suite struct PasswordHashTests {
    @Test func matchesAnIndependentImplementation() throws {
        let key = try PasswordHash.argon2id(passphrase: Array("correct horse battery staple".utf8), salt: Array(0..<16))
        #expect(Hex.encode(key.bytes) == "c05ce4c4dd7e0e45ee6011cc59d068ade47df1b01fc0cf9cd4678bdf68a5b7b0")
        let empty = try PasswordHash.argon2id(passphrase: [UInt8](), salt: [UInt8](repeating: 0xFF, count: 16))
        #expect(Hex.encode(empty.bytes) == "7bebb6247b68d41bbe661ad3124c5082bebe7d5657179612fc37e5362cb6a230")
        #expect(throws: PrimitivesError.self) { try PasswordHash.argon2id(passphrase: [1], salt: [1, 2, 3]) }
    }
}
