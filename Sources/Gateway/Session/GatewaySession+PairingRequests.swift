import Foundation
import GatewayWire
import Primitives

/// The old device's side of linking a new device (docs/GATEWAY_SPEC.md §12): it makes the
/// pairing, watches for the claim, and answers it with the sealed identity or a refusal.
extension GatewaySession {
    /// `CreatePairing` → `PairingCreated`.
    func createPairing(_ create: Polygate_Gateway_V1_CreatePairing, _ identity: Identity, _ requestID: UInt64) async throws {
        let pairing = try await self.context.pairing.create(
            user: identity.userID,
            device: identity.deviceID,
            share: [UInt8](create.initiatorShare),
            nonce: [UInt8](create.sessionNonce),
            ip: self.peer
        )
        var created = Polygate_Gateway_V1_PairingCreated()
        created.pairingID = Data(pairing.id)
        created.expiresMs = UInt64(max(0, pairing.expiresMs))
        var response = self.response(requestID)
        response.pairing = created
        self.respond(response)
    }

    /// `PairingStatus` → `PairingState`.
    func pairingStatus(_ status: Polygate_Gateway_V1_PairingStatus, _ identity: Identity, _ requestID: UInt64) async throws {
        let pairing = try await self.context.pairing.status([UInt8](status.pairingID), user: identity.userID)
        var state = Polygate_Gateway_V1_PairingState()
        let expired = pairing.state.isLive && pairing.expiresMs <= Int64(clamping: self.context.clock.wallMs)
        state.state = expired ? "expired" : pairing.state.rawValue
        state.expiresMs = UInt64(max(0, pairing.expiresMs))
        if let share = pairing.responderShare { state.responderShare = Data(share) }
        if let confirmation = pairing.responderConfirmation { state.responderConfirmation = Data(confirmation) }
        var response = self.response(requestID)
        response.pairingState = state
        self.respond(response)
    }

    /// `CompletePairing` → empty success.
    func completePairing(_ complete: Polygate_Gateway_V1_CompletePairing, _ identity: Identity, _ requestID: UInt64) async throws
    {
        try self.checkSize(complete.sealedIdentity, "sealed_identity")
        try await self.context.pairing.complete(
            [UInt8](complete.pairingID),
            user: identity.userID,
            accept: complete.accept,
            confirmation: [UInt8](complete.initiatorConfirmation),
            sealed: [UInt8](complete.sealedIdentity)
        )
        self.respond(self.response(requestID))
    }
}
