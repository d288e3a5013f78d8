import Control
import Gateway
import GatewayWire
import Primitives

/// gwctl's `pairing list` and `pairing cancel` (docs/GATEWAY_SPEC.md §12).
extension ControlHandler {
    func pairings(limit: Int) async throws -> ControlValue {
        let pairings = try await self.context.realtime.pairing.recent().prefix(limit)
        return [
            "items": .array(
                pairings.map { pairing in
                    [
                        "pairing": .string(PairingCode.encode(pairing.id)),
                        "state": .string(pairing.state.rawValue),
                        "user": .string(Hex.encode(pairing.user)),
                        "device": .string(pairing.device.hex),
                        "created": Self.iso(ms: pairing.createdMs),
                        "expires": Self.iso(ms: pairing.expiresMs),
                        "claimed_ip": pairing.claimedIP.map(ControlValue.string) ?? .null,
                    ]
                }
            )
        ]
    }

    func cancelPairing(_ text: String, peer: ControlPeer) async throws -> ControlValue {
        // The whole code works too: only its first half names the pairing.
        let id = PairingCode.id(parsing: text) ?? (try? PairingCode(parsing: text))?.id
        guard let id else {
            throw ControlError(.badArguments, "a pairing is named by the first 8 characters of its code, as 'pairing list' shows")
        }
        guard let pairing = try await self.context.realtime.pairing.cancel(id, by: peer.description) else {
            throw ControlError(.notFound, "no live pairing \(PairingCode.encode(id)) (pairing list shows them)")
        }
        return ["pairing": .string(PairingCode.encode(id)), "cancelled": .bool(true), "user": .string(Hex.encode(pairing.user))]
    }
}
