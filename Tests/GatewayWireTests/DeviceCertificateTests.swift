import Foundation
import GatewayWire
import Primitives
import SwiftProtobuf
import Testing

@Suite struct DeviceCertificateTests {
    let systemKey = SignatureAlgorithm.ed25519.generatePrivateKey()
    let deviceKey = SignatureAlgorithm.ed25519.generatePrivateKey()
    var devicePublic: [UInt8] { try! SignatureAlgorithm.ed25519.publicKey(for: self.deviceKey) }

    func issue(
        name: String = "laptop",
        issued: UInt64 = 1_000,
        expires: UInt64 = 0
    ) throws -> Polygate_Gateway_V1_SignedDeviceCertificate {
        try VerifiedDeviceCertificate.issue(
            systemKey: self.systemKey,
            deviceKey: self.devicePublic,
            deviceName: name,
            issuedAtMs: issued,
            expiresAtMs: expires
        )
    }

    static func expectCode(_ code: ErrorCode, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(code)", sourceLocation: sourceLocation)
        } catch let error as GatewayWireError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func issuedCertificatesVerify() throws {
        let signed = try self.issue(expires: 10_000)
        let verified = try VerifiedDeviceCertificate(signed, nowMs: 5_000)
        #expect(verified.userID == UserID(try SignatureAlgorithm.ed25519.publicKey(for: self.systemKey)))
        #expect(verified.deviceID == DeviceID(self.devicePublic))
        #expect(verified.deviceName == "laptop")
        #expect(verified.expiresAtMs == 10_000)
        // The signature covers the label, so the bare bytes signed by the same key do not pass.
        var bare = signed
        bare.signature = Data(try SignatureAlgorithm.ed25519.sign([UInt8](signed.certificate), privateKey: self.systemKey))
        Self.expectCode(.badCertificate) { _ = try VerifiedDeviceCertificate(bare, nowMs: 5_000) }
    }

    @Test func everyRefusal() throws {
        Self.expectCode(.badCertificate) { _ = try VerifiedDeviceCertificate(try self.issue(expires: 2_000), nowMs: 2_000) }
        Self.expectCode(.badCertificate) {
            _ = try VerifiedDeviceCertificate(
                try self.issue(issued: 1_000_000),
                nowMs: 1_000_000 - VerifiedDeviceCertificate.maxSkewMs - 1
            )
        }
        #expect(throws: Never.self) {
            _ = try VerifiedDeviceCertificate(
                try self.issue(issued: 1_000_000),
                nowMs: 1_000_000 - VerifiedDeviceCertificate.maxSkewMs
            )
        }
        Self.expectCode(.badCertificate) {
            _ = try VerifiedDeviceCertificate(try self.issue(name: String(repeating: "x", count: 65)), nowMs: 0)
        }
        // Signed by someone else's system key but naming ours.
        var forged = try self.issue()
        let other = SignatureAlgorithm.ed25519.generatePrivateKey()
        forged.signature = Data(
            try SignatureAlgorithm.ed25519.sign(VerifiedDeviceCertificate.label + [UInt8](forged.certificate), privateKey: other)
        )
        Self.expectCode(.badCertificate) { _ = try VerifiedDeviceCertificate(forged, nowMs: 1_000) }
        // Any flipped byte of the certificate.
        let good = try self.issue()
        for position in 0..<good.certificate.count {
            var tampered = good
            var bytes = [UInt8](good.certificate)
            bytes[position] ^= 0x04
            tampered.certificate = Data(bytes)
            Self.expectCode(.badCertificate) { _ = try VerifiedDeviceCertificate(tampered, nowMs: 1_000) }
        }
        var garbage = good
        garbage.certificate = Data([0xFF, 0xFF])
        Self.expectCode(.badCertificate) { _ = try VerifiedDeviceCertificate(garbage, nowMs: 1_000) }
    }

    @Test func handshakeSignaturesAreBoundToGatewayAndNonce() throws {
        let nonce = SecureRandom.bytes(count: 32)
        let transcript = Handshake.authenticationTranscript(gatewayID: "gw_a", nonce: nonce)
        #expect(transcript == Array("polygate auth v1".utf8) + [0] + Array("gw_a".utf8) + [0] + nonce)
        let signature = try Handshake.sign(transcript, deviceKey: self.deviceKey)
        try Handshake.verify(signature, transcript: transcript, deviceID: DeviceID(self.devicePublic))
        Self.expectCode(.badSignature) {
            try Handshake.verify(
                signature,
                transcript: Handshake.authenticationTranscript(gatewayID: "gw_b", nonce: nonce),
                deviceID: DeviceID(self.devicePublic)
            )
        }
        Self.expectCode(.badSignature) {
            let fresh = SecureRandom.bytes(count: 32)
            try Handshake.verify(
                signature,
                transcript: Handshake.authenticationTranscript(gatewayID: "gw_a", nonce: fresh),
                deviceID: DeviceID(self.devicePublic)
            )
        }
        // A gateway id that swallows the separator cannot collide with another split.
        #expect(Handshake.authenticationTranscript(gatewayID: "gw", nonce: [0] + nonce) != transcript)
    }

    @Test func resumeTokensAreAuthenticAndExpire() throws {
        let tokens = ResumeToken(key: SecretBytes.random(count: 32))
        let token = tokens.issue(deviceID: DeviceID(self.devicePublic), expiresAtMs: 10_000)
        #expect(try tokens.check(token, nowMs: 9_999) == DeviceID(self.devicePublic))
        Self.expectCode(.resumeFailed) { _ = try tokens.check(token, nowMs: 10_000) }
        var tampered = token
        tampered[35] ^= 1  // push the expiry
        Self.expectCode(.resumeFailed) { _ = try tokens.check(tampered, nowMs: 0) }
        Self.expectCode(.resumeFailed) { _ = try ResumeToken(key: SecretBytes.random(count: 32)).check(token, nowMs: 0) }
        Self.expectCode(.resumeFailed) { _ = try tokens.check(Array(token.dropLast()), nowMs: 0) }
    }

    /// Frames survive a round trip and carry the spec's field numbers.
    @Test func framesRoundTrip() throws {
        var frame = Polygate_Gateway_V1_ClientFrame()
        frame.requestID = 7
        frame.send.convID = Data([1, 2, 3])
        frame.send.msgID = Data(repeating: 9, count: 16)
        frame.send.kind = .commit
        frame.send.epoch = 4
        frame.send.message = Data([0xAA])
        let bytes: [UInt8] = try frame.serializedBytes()
        #expect(bytes.prefix(4) == [0x08, 0x07, 0xAA, 0x01])  // request_id = 7; field 21 (send), length-delimited
        #expect(try Polygate_Gateway_V1_ClientFrame(serializedBytes: bytes) == frame)
        #expect(GatewayWireError(.staleEpoch, "epoch 3").wire.code == "stale_epoch")
    }
}
