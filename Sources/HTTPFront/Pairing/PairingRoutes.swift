import Foundation
package import Gateway
import GatewayWire
import HTTPTypes
package import Hummingbird
import NIOCore
import Primitives

/// The new device's side of linking by pairing code (docs/GATEWAY_SPEC.md §12.3): it has no
/// identity yet, so it speaks plain HTTP with JSON bodies. `GET /v1/pairing/ID` reads an open
/// pairing, `POST /v1/pairing/ID/claim` claims it once, `GET /v1/pairing/ID/transfer` (with the
/// claim's bearer token) fetches the sealed identity once the old device answered. Reads and
/// claims count against the client IP's pairing attempts. Nothing here is cacheable.
package struct PairingRoutes: Sendable {
    let pairing: PairingService
    let gatewayID: String
    /// Who the client is behind a trusted proxy.
    let clientAddresses: ClientAddressPolicy

    package init(pairing: PairingService, gatewayID: String, clientAddresses: ClientAddressPolicy = ClientAddressPolicy()) {
        self.pairing = pairing
        self.gatewayID = gatewayID
        self.clientAddresses = clientAddresses
    }

    package func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/pairing/:id") { request, context in await self.lookup(request, context) }
        router.post("/v1/pairing/:id/claim") { request, context in await self.claim(request, context) }
        router.get("/v1/pairing/:id/transfer") { request, context in await self.transfer(request, context) }
    }

    typealias Open = PairingMessages.Open
    typealias ClaimRequest = PairingMessages.Claim
    typealias Claimed = PairingMessages.Claimed
    typealias Transfer = PairingMessages.Transfer

    func peer(_ request: Request, _ context: GatewayRequestContext) -> String {
        self.clientAddresses.clientAddress(of: request, context)
    }

    func id(_ context: GatewayRequestContext) throws(PairingService.Refusal) -> [UInt8] {
        guard let text = context.parameters.get("id"), let id = PairingCode.id(parsing: text) else {
            throw PairingService.Refusal(
                status: 400,
                code: "bad_request",
                message: "a pairing id is the code's first 8 characters (Crockford base32)"
            )
        }
        return id
    }

    func lookup(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        await self.answer {
            let id = try self.id(context)
            let pairing = try await self.pairing.lookup(id, ip: self.peer(request, context))
            return (
                .ok,
                Open(
                    pairingId: PairingCode.encode(id),
                    gatewayId: self.gatewayID,
                    initiatorShare: Hex.encode(pairing.initiatorShare),
                    sessionNonce: Hex.encode(pairing.sessionNonce),
                    expiresMs: pairing.expiresMs
                )
            )
        }
    }

    func claim(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        await self.answer {
            let id = try self.id(context)
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: 4096)
            } catch {
                throw PairingService.Refusal(status: 413, code: "too_large", message: "a claim is under 4 KiB")
            }
            guard let claim = try? JSONDecoder().decode(ClaimRequest.self, from: Data(body.readableBytesView)),
                let share = Hex.decode(claim.responderShare), let confirmation = Hex.decode(claim.confirmation)
            else {
                throw PairingService.Refusal(
                    status: 400,
                    code: "bad_request",
                    message: "the body is JSON {\"responderShare\": hex, \"confirmation\": hex}"
                )
            }
            let claimed = try await self.pairing.claim(
                id,
                share: share,
                confirmation: confirmation,
                ip: self.peer(request, context)
            )
            return (.ok, Claimed(claimToken: Hex.encode(claimed.token), expiresMs: claimed.expiresMs))
        }
    }

    func transfer(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        await self.answer {
            let id = try self.id(context)
            guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
                let token = Hex.decode(String(authorization.dropFirst(7)))
            else {
                throw PairingService.Refusal(
                    status: 401,
                    code: "bad_token",
                    message: "send the claim's token: Authorization: Bearer <claimToken>"
                )
            }
            switch try await self.pairing.transfer(id, token: token, ip: self.peer(request, context)) {
            case .waiting:
                return (.accepted, Transfer(state: "claimed"))
            case .sealed(let confirmation, let sealed):
                return (
                    .ok,
                    Transfer(
                        state: "completed",
                        initiatorConfirmation: Hex.encode(confirmation),
                        sealedIdentity: Hex.encode(sealed)
                    )
                )
            }
        }
    }

    /// Runs `body`; its value as JSON, or the refusal as `{"error", "message"}` with its status.
    func answer(_ body: () async throws -> (HTTPResponse.Status, any Encodable)) async -> Response {
        do {
            let (status, value) = try await body()
            return JSONResponse.make(status, value)
        } catch let refusal as PairingService.Refusal {
            var response = JSONResponse.failure(HTTPResponse.Status(code: refusal.status), refusal.code, refusal.message)
            if let wait = refusal.retryAfter {
                response.headers[.retryAfter] = "\(max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))"
            }
            return response
        } catch let error as GatewayWireError {
            return JSONResponse.failure(.badRequest, error.code.rawValue, error.message)
        } catch {
            return JSONResponse.unavailable
        }
    }
}
