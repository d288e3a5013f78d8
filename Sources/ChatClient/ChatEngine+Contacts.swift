import Foundation
import GatewayClient
package import GatewayWire
import Primitives
import SwiftProtobuf

/// Contacts by mutual consent and presence (docs/GATEWAY_SPEC.md §10).
extension ChatEngine {
    /// A contact as listed.
    package struct Contact: Sendable, Codable, Hashable {
        package var user: String
        /// `mutual`, `outgoing` (you asked) or `incoming` (they asked).
        package var state: String
        /// `online`, `offline`, or nil when not known (only mutual contacts have one).
        package var presence: String?
        /// `now`, `hour`, `day`, `week`, `longer`.
        package var lastSeen: String?
        /// The user's petname here, else the name it publishes; nil when it has none.
        package var name: String?
        /// How listings show the user: `name (c9f4…)`, or the short id.
        package var label: String
    }

    package enum ContactAction: String, Sendable, CaseIterable {
        case request, accept, revoke, block, unblock
    }

    /// The contacts, with the presence of mutual ones (watched on this connection).
    package func contacts(session: ChatSession) async throws -> [Contact] {
        let list = try await session.call(.listContacts(.init())).contacts.contacts
        self.rememberContacts(list.map { Hex.encode($0.userID) })
        let mutual = list.filter { $0.state == .mutual }.map { UserID($0.userID) }
        if !mutual.isEmpty { _ = try await self.watch(mutual, session: session) }
        return list.map { contact in
            let user = Hex.encode(contact.userID)
            let state: String =
                switch contact.state {
                case .mutual: "mutual"
                case .outgoing: "outgoing"
                default: "incoming"
                }
            let presence = contact.state == .mutual ? self.presence[user] : nil
            return Contact(
                user: user,
                state: state,
                presence: presence.map(Self.status),
                lastSeen: presence.map(Self.lastSeen),
                name: self.name(of: user),
                label: self.label(user)
            )
        }
    }

    package func contact(_ action: ContactAction, _ user: UserID, session: ChatSession) async throws {
        switch action {
        case .request: try await session.call(.contactRequest(.with { $0.userID = .init(user) }))
        case .accept: try await session.call(.contactAccept(.with { $0.userID = .init(user) }))
        case .revoke: try await session.call(.contactRevoke(.with { $0.userID = .init(user) }))
        case .block, .unblock:
            try await session.call(
                .setBlocked(
                    .with {
                        $0.userID = .init(user)
                        $0.blocked = action == .block
                    }
                )
            )
            var blocked = Set(self.state.blocked ?? [])
            if action == .block { blocked.insert(Hex.encode(user)) } else { blocked.remove(Hex.encode(user)) }
            self.state.blocked = blocked.sorted()
            try self.saveNow()
        }
    }

    package func setInvisible(_ invisible: Bool, session: ChatSession) async throws {
        try await session.call(.setPresence(.with { $0.invisible = invisible }))
        self.setInvisibleRecord(invisible)
        try self.saveNow()
    }

    /// Watches users (mutual contacts answer; anyone else is `unavailable`).
    package func watch(_ users: [UserID], session: ChatSession) async throws -> [Contact] {
        let presences = try await session.call(.watch(.with { $0.userIds = users.map { .init($0) } })).watch.presences
        for presence in presences where presence.status != .unavailable { self.presence[Hex.encode(presence.userID)] = presence }
        return presences.map { presence in
            let user = Hex.encode(presence.userID)
            return Contact(
                user: user,
                state: presence.status == .unavailable ? "none" : "mutual",
                presence: Self.status(presence),
                lastSeen: Self.lastSeen(presence),
                name: self.name(of: user),
                label: self.label(user)
            )
        }
    }

    /// The last known presence of watched users: user id (hex) → `online` / `offline`.
    package var presenceByUser: [String: String] { self.presence.mapValues(Self.status) }

    /// Watches the peers of this device's DMs (mutual contacts among them answer), so lists
    /// can show them; errors are ignored (presence is a nicety).
    package func watchPeers(session: ChatSession) async {
        let peers = Set(self.state.conversations.compactMap { $0.kind == .dm && !$0.left ? $0.peer : nil }).compactMap {
            Hex.decode($0).map(UserID.init)
        }
        guard !peers.isEmpty else { return }
        _ = try? await self.watch(Array(peers.prefix(50)), session: session)
    }

    static func status(_ presence: Polygate_Gateway_V1_Presence) -> String {
        switch presence.status {
        case .online: "online"
        case .offline: "offline"
        default: "unavailable"
        }
    }

    static func lastSeen(_ presence: Polygate_Gateway_V1_Presence) -> String {
        switch presence.lastSeen {
        case .now: "now"
        case .hour: "within the hour"
        case .day: "today"
        case .week: "this week"
        case .longer: "longer ago"
        default: "unknown"
        }
    }
}
