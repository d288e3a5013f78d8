package import Primitives

/// The byte strings a device signs to prove possession of its key to one gateway on one
/// connection (docs/GATEWAY_SPEC.md §3.2–3.3), and their checks.
package enum Handshake {
    /// `"polygate auth v1" 0x00 gateway_id 0x00 nonce`; on a sealed connection (§14)
    /// `"polygate sealed auth v1" 0x00 gateway_id 0x00 nonce h`, with the Noise handshake
    /// hash `h` as `binding`.
    package static func authenticationTranscript(gatewayID: String, nonce: [UInt8], binding: [UInt8]? = nil) -> [UInt8] {
        Array((binding == nil ? "polygate auth v1" : "polygate sealed auth v1").utf8) + [0] + Array(gatewayID.utf8) + [0]
            + nonce + (binding ?? [])
    }

    /// `"polygate resume v1" 0x00 gateway_id 0x00 nonce token`; on a sealed connection
    /// `"polygate sealed resume v1" 0x00 gateway_id 0x00 nonce token h`.
    package static func resumeTranscript(gatewayID: String, nonce: [UInt8], token: [UInt8], binding: [UInt8]? = nil) -> [UInt8] {
        Array((binding == nil ? "polygate resume v1" : "polygate sealed resume v1").utf8) + [0] + Array(gatewayID.utf8) + [0]
            + nonce + token + (binding ?? [])
    }

    /// `"polygate revoke device v1" 0x00 gateway_id 0x00 device_id signed_at_ms` (8 bytes,
    /// big-endian): what a user's system key signs to revoke one of its devices (§4.3).
    package static func revocationTranscript(gatewayID: String, deviceID: DeviceID, signedAtMs: UInt64) -> [UInt8] {
        Array("polygate revoke device v1".utf8) + [0] + Array(gatewayID.utf8) + [0] + deviceID.bytes
            + (0..<8).map { UInt8(truncatingIfNeeded: signedAtMs >> UInt64(56 - 8 * $0)) }
    }

    /// The device's signature over a transcript.
    package static func sign(_ transcript: [UInt8], deviceKey: SecretBytes) throws(GatewayWireError) -> [UInt8] {
        do {
            return try SignatureAlgorithm.ed25519.sign(transcript, privateKey: deviceKey)
        } catch {
            throw GatewayWireError(.badSignature, "signing failed")
        }
    }

    /// Checks a device's signature over a transcript.
    package static func verify(_ signature: [UInt8], transcript: [UInt8], deviceID: DeviceID) throws(GatewayWireError) {
        guard SignatureAlgorithm.ed25519.verify(signature, message: transcript, publicKey: deviceID.bytes) else {
            throw GatewayWireError(.badSignature, "the handshake signature does not verify")
        }
    }
}
