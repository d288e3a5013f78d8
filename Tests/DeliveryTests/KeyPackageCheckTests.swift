import Delivery
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
        lifetime: Lifetime = Lifetime(notBefore: 0, notAfter: UInt64.max)
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
        #expect(accepted.expiresAtMs == Int64.max)
        let short = try KeyPackageCheck(device: self.certificate).check(
            try self.keyPackage(lifetime: Lifetime(notBefore: 0, notAfter: 1_800_000_000)),
            nowMs: 1_700_000_000_000
        )
        #expect(short.expiresAtMs == 1_800_000_000_000)
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
