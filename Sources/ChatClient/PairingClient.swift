import AsyncHTTPClient
import ClientTLS
import Foundation
package import GatewayWire
import NIOCore
import NIOHTTP1
import Primitives

/// Linking a new device by pairing code, the new device's side (docs/GATEWAY_SPEC.md §12.3): it
/// has no identity yet, so it speaks HTTP to `/v1/pairing`. It reads the pairing, runs its
/// half of CPace with the code's secret half, claims the pairing once, shows the verification
/// string, and waits for the sealed identity, which only the two devices can open.
package enum PairingClient {
    typealias Open = PairingMessages.Open
    typealias Claimed = PairingMessages.Claimed
    typealias Transfer = PairingMessages.Transfer
    typealias Failure = PairingMessages.Failure

    /// How often the transfer is asked for while the old device answers.
    static let poll: Duration = .milliseconds(300)

    /// Receives the identity the code's pairing carries. `show` is told the verification string
    /// as soon as it is known (the old device shows the same).
    ///
    /// - Throws: ``ChatError`` `not_found` (no such code, or expired), `refused` (used,
    ///   cancelled, the other device did not accept it, altered on the way), `rate_limited`,
    ///   `unreachable`.
    package static func receive(
        _ code: PairingCode,
        gatewayURL: String,
        caFiles: [String],
        show: (String) async -> Void
    ) async throws(ChatError) -> ChatEngine.IdentityExport {
        let endpoint = try GatewayEndpoint(parsing: gatewayURL)
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        let base = "\(endpoint.tls ? "https" : "http")://\(host):\(endpoint.port)\(endpoint.prefix)/v1/pairing/\(code.idText)"
        let client = try HTTPClients.client(ClientTLS(caFiles: caFiles))

        let open: Open = try await Self.call(client, HTTPClientRequest(url: base), gatewayURL).value
        guard let initiatorShare = Hex.decode(open.initiatorShare), let nonce = Hex.decode(open.sessionNonce) else {
            throw ChatError(.refused, "the gateway's answer about the pairing is damaged")
        }
        let cpace: CPace
        let keys: PairingKeys
        do {
            cpace = try CPace(
                password: code.secret,
                channelID: PairingKeys.channelID(gatewayID: open.gatewayId),
                sessionID: nonce,
                role: .responder
            )
        } catch {
            throw ChatError(.badState, "cannot start the pairing: \(error)")
        }
        let responderShare = cpace.message.share
        do {
            keys = try PairingKeys(isk: try cpace.finish(peer: CPace.Message(share: initiatorShare)))
        } catch {
            throw ChatError(.refused, "the pairing's key share is invalid: make a new code on your other device")
        }
        var claim = HTTPClientRequest(url: base + "/claim")
        claim.method = .POST
        claim.headers.add(name: "Content-Type", value: "application/json")
        let confirmation = keys.confirmation(
            initiator: false,
            pairingID: code.id,
            initiatorShare: initiatorShare,
            responderShare: responderShare
        )
        let body = PairingMessages.Claim(responderShare: Hex.encode(responderShare), confirmation: Hex.encode(confirmation))
        claim.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
        let claimed: Claimed = try await Self.call(client, claim, gatewayURL).value
        await show(keys.verification)

        var transfer = HTTPClientRequest(url: base + "/transfer")
        transfer.headers.add(name: "Authorization", value: "Bearer \(claimed.claimToken)")
        while true {
            let (status, answer): (HTTPResponseStatus, Transfer) = try await Self.call(client, transfer, gatewayURL)
            if status == .ok {
                guard let tag = answer.initiatorConfirmation.flatMap(Hex.decode),
                    let sealed = answer.sealedIdentity.flatMap(Hex.decode),
                    keys.verify(
                        tag,
                        fromInitiator: true,
                        pairingID: code.id,
                        initiatorShare: initiatorShare,
                        responderShare: responderShare
                    )
                else {
                    throw ChatError(.refused, "the answer did not come from the device that made the code: nothing was stored")
                }
                let plaintext = try PairingTransfer.open(sealed, keys: keys, pairingID: code.id)
                return try ChatEngine.readExportContents(plaintext)
            }
            try? await Task.sleep(for: Self.poll)
        }
    }

    /// One request: the status and the decoded body, or the gateway's refusal as a ``ChatError``.
    static func call<T: Decodable>(
        _ client: HTTPClient,
        _ request: HTTPClientRequest,
        _ server: String
    ) async throws(ChatError) -> (status: HTTPResponseStatus, value: T) {
        let status: HTTPResponseStatus
        let body: [UInt8]
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            status = response.status
            body = Array(try await response.body.collect(upTo: 4 << 20).readableBytesView)
        } catch {
            throw ChatError(.unreachable, "cannot reach the gateway at \(server): \(error)")
        }
        if (200..<300).contains(status.code), let value = try? JSONDecoder().decode(T.self, from: Data(body)) {
            return (status, value)
        }
        guard let failure = try? JSONDecoder().decode(Failure.self, from: Data(body)) else {
            if status == .notFound {
                throw ChatError(.refused, "the gateway at \(server) does not link devices by code (polygated too old?)")
            }
            throw ChatError(.refused, "the gateway at \(server) answered \(status.code) to a pairing request")
        }
        let code: ChatError.Code =
            switch failure.error {
            case "rate_limited": .rateLimited
            case "not_found", "expired": .notFound
            case "bad_request": .badArgument
            default: .refused
            }
        throw ChatError(code, failure.message)
    }
}
