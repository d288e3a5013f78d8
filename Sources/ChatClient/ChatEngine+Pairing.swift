import Foundation
import GatewayClient
package import GatewayWire
import PolycentricClient
import Primitives

/// Linking a new device by pairing code, the old device's side (docs/GATEWAY_SPEC.md §12,
/// ADR 0023): it makes the pairing with its CPace share, shows the code, waits for the new
/// device's claim, checks its confirmation, shows the verification string, and sends the
/// identity sealed with the key only the two devices share.
extension ChatEngine {
    /// How a link ended, for the user.
    package struct Linked: Sendable {
        /// The verification string both devices showed.
        package var verification: String
    }

    /// How often the pairing's state is read while waiting.
    static let pairingPoll: Duration = .milliseconds(300)

    /// Links a new device. `show` is told the code (and when it expires) as soon as it exists;
    /// `confirm` is asked, with the verification string, whether the new device shows the same
    /// (false: the pairing ends and nothing is sent).
    ///
    /// - Throws: ``ChatError`` `refused` (a wrong code typed on the new device, not confirmed,
    ///   cancelled), `unreachable`, `rate_limited`, or `not_found` when the code expired.
    package func linkDevice(
        session: ChatSession,
        show: @Sendable (PairingCode, UInt64) async -> Void,
        confirm: @Sendable (String) async -> Bool
    ) async throws -> Linked {
        let secret = SecureRandom.bytes(count: PairingCode.halfBytes)
        let nonce = SecureRandom.bytes(count: 16)
        var create = Polygate_Gateway_V1_CreatePairing()
        // The gateway's id binds the exchange (CPace's channel identifier): read it first.
        let gatewayID = try await session.call(.listDevices(.init())).gatewayID
        let cpace: CPace
        do {
            cpace = try CPace(
                password: secret,
                channelID: PairingKeys.channelID(gatewayID: gatewayID),
                sessionID: nonce,
                role: .initiator
            )
        } catch {
            throw ChatError(.badState, "cannot start the pairing: \(error)")
        }
        let initiatorShare = cpace.message.share
        create.initiatorShare = Data(initiatorShare)
        create.sessionNonce = Data(nonce)
        let created = try await session.call(.createPairing(create)).pairing
        let id = [UInt8](created.pairingID)
        await show(PairingCode(id: id, secret: secret), created.expiresMs)

        // Wait for the claim.
        var status = Polygate_Gateway_V1_PairingStatus()
        status.pairingID = Data(id)
        var state = Polygate_Gateway_V1_PairingState()
        while true {
            state = try await session.call(.pairingStatus(status)).pairingState
            guard state.state == "open" else { break }
            _ = try await session.step(timeout: Self.pairingPoll)
        }
        guard state.state == "claimed" else { throw Self.pairingEnded(state.state) }
        let responderShare = [UInt8](state.responderShare)
        let keys: PairingKeys
        do {
            keys = try PairingKeys(isk: try cpace.finish(peer: CPace.Message(share: responderShare)))
        } catch {
            try await self.refusePairing(id, session)
            throw ChatError(.refused, "the new device sent an invalid key share; nothing was sent (make a new code)")
        }
        guard
            keys.verify(
                [UInt8](state.responderConfirmation),
                fromInitiator: false,
                pairingID: id,
                initiatorShare: initiatorShare,
                responderShare: responderShare
            )
        else {
            try await self.refusePairing(id, session)
            throw ChatError(
                .refused,
                "the new device typed a different code (or someone guessed at it); nothing was sent — make a new code and type it again"
            )
        }
        guard await confirm(keys.verification) else {
            try await self.refusePairing(id, session)
            throw ChatError(.refused, "not confirmed: nothing was sent (make a new code to try again)")
        }
        var complete = Polygate_Gateway_V1_CompletePairing()
        complete.pairingID = Data(id)
        complete.accept = true
        complete.initiatorConfirmation = Data(
            keys.confirmation(initiator: true, pairingID: id, initiatorShare: initiatorShare, responderShare: responderShare)
        )
        complete.sealedIdentity = Data(try PairingTransfer.seal(try self.exportContents(), keys: keys, pairingID: id))
        _ = try await session.call(.completePairing(complete))

        // Until the new device has it (or the pairing ends).
        while true {
            state = try await session.call(.pairingStatus(status)).pairingState
            guard state.state == "sealed" else { break }
            _ = try await session.step(timeout: Self.pairingPoll)
        }
        guard state.state == "completed" else { throw Self.pairingEnded(state.state) }
        return Linked(verification: keys.verification)
    }

    func refusePairing(_ id: [UInt8], _ session: ChatSession) async throws {
        var refuse = Polygate_Gateway_V1_CompletePairing()
        refuse.pairingID = Data(id)
        refuse.accept = false
        _ = try? await session.call(.completePairing(refuse))
    }

    static func pairingEnded(_ state: String) -> ChatError {
        switch state {
        case "expired": ChatError(.notFound, "the pairing code expired before the new device finished: make a new one")
        case "cancelled": ChatError(.refused, "the pairing was cancelled (by an administrator?): make a new code")
        default: ChatError(.refused, "the pairing ended (\(state)): make a new code")
        }
    }

    /// The identity as the new device gets it: the plaintext of an export (``ExportContents``).
    func exportContents() throws(ChatError) -> [UInt8] {
        try Vault.encode(
            ExportContents(
                bundle: Hex.encode(self.social.exportBundle()),
                conversations: self.state.conversations.filter { !$0.left }.map {
                    ConversationHint(id: $0.id, name: $0.name, kind: $0.kind, peer: $0.peer)
                },
                gateway: self.identity.gatewayURL,
                gatewayKeys: self.identity.gatewayKeys
            )
        )
    }
}
