import Foundation
package import Primitives
import SwiftProtobuf

/// A device certificate that verified: the user's system key vouches for a device key
/// (docs/GATEWAY_SPEC.md §3.1). Verified over the exact certificate bytes received.
package struct VerifiedDeviceCertificate: Sendable, Hashable {
    /// The user's raw 32-byte system key.
    package let userID: UserID
    /// The device's raw 32-byte key (its `device_id`).
    package let deviceID: DeviceID
    package let issuedAtMs: UInt64
    /// 0: no expiry.
    package let expiresAtMs: UInt64
    package let deviceName: String
    /// The signed form, as received (for MLS credentials and storage).
    package let signed: Polygate_Gateway_V1_SignedDeviceCertificate

    /// What the system key signs in front of the certificate bytes.
    package static let label: [UInt8] = Array("polygate device certificate v1".utf8) + [0]
    /// How far in the future `issued_at_ms` may be (clock skew).
    package static let maxSkewMs: UInt64 = 5 * 60 * 1000

    /// Verifies `signed` at time `nowMs`.
    package init(_ signed: Polygate_Gateway_V1_SignedDeviceCertificate, nowMs: UInt64) throws(GatewayWireError) {
        let bytes = [UInt8](signed.certificate)
        let certificate: Polygate_Gateway_V1_DeviceCertificate
        do {
            certificate = try Polygate_Gateway_V1_DeviceCertificate(serializedBytes: bytes)
        } catch {
            throw GatewayWireError(.badCertificate, "the certificate does not parse")
        }
        guard certificate.userID.count == 32, certificate.deviceKey.count == 32 else {
            throw GatewayWireError(.badCertificate, "user_id and device_key are 32-byte Ed25519 keys")
        }
        guard certificate.deviceName.utf8.count <= 64 else {
            throw GatewayWireError(.badCertificate, "device_name is over 64 bytes")
        }
        let userID = [UInt8](certificate.userID)
        guard SignatureAlgorithm.ed25519.verify([UInt8](signed.signature), message: Self.label + bytes, publicKey: userID) else {
            throw GatewayWireError(.badCertificate, "the certificate's signature does not verify under user_id")
        }
        guard certificate.expiresAtMs == 0 || certificate.expiresAtMs > nowMs else {
            throw GatewayWireError(.badCertificate, "the certificate has expired")
        }
        guard certificate.issuedAtMs <= nowMs + Self.maxSkewMs else {
            throw GatewayWireError(.badCertificate, "the certificate is issued in the future")
        }
        self.userID = UserID(userID)
        self.deviceID = DeviceID(certificate.deviceKey)
        self.issuedAtMs = certificate.issuedAtMs
        self.expiresAtMs = certificate.expiresAtMs
        self.deviceName = certificate.deviceName
        self.signed = signed
    }

    /// Issues a certificate: `systemKey` (the user's Ed25519 seed) vouches for `deviceKey`.
    package static func issue(
        systemKey: SecretBytes,
        deviceKey: [UInt8],
        deviceName: String,
        issuedAtMs: UInt64,
        expiresAtMs: UInt64 = 0
    ) throws(GatewayWireError) -> Polygate_Gateway_V1_SignedDeviceCertificate {
        var certificate = Polygate_Gateway_V1_DeviceCertificate()
        do {
            certificate.userID = Data(try SignatureAlgorithm.ed25519.publicKey(for: systemKey))
        } catch {
            throw GatewayWireError(.badCertificate, "the system key is not an Ed25519 seed")
        }
        certificate.deviceKey = Data(deviceKey)
        certificate.issuedAtMs = issuedAtMs
        certificate.expiresAtMs = expiresAtMs
        certificate.deviceName = deviceName
        let bytes: [UInt8]
        do {
            bytes = try certificate.serializedBytes()
        } catch {
            throw GatewayWireError(.badCertificate, "the certificate does not serialize")
        }
        var signed = Polygate_Gateway_V1_SignedDeviceCertificate()
        signed.certificate = Data(bytes)
        do {
            signed.signature = Data(try SignatureAlgorithm.ed25519.sign(Self.label + bytes, privateKey: systemKey))
        } catch {
            throw GatewayWireError(.badCertificate, "signing failed")
        }
        return signed
    }
}
