import Foundation
import GatewayClient
import GatewayWire
import MLS
import Primitives
import SwiftProtobuf

/// What the gateway sends, processed in order: Welcomes, log entries (MLS messages), and the
/// rest (presence, contact events, low KeyPackage pools).
extension ChatEngine {
    func setConnected(_ flag: Bool) { self.connected = flag }

    func startCatchUp() { self.caughtUp = false }

    /// Handles one server frame.
    func handle(_ frame: GatewayConnection.ServerFrame, session: ChatSession) async {
        switch frame.body {
        case .caughtUp:
            self.caughtUp = true
        case .welcome(let notice):
            self.join(notice)
        case .delivery(let delivery):
            await self.process(delivery, session: session)
        case .keyPackagesLow:
            if self.caughtUp { try? await self.replenishKeyPackages(session) }
        case .presence(let presence):
            self.presence[Hex.encode(presence.userID)] = presence
        case .contact(let event):
            let who = String(Hex.encode(event.userID).prefix(12))
            switch event.state {
            case .incoming:
                self.notices.append("\(who) asks to be your contact (polychat contacts accept \(Hex.encode(event.userID)))")
            case .mutual: self.notices.append("\(who) and you are contacts")
            case .none: self.notices.append("\(who) is no longer your contact")
            default: break
            }
        case .goAway(let goAway):
            self.notices.append("the gateway closes the connection: \(goAway.reason)")
        default:
            break
        }
    }

    // MARK: Welcomes

    /// Joins a group from a Welcome with one of this device's stored KeyPackages.
    func join(_ notice: Polygate_Gateway_V1_WelcomeNotice) {
        let conv = Hex.encode(notice.convID)
        if let existing = self.state.conversations.first(where: { $0.id == conv }), !existing.left { return }
        guard case .welcome(let welcome)? = try? MLSMessage.decode([UInt8](notice.welcome)) else {
            self.notices.append("a Welcome to \(conv.prefix(12)) does not decode")
            return
        }
        for (index, stored) in self.state.keyPackages.enumerated() {
            guard let secrets = self.secrets(stored), let group = try? MLSGroup(welcome: welcome, keyPackage: secrets) else {
                continue
            }
            if !stored.lastResort { self.state.keyPackages.remove(at: index) }
            self.state.conversations.removeAll { $0.id == conv }
            self.state.conversations.append(Self.joined(conv, group, lastSeq: notice.seq))
            self.groups[conv] = group
            self.notices.append("you were added to \(conv.prefix(12))")
            return
        }
        self.notices.append("a Welcome to \(conv.prefix(12)) is for a KeyPackage this device no longer has")
    }

    /// A conversation this device just joined (its name and kind come with the next `meta`).
    static func joined(_ conv: String, _ group: MLSGroup, lastSeq: UInt64) -> ConversationRecord {
        ConversationRecord(
            id: conv,
            name: String(conv.prefix(12)),
            kind: .room,
            peer: nil,
            group: Hex.encode(group.serialized()),
            lastSeq: lastSeq,
            messages: [],
            unread: 0,
            left: false,
            members: Self.users(of: group)
        )
    }

    func secrets(_ stored: StoredKeyPackage) -> KeyPackageSecrets? {
        guard let bytes = Hex.decode(stored.keyPackage), case .keyPackage(let keyPackage)? = try? MLSMessage.decode(bytes),
            let initKey = Hex.decode(stored.initPrivateKey), let encryptionKey = Hex.decode(stored.encryptionPrivateKey)
        else { return nil }
        return KeyPackageSecrets(
            keyPackage: keyPackage,
            initPrivateKey: SecretBytes(initKey),
            encryptionPrivateKey: SecretBytes(encryptionKey),
            signingKey: self.device.deviceKey
        )
    }

    // MARK: Log entries

