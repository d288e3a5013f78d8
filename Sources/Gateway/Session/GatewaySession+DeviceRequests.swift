import Foundation
import GatewayWire
import Presence
import Primitives
import Store
import SwiftProtobuf

/// A user's own devices (docs/GATEWAY_SPEC.md §4.3): listed, and revoked by the user — a
/// request signed by the user's system key, so that a stolen device key alone cannot revoke
/// the user's other devices.
extension GatewaySession {
    /// How far `signed_at_ms` may be from the gateway's clock.
    static let revocationWindowMs: UInt64 = 10 * 60 * 1000

    /// `ListDevices`: the authenticated user's devices, oldest first, revoked ones included.
    func listDevices(_ identity: Identity, _ requestID: UInt64) async throws {
        var list = Polygate_Gateway_V1_DeviceList()
        list.devices = try await self.context.repository.ownDevices(of: identity.userID).map { row in
            var info = Polygate_Gateway_V1_DeviceInfo()
            info.deviceID = Data(row.device)
            let signed = try? Polygate_Gateway_V1_SignedDeviceCertificate(serializedBytes: row.certificate)
            let certificate = signed.flatMap { try? Polygate_Gateway_V1_DeviceCertificate(serializedBytes: $0.certificate) }
            info.name = certificate?.deviceName ?? ""
            info.registeredMs = UInt64(max(0, row.registeredMs))
            info.revokedMs = UInt64(max(0, row.revokedMs ?? 0))
            info.lastSeenMs = UInt64(max(0, row.lastSeenMs ?? 0))
            info.connected = row.device == identity.deviceID || self.context.presence.isConnectedHere(row.device)
            return info
        }
        var response = self.response(requestID)
        response.ownDevices = list
        self.respond(response)
    }

    /// `RevokeDevice`: revokes one of the user's devices (this one included). Its connections
    /// close with 4003 on every daemon, it can no longer authenticate, and the user's
    /// conversation partners are told (`DeviceRevoked`) so that members remove its leaves.
    ///
    /// - Throws: ``GatewayWireError`` `bad_signature` (not the user's system key, or outside
    ///   the time window), `unknown_device` (no such device of this user).
    func revokeDevice(_ revoke: Polygate_Gateway_V1_RevokeDevice, _ identity: Identity, _ requestID: UInt64) async throws {
        guard revoke.deviceID.count == 32 else { throw GatewayWireError(.badRequest, "device_id is a 32-byte key") }
        let device = DeviceID(revoke.deviceID)
        let nowMs = self.context.clock.wallMs
        let skew = revoke.signedAtMs > nowMs ? revoke.signedAtMs - nowMs : nowMs - revoke.signedAtMs
        guard skew <= Self.revocationWindowMs else {
            throw GatewayWireError(.badSignature, "signed_at_ms is more than 10 minutes from the gateway's clock")
        }
        let transcript = Handshake.revocationTranscript(
            gatewayID: self.context.gatewayID,
            deviceID: device,
            signedAtMs: revoke.signedAtMs
        )
        guard SignatureAlgorithm.ed25519.verify([UInt8](revoke.signature), message: transcript, publicKey: identity.userID.bytes)
        else {
            throw GatewayWireError(.badSignature, "the revocation is not signed by this user's system key")
        }
        guard let record = try await self.context.repository.deviceRecord(device), record.userID == identity.userID else {
            throw GatewayWireError(.unknownDevice, "no such device of yours")
        }
        let actor = "user \(identity.userID.hex)"
        if try await self.context.repository.revoke(device, by: actor) {
            self.context.ledger.mirrored("device.revoked", actor: actor, subject: device.hex)
        }
        self.respond(self.response(requestID))
    }
}
