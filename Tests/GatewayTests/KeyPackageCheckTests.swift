import Gateway
import GatewayWire
import MLS
import Primitives
import SwiftProtobuf
import Testing

/// Upload validation of KeyPackages, without I/O.
@Suite struct KeyPackageCheckTests {
    let deviceKey = SignatureAlgorithm.ed25519.generatePrivateKey()
    let certificate: VerifiedDeviceCertificate

    init() throws {
        let system = SignatureAlgorithm.ed25519.generatePrivateKey()
        let signed = try VerifiedDeviceCertificate.issue(
            systemKey: system,
            deviceKey: try SignatureAlgorithm.ed25519.publicKey(for: self.deviceKey),
            deviceName: "phone",
            issuedAtMs: 0
        )
        self.certificate = try VerifiedDeviceCertificate(signed, nowMs: 1)
    }

    func keyPackage(
        suite: CipherSuite = .mls128DHKEMX25519AES128GCMSHA256Ed25519,
        signingKey: SecretBytes? = nil,
        identity: [UInt8]? = nil,
        lifetime: Lifetime = Lifetime(notBefore: 1_699_000_000, notAfter: 1_700_000_000 + 30 * 86_400)
    ) throws -> [UInt8] {
        let made = try KeyPackage.make(
            cipherSuite: suite,
            credential: .basic(identity: identity ?? (try self.certificate.signed.serializedBytes())),
            signingKey: signingKey ?? self.deviceKey,
            lifetime: lifetime
        )
        return MLSMessage.keyPackage(made.keyPackage).encoded
    }

    func code(_ bytes: [UInt8], nowMs: UInt64 = 1_700_000_000_000) -> ErrorCode? {
        do {
            _ = try KeyPackageCheck(device: self.certificate).check(bytes, nowMs: nowMs)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func acceptsTheDevicesOwnKeyPackage() throws {
        let bytes = try self.keyPackage()
        let accepted = try KeyPackageCheck(device: self.certificate).check(bytes, nowMs: 1_700_000_000_000)
        #expect(accepted.cipherSuite == 1)
        #expect(accepted.bytes == bytes)
        #expect(accepted.expiresAtMs == (1_700_000_000 + 30 * 86_400) * 1000)
        // Suite 3 signs with Ed25519 too.
        let chacha = try KeyPackageCheck(device: self.certificate).check(
            try self.keyPackage(suite: .mls128DHKEMX25519ChaCha20Poly1305SHA256Ed25519),
            nowMs: 1_700_000_000_000
        )
        #expect(chacha.cipherSuite == 3)
        // Exactly the maximum total lifetime is accepted.
        let longest = try KeyPackageCheck(device: self.certificate, maxLifetime: 86_400).check(
            try self.keyPackage(lifetime: Lifetime(notBefore: 1_700_000_000 - 3600, notAfter: 1_700_000_000 - 3600 + 86_400)),
            nowMs: 1_700_000_000_000
        )
        #expect(longest.expiresAtMs == (1_700_000_000 - 3600 + 86_400) * 1000)
    }

    /// RFC 9420 §7.2: the application sets a maximum total lifetime; the gateway's is configurable.
    @Test func refusesAKeyPackageLivingLongerThanTheMaximum() throws {
        // The whole range (what polychat used to publish) is refused at the default of 90 days …
        #expect(self.code(try self.keyPackage(lifetime: Lifetime(notBefore: 0, notAfter: UInt64.max))) == .badKeyPackage)
        // … and so is one second more than a configured maximum.
        let check = KeyPackageCheck(device: self.certificate, maxLifetime: 86_400)
        let tooLong = try self.keyPackage(
            lifetime: Lifetime(notBefore: 1_700_000_000 - 3600, notAfter: 1_700_000_000 - 3600 + 86_401)
        )
        do throws(GatewayWireError) {
            _ = try check.check(tooLong, nowMs: 1_700_000_000_000)
            Issue.record("a KeyPackage over the maximum lifetime was accepted")
        } catch {
            #expect(error.code == .badKeyPackage)
            #expect(error.message.contains("1 days at most"))
        }
        // A lifetime that ends before it begins is no lifetime.
        #expect(
            self.code(try self.keyPackage(lifetime: Lifetime(notBefore: 1_800_000_000, notAfter: 1_700_000_100)))
                == .badKeyPackage
        )
    }

    /// Device keys are Ed25519: only suites 1 and 3 can carry them, in uploads and in requests.
    @Test func acceptsOnlyTheSuitesADeviceKeyCanSign() throws {
        for suite: UInt32 in [1, 3] { #expect(throws: Never.self) { try KeyPackageCheck.checkSuite(suite) } }
        for suite: UInt32 in [0, 2, 4, 5, 6, 7, 8, 9, 0xFFFF] {
            #expect(throws: GatewayWireError.self) { try KeyPackageCheck.checkSuite(suite) }
        }
    }

    @Test func refusesEverythingElse() throws {
        #expect(self.code([0, 1, 2]) == .badKeyPackage)
        // Another device's key, or a credential that is not this device's certificate.
        #expect(self.code(try self.keyPackage(signingKey: SignatureAlgorithm.ed25519.generatePrivateKey())) == .badKeyPackage)
        #expect(self.code(try self.keyPackage(identity: Array("someone".utf8))) == .badKeyPackage)
        // Expired, not yet valid.
        #expect(self.code(try self.keyPackage(lifetime: Lifetime(notBefore: 0, notAfter: 1_600_000_000))) == .badKeyPackage)
        #expect(
            self.code(try self.keyPackage(lifetime: Lifetime(notBefore: 1_800_000_000, notAfter: 1_900_000_000)))
                == .badKeyPackage
        )
        // Any flipped byte in the signature region (the last 64 bytes) breaks it.
        let good = try self.keyPackage()
        for position in (good.count - 64)..<good.count {
            var tampered = good
            tampered[position] ^= 0x01
            #expect(self.code(tampered) == .badKeyPackage)
        }
    }
}