    /// One log entry of a conversation, in order.
    func process(_ delivery: Polygate_Gateway_V1_Delivery, session: ChatSession) async {
        let conv = Hex.encode(delivery.convID)
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }) else {
            // A conversation of this user that this device is not in (a new device): join it.
            if !self.joining.contains(conv) {
                self.joining.insert(conv)
                await self.joinExternally(conv, session: session)
                self.joining.remove(conv)
            }
            return
        }
        guard delivery.seq > self.state.conversations[index].lastSeq else { return }
        defer {
            if let index = self.state.conversations.firstIndex(where: { $0.id == conv }) {
                self.state.conversations[index].lastSeq = max(self.state.conversations[index].lastSeq, delivery.seq)
            }
            self.unacked[conv] = max(self.unacked[conv] ?? 0, delivery.seq)
        }
        // Our own application messages: stored when sent (and undecryptable by us anyway).
        if delivery.kind == .application, [UInt8](delivery.senderDevice) == self.device.deviceID { return }
        guard !self.state.conversations[index].left, var group = self.group(conv) else { return }
        guard let message = try? MLSMessage.decode([UInt8](delivery.message)) else {
            self.notices.append("a message in \(self.state.conversations[index].name) does not decode")
            return
        }
        do {
            switch try group.process(message) {
            case .application(let data, let sender, _):
                self.groups[conv] = group
                self.received(data, from: sender, in: conv, group: group, seq: delivery.seq, at: delivery.acceptedMs)
            case .proposal:
                self.groups[conv] = group
            case .commit(let outcome):
                self.groups[conv] = group
                self.applied(outcome, in: conv, group: group)
            }
        } catch {
            self.notices.append("a message in \(self.state.conversations[index].name) could not be read: \(error)")
        }
    }

    /// An application message: text or the conversation's metadata.
    func received(_ data: [UInt8], from leaf: UInt32, in conv: String, group: MLSGroup, seq: UInt64, at acceptedMs: UInt64) {
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }) else { return }
        let sender = group.members.first { $0.leaf == leaf }.flatMap { Self.user(of: $0.node) } ?? "unknown"
        guard let message = try? JSONDecoder().decode(AppMessage.self, from: Data(data)) else {
            self.notices.append("a message in \(self.state.conversations[index].name) is not from polychat")
            return
        }
        switch message.kind {
        case .text:
            self.append(
                ChatMessage(
                    seq: seq,
                    sender: sender,
                    senderName: message.from.map { String($0.prefix(64)) },
                    text: message.text ?? "",
                    sentAtMs: message.sentAtMs,
                    own: sender == self.userID,
                    notice: false
                ),
                to: index,
                unread: sender != self.userID
            )
        case .meta:
            if let name = message.name { self.state.conversations[index].name = name }
            if let kind = message.conversation { self.state.conversations[index].kind = kind }
            if self.state.conversations[index].kind == .dm {
                self.state.conversations[index].peer = self.state.conversations[index].members.first { $0 != self.userID }
            }
        }
    }

    /// Stores a message (up to `history` per conversation); `arrived`: it came from the
    /// gateway in this session (the line mode prints those).
    func append(_ message: ChatMessage, to index: Int, unread: Bool, arrived: Bool = true) {
        if arrived {
            self.arrivals.append((self.state.conversations[index].id, message))
            if self.arrivals.count > 1000 { self.arrivals.removeFirst(self.arrivals.count - 1000) }
        }
        guard self.identity.history > 0 else {
            if unread { self.state.conversations[index].unread += 1 }
            return
        }
        self.state.conversations[index].messages.append(message)
        let overflow = self.state.conversations[index].messages.count - self.identity.history
        if overflow > 0 { self.state.conversations[index].messages.removeFirst(overflow) }
        if unread { self.state.conversations[index].unread += 1 }
    }

    /// A commit was applied: membership, and the end when this device was removed.
    func applied(_ outcome: CommitOutcome, in conv: String, group: MLSGroup) {
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }) else { return }
        let before = Set(self.state.conversations[index].members)
        if outcome.removedSelf {
            self.state.conversations[index].left = true
            self.state.conversations[index].group = nil
            self.groups[conv] = nil
            self.append(
                ChatMessage(
                    seq: 0,
                    sender: "",
                    senderName: nil,
                    text: "you were removed",
                    sentAtMs: Self.nowMs(),
                    own: false,
                    notice: true
                ),
                to: index,
                unread: false
            )
            self.notices.append("you were removed from \(self.state.conversations[index].name)")
            return
        }
        let after = Self.users(of: group)
        self.state.conversations[index].members = after
        // A device that joined by itself (external commit) knows neither the name nor the kind:
        // the longest-standing other member tells it (the lowest leaf other than the joiner's).
        if outcome.external, group.members.map(\.leaf).filter({ $0 != outcome.committer }).min() == group.ownLeaf {
            self.metaDue.insert(conv)
        }
        for user in Set(after).subtracting(before) {
            self.append(
                ChatMessage(
                    seq: 0,
                    sender: user,
                    senderName: nil,
                    text: "joined",
                    sentAtMs: Self.nowMs(),
                    own: false,
                    notice: true
                ),
                to: index,
                unread: false
            )
        }
        for user in before.subtracting(after) {
            self.append(
                ChatMessage(
                    seq: 0,
                    sender: user,
                    senderName: nil,
                    text: "left",
                    sentAtMs: Self.nowMs(),
                    own: false,
                    notice: true
                ),
                to: index,
                unread: false
            )
        }
    }

    // MARK: Groups

    /// The MLS group of a conversation (loaded from the state the first time).
    func group(_ conv: String) -> MLSGroup? {
        if let group = self.groups[conv] { return group }
        guard let record = self.state.conversations.first(where: { $0.id == conv }), let hex = record.group,
            let bytes = Hex.decode(hex),
            let group = try? MLSGroup(serialized: bytes)
        else { return nil }
        self.groups[conv] = group
        return group
    }

    /// The user ids (hex) of a group's members, from their credentials (device certificates).
    static func users(of group: MLSGroup) -> [String] {
        var users: [String] = []
        for member in group.members {
            if let user = Self.user(of: member.node), !users.contains(user) { users.append(user) }
        }
        return users.sorted()
    }

    /// The user a leaf belongs to: its basic credential is the device certificate.
    static func user(of leaf: LeafNode) -> String? {
        guard case .basic(let identity) = leaf.credential,
            let signed = try? Polygate_Gateway_V1_SignedDeviceCertificate(serializedBytes: identity),
            let verified = try? VerifiedDeviceCertificate(signed, nowMs: Self.nowMs()),
            verified.deviceID == leaf.signatureKey
        else { return nil }
        return Hex.encode(verified.userID)
    }

    func epoch(_ conv: String) -> UInt64 { self.group(conv)?.epoch ?? 0 }

    func lastSeq(_ conv: String) -> UInt64 { self.state.conversations.first { $0.id == conv }?.lastSeq ?? 0 }

    // MARK: Acks and housekeeping

    /// Saves, then acks what was processed (saving first: a crash never loses an acked entry).
    func flushAcks(_ session: ChatSession) async {
        for conv in self.metaDue.sorted() {
            self.metaDue.remove(conv)
            try? await self.sendMeta(conv, session: session)
        }
        guard !self.unacked.isEmpty else { return }
        try? self.saveNow()
        let acks = self.unacked
        self.unacked = [:]
        for (conv, seq) in acks {
            guard let bytes = Hex.decode(conv) else { continue }
            _ = try? await session.connection.call(
                .ack(
                    .with {
                        $0.convID = .init(bytes)
                        $0.seq = seq
                    }
                )
            )
        }
    }

    /// After the backlog: commit the removals members asked for while away, ack.
    func afterCatchUp(_ session: ChatSession) async {
        for record in self.state.conversations where !record.left {
            guard let group = self.group(record.id), group.cachedProposalCount > 0 else { continue }
            try? await self.commit(record.id, session: session, added: [], removed: nil) { group in try group.commitPending() }
        }
        await self.flushAcks(session)
    }
}
