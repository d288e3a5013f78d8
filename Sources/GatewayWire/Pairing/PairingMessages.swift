/// The JSON bodies of the new device's pairing routes (docs/GATEWAY_SPEC.md §12.4), shared by
/// the gateway and its clients. Byte strings are hex.
package enum PairingMessages {
    /// `GET /v1/pairing/ID`: an open pairing.
    package struct Open: Codable, Sendable {
        package var pairingId, gatewayId, initiatorShare, sessionNonce: String
        package var expiresMs: Int64

        package init(pairingId: String, gatewayId: String, initiatorShare: String, sessionNonce: String, expiresMs: Int64) {
            self.pairingId = pairingId
            self.gatewayId = gatewayId
            self.initiatorShare = initiatorShare
            self.sessionNonce = sessionNonce
            self.expiresMs = expiresMs
        }
    }

    /// `POST /v1/pairing/ID/claim`'s request.
    package struct Claim: Codable, Sendable {
        package var responderShare, confirmation: String

        package init(responderShare: String, confirmation: String) {
            self.responderShare = responderShare
            self.confirmation = confirmation
        }
    }

    /// `POST /v1/pairing/ID/claim`'s answer.
    package struct Claimed: Codable, Sendable {
        package var claimToken: String
        package var expiresMs: Int64

        package init(claimToken: String, expiresMs: Int64) {
            self.claimToken = claimToken
            self.expiresMs = expiresMs
        }
    }

    /// `GET /v1/pairing/ID/transfer`: `claimed` while waiting, `completed` with the sealed identity.
    package struct Transfer: Codable, Sendable {
        package var state: String
        package var initiatorConfirmation: String?
        package var sealedIdentity: String?

        package init(state: String, initiatorConfirmation: String? = nil, sealedIdentity: String? = nil) {
            self.state = state
            self.initiatorConfirmation = initiatorConfirmation
            self.sealedIdentity = sealedIdentity
        }
    }

    /// A refusal: a stable code and what to do next.
    package struct Failure: Codable, Sendable {
        package var error, message: String

        package init(error: String, message: String) {
            self.error = error
            self.message = message
        }
    }
}
