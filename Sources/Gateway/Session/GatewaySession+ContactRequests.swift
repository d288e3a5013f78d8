import Foundation
import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// Blocks (docs/GATEWAY_SPEC.md §4.2) and contacts (§10.2).
extension GatewaySession {
    /// `ListBlocked`: the users this user blocks.
    func listBlocked(_ identity: Identity, _ requestID: UInt64) async throws {
        var result = Polygate_Gateway_V1_BlockedList()
        result.userIds = try await self.context.repository.blockedUsers(of: identity.userID).map { Data($0) }
        var response = self.response(requestID)
        response.blocked = result
        self.respond(response)
    }

    /// `SetBlocked`: a block (which also ends a contact, both ways) or its end.
    func setBlocked(_ block: Polygate_Gateway_V1_SetBlocked, _ identity: Identity, _ requestID: UInt64) async throws {
        guard block.userID.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
        guard UserID(block.userID) != identity.userID else {
            throw GatewayWireError(.badRequest, "you cannot block yourself")
        }
        try await self.context.repository.setBlocked(user: identity.userID, blocked: UserID(block.userID), block.blocked)
        if block.blocked {
            // A block ends a contact at once, in both directions.
            _ = try await self.context.repository.contact("revoke", user: identity.userID, other: UserID(block.userID))
        }
        self.respond(self.response(requestID))
    }

    /// `ListContacts`: contacts and requests, each with its state.
    func listContacts(_ identity: Identity, _ requestID: UInt64) async throws {
        var list = Polygate_Gateway_V1_ContactList()
        list.contacts = try await self.context.repository.contacts(of: identity.userID).map { entry in
            var contact = Polygate_Gateway_V1_Contact()
            contact.userID = Data(entry.user)
            contact.state = entry.mine && entry.theirs ? .mutual : entry.mine ? .outgoing : .incoming
            return contact
        }
        var response = self.response(requestID)
        response.contacts = list
        self.respond(response)
    }

    /// `ContactRequest`, `ContactAccept`, `ContactRevoke`. A user who blocked the caller is
    /// answered as if the request were pending, so that nobody learns they are blocked.
    func contact(_ action: String, _ other: some Collection<UInt8>, _ identity: Identity, _ requestID: UInt64) async throws {
        guard other.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
        guard UserID(other) != identity.userID else { throw GatewayWireError(.badRequest, "you are not your own contact") }
        switch try await self.context.repository.contact(action, user: identity.userID, other: UserID(other)) {
        case .blockedByMe: throw GatewayWireError(.blocked, "you blocked this user; unblock first")
        case .noRequest: throw GatewayWireError(.noRequest, "this user has not asked to be your contact")
        case .mutual, .outgoing, .none, .blockedByThem: break
        }
        self.respond(self.response(requestID))
    }
}
