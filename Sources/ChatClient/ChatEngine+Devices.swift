import Foundation
import GatewayClient
package import GatewayWire
import Polycentric
import PolycentricClient
import Primitives

/// This user's devices (docs/GATEWAY_SPEC.md §4.3): listed, and revoked with a request signed by
/// the user's system key (which every device of the user holds).
extension ChatEngine {
    package struct Device: Sendable, Codable, Hashable {
        /// The device id, hex.
        package var id: String
        package var name: String
        package var registeredMs: UInt64
        /// When it was revoked; nil while active.
        package var revokedMs: UInt64?
        /// When its first connection on a daemon started or its last one there ended; nil
        /// when the gateway does not know.
        package var lastSeenMs: UInt64?
        /// Connected now (to the daemon this device is connected to; this device always is).
        package var connected: Bool
        /// This device.
        package var this: Bool
    }

    /// The user's devices as the gateway knows them, oldest first, revoked ones included.
    package func devices(session: ChatSession) async throws -> [Device] {
        let list = try await session.call(.listDevices(.init())).ownDevices.devices
        return list.map { info in
            let id = Hex.encode(info.deviceID)
            return Device(
                id: id,
                name: info.name,
                registeredMs: info.registeredMs,
                revokedMs: info.revokedMs == 0 ? nil : info.revokedMs,
                lastSeenMs: info.lastSeenMs == 0 ? nil : info.lastSeenMs,
                connected: info.connected,
                this: id == self.deviceID
            )
        }
    }

    /// Revokes the device `text` names (a unique prefix of at least 4 hex characters, or the
    /// whole id, of one of this user's active devices): its connections close, it can no longer
    /// connect, and the user's conversation partners remove it from their groups.
    ///
    /// - Throws: ``ChatError`` `not_found`, `ambiguous` or `bad_argument` naming the device
    ///   is not one; the gateway's refusal otherwise.
    package func revokeDevice(_ text: String, session: ChatSession) async throws -> Device {
        let lowered = text.lowercased()
        guard lowered.count >= 4, lowered.count <= 64, lowered.allSatisfy(\.isHexDigit) else {
            throw ChatError(
                .badArgument,
                "'\(text)' is not a device id: give at least 4 hex characters, as 'polychat devices' prints"
            )
        }
        let devices = try await self.devices(session: session)
        let matches = devices.filter { $0.id.hasPrefix(lowered) && $0.revokedMs == nil }
        guard let device = matches.first else {
            throw ChatError(.notFound, "no active device of yours starts with \(text) (polychat devices lists them)")
        }
        guard matches.count == 1 else {
            throw ChatError(.ambiguous, "'\(text)' could be \(matches.count) devices: give more of the id")
        }
        let gatewayID = try await session.connection.challenge().gatewayID
        let signedAtMs = Self.nowMs()
        let deviceID = DeviceID(Hex.decode(device.id) ?? [])
        let transcript = Handshake.revocationTranscript(gatewayID: gatewayID, deviceID: deviceID, signedAtMs: signedAtMs)
        let signature: [UInt8]
        do {
            signature = try SignatureAlgorithm.ed25519.sign(transcript, privateKey: self.social.key.seed)
        } catch {
            throw ChatError(.badArgument, "cannot sign the revocation: \(error)")
        }
        var revoke = Polygate_Gateway_V1_RevokeDevice()
        revoke.deviceID = Data(deviceID)
        revoke.signedAtMs = signedAtMs
        revoke.signature = Data(signature)
        _ = try await session.call(.revokeDevice(revoke))
        return device
    }
}
