import Foundation
import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// The requests of docs/GATEWAY_SPEC.md §4, after authentication: one line per kind here, the
/// handling by area (`+KeyPackageRequests`, `+ConversationRequests`, `+ContactRequests`,
/// `+PresenceRequests`, `+DeviceRequests`).
extension GatewaySession {
    func handle(_ frame: Polygate_Gateway_V1_ClientFrame) async {
        guard let identity = self.identity else { return }
        let requestID = frame.requestID
        do {
            switch frame.body {
            case .uploadKeyPackages(let upload): try await self.upload(upload, identity, requestID)
            case .countKeyPackages(let count): try await self.count(count, identity, requestID)
            case .claimKeyPackages(let claim): try await self.claim(claim, identity, requestID)
            case .createConversation(let create): try await self.create(create, identity, requestID)
            case .send(let send): try await self.send(send, identity, requestID)
            case .ack(let ack): try await self.ack(ack, identity, requestID)
            case .fetchGroupInfo(let fetch): try await self.fetchGroupInfo(fetch, identity, requestID)
            case .listMembers(let list): try await self.listMembers(list, identity, requestID)
            case .checkDevices(let check): try await self.checkDevices(check, identity, requestID)
            case .listDevices: try await self.listDevices(identity, requestID)
            case .revokeDevice(let revoke): try await self.revokeDevice(revoke, identity, requestID)
            case .createPairing(let create): try await self.createPairing(create, identity, requestID)
            case .pairingStatus(let status): try await self.pairingStatus(status, identity, requestID)
            case .completePairing(let complete): try await self.completePairing(complete, identity, requestID)
            case .blobToken: self.blobToken(identity, requestID)
            case .listBlocked: try await self.listBlocked(identity, requestID)
            case .setBlocked(let block): try await self.setBlocked(block, identity, requestID)
            case .renewLease(let renew): self.renewLease(renew, identity, requestID)
            case .setPresence(let set): try await self.setPresence(set, identity, requestID)
            case .contactRequest(let request): try await self.contact("request", request.userID, identity, requestID)
            case .contactAccept(let accept): try await self.contact("accept", accept.userID, identity, requestID)
            case .contactRevoke(let revoke): try await self.contact("revoke", revoke.userID, identity, requestID)
            case .listContacts: try await self.listContacts(identity, requestID)
            case .watch(let watch): try await self.watch(watch, identity, requestID)
            case .unwatch(let unwatch): self.unwatch(unwatch, requestID)
            default: throw GatewayWireError(.badRequest, "unexpected frame")
            }
        } catch let error as GatewayWireError {
            self.respond(requestID, error: error)
        } catch {
            self.unavailable(requestID, error)
        }
    }

    /// Spends a token of the device's bucket; when it is empty, answers `rate_limited` (or closes
    /// with 4029 on repeated refusals) and returns false.
    func limit(_ bucket: RateLimiter.DeviceBucket, _ identity: Identity, _ requestID: UInt64) async throws -> Bool {
        let now = self.context.clock.now
        guard let wait = self.context.limiter.take(bucket, device: identity.deviceID, now: now) else { return true }
        let action = self.state.withLock { $0.machine.limited(retryAfter: wait, now: now) }
        switch action {
        case .rateLimited(let wait):
            self.refuseRateLimited(requestID, wait)
        case .close(let code, let reason, let after):
            self.refuseRateLimited(requestID, wait)
            self.context.counters.add(.penalties)
            self.context.limiter.penalize(device: identity.deviceID, until: now + after)
            try? await self.context.ledger.record(
                "ratelimit.penalty",
                actor: Hex.encode(identity.deviceID),
                subject: self.peer,
                details: ["bucket": "\(bucket)", "close": "\(code)"]
            )
            self.perform(close: code, reason: reason, after: after)
        case .process:
            return true
        }
        return false
    }

    /// `BlobToken` → `BlobTokenResult` (§13).
    func blobToken(_ identity: Identity, _ requestID: UInt64) {
        guard let (token, expires) = self.context.blobs.token(for: identity.deviceID) else {
            self.respond(requestID, error: GatewayWireError(.unavailable, "blob tokens are not ready yet"))
            return
        }
        var result = Polygate_Gateway_V1_BlobTokenResult()
        result.token = Data(token)
        result.expiresMs = expires
        var response = self.response(requestID)
        response.blobToken = result
        self.respond(response)
    }

    static func check(convID: some Collection<UInt8>) throws(GatewayWireError) {
        guard (16...64).contains(convID.count) else { throw GatewayWireError(.badRequest, "conv_id is 16 to 64 bytes") }
    }

    func checkSize(_ bytes: some Collection<UInt8>, _ what: String) throws(GatewayWireError) {
        let limit = self.context.limits.maxMessageBytes
        guard bytes.count <= limit else { throw GatewayWireError(.tooLarge, "\(what) is over \(limit) bytes") }
    }
}
