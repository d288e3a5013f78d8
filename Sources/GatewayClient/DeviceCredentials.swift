import Foundation
package import GatewayWire
package import Primitives
import SwiftProtobuf

/// A device's keys and certificate: what it needs to authenticate to a gateway
/// (docs/GATEWAY_SPEC.md §3.1–3.2). The device key never leaves this value; its description
/// shows public ids only.
package struct DeviceCredentials: Sendable, CustomStringConvertible {
    /// The device's Ed25519 seed.
    package let deviceKey: SecretBytes
    /// The certificate the user's system key issued for it.
    package let certificate: Polygate_Gateway_V1_SignedDeviceCertificate
    /// The user's system key (32 bytes).
    package let userID: UserID
    /// The device's public key (32 bytes).
    package let deviceID: DeviceID

    /// A device from its key and certificate.
    ///
    /// - Throws: ``GatewayWireError`` when the certificate does not verify or is not for this key.
    package init(
        deviceKey: SecretBytes,
        certificate: Polygate_Gateway_V1_SignedDeviceCertificate,
        nowMs: UInt64
    ) throws(GatewayWireError) {
        let verified = try VerifiedDeviceCertificate(certificate, nowMs: nowMs)
        let publicKey: [UInt8]
        do {
            publicKey = try SignatureAlgorithm.ed25519.publicKey(for: deviceKey)
        } catch {
            throw GatewayWireError(.badCertificate, "the device key is not an Ed25519 seed")
        }
        guard publicKey == verified.deviceID.bytes else {
            throw GatewayWireError(.badCertificate, "the certificate is for another device key")
        }
        self.deviceKey = deviceKey
        self.certificate = certificate
        self.userID = verified.userID
        self.deviceID = verified.deviceID
    }

    /// A new device of the user whose system key is `systemKey`: a fresh device key and a
    /// certificate for it.
    package static func make(
        systemKey: SecretBytes,
        deviceName: String,
        nowMs: UInt64,
        expiresAtMs: UInt64 = 0
    ) throws(GatewayWireError) -> DeviceCredentials {
        let deviceKey = SignatureAlgorithm.ed25519.generatePrivateKey()
        let publicKey: [UInt8]
        do {
            publicKey = try SignatureAlgorithm.ed25519.publicKey(for: deviceKey)
        } catch {
            throw GatewayWireError(.internal, "key generation failed")
        }
        let certificate = try VerifiedDeviceCertificate.issue(
            systemKey: systemKey,
            deviceKey: publicKey,
            deviceName: deviceName,
            issuedAtMs: nowMs,
            expiresAtMs: expiresAtMs
        )
        return try DeviceCredentials(deviceKey: deviceKey, certificate: certificate, nowMs: nowMs)
    }

    /// The `Authenticate` body answering a challenge.
    package func authenticate(
        _ challenge: Polygate_Gateway_V1_Challenge,
        register: Bool,
        binding: [UInt8]? = nil
    ) throws(GatewayWireError) -> Polygate_Gateway_V1_Authenticate {
        var body = Polygate_Gateway_V1_Authenticate()
        body.certificate = self.certificate
        body.signature = .init(
            try Handshake.sign(
                Handshake.authenticationTranscript(
                    gatewayID: challenge.gatewayID,
                    nonce: [UInt8](challenge.nonce),
                    binding: binding
                ),
                deviceKey: self.deviceKey
            )
        )
        body.register = register
        return body
    }

    /// The `Resume` body answering a challenge with a resume token.
    package func resume(
        _ challenge: Polygate_Gateway_V1_Challenge,
        token: [UInt8],
        binding: [UInt8]? = nil
    ) throws(GatewayWireError) -> Polygate_Gateway_V1_Resume {
        var body = Polygate_Gateway_V1_Resume()
        body.token = .init(token)
        body.signature = .init(
            try Handshake.sign(
                Handshake.resumeTranscript(
                    gatewayID: challenge.gatewayID,
                    nonce: [UInt8](challenge.nonce),
                    token: token,
                    binding: binding
                ),
                deviceKey: self.deviceKey
            )
        )
        return body
    }

    package var description: String {
        "device \(Hex.encode(self.deviceID.bytes.prefix(8))) of user \(Hex.encode(self.userID.bytes.prefix(8)))"
    }
}
