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

    func startCatchUp() {
        self.caughtUp = false
        self.rejoinTried = []
    }

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
        case .deviceRevoked(let revoked):
            // Removed from every group it is in, by the next flush (the first member to commit wins).
            self.revokedDue.insert(Hex.encode(revoked.deviceID))
        case .contact(let event):
            self.rememberContacts([Hex.encode(event.userID)])
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
    ///
    /// A Welcome for a conversation this device is in already, at or before what it has read,
    /// is old news (the gateway repeats Welcomes until they are acked). A newer one — this user
    /// was removed and added again while away — replaces the group state, which can no longer
    /// follow the log. A Welcome this device cannot use is never passed over in silence: the
    /// user is told, and the device joins by itself (external commit) after catching up.
    func join(_ notice: Polygate_Gateway_V1_WelcomeNotice) {
        let conv = Hex.encode(notice.convID)
        let existing = self.state.conversations.first { $0.id == conv }
        if let existing, !existing.left, existing.lastSeq >= notice.seq { return }
        guard case .welcome(let welcome)? = try? MLSMessage.decode([UInt8](notice.welcome)) else {
            self.cannotUse(notice, "it does not decode")
            return
        }
        for (index, stored) in self.state.keyPackages.enumerated() {
            guard let secrets = self.secrets(stored),
                let group = try? MLSGroup(welcome: welcome, keyPackage: secrets, configuration: Self.groupConfiguration)
            else {
                continue
            }
            if !stored.lastResort { self.state.keyPackages.remove(at: index) }
            self.adopt(group, in: conv, at: notice.seq)
            // Acking the Welcome's Commit drops the Welcome at the gateway.
            self.unacked[conv] = max(self.unacked[conv] ?? 0, notice.seq)
            self.notices.append(
                existing == nil ? "you were added to \(conv.prefix(12))" : "you were added again to \(existing!.name)"
            )
            return
        }
        self.cannotUse(notice, "it is for a KeyPackage this device no longer has")
    }

    /// A Welcome that cannot be used: say so (once: it is acked, so the gateway drops it), and
    /// join by external commit instead. When that cannot be done either, the conversation is
    /// given up (``ChatState/ignored``).
    private func cannotUse(_ notice: Polygate_Gateway_V1_WelcomeNotice, _ why: String) {
        let conv = Hex.encode(notice.convID)
        self.unacked[conv] = max(self.unacked[conv] ?? 0, notice.seq)
        guard !(self.state.ignored ?? []).contains(conv) else { return }
        self.notices.append("a Welcome to \(conv.prefix(12)) cannot be used (\(why)); this device joins by itself")
        self.markRejoin(conv)
    }

    func markRejoin(_ conv: String) {
        var rejoin = Set(self.state.rejoin ?? [])
        rejoin.insert(conv)
        self.state.rejoin = rejoin.sorted()
    }

    /// Makes `group` this device's state of `conv`, read up to `seq`: a new conversation (named
    /// after its export hint if any, else by its id until a `meta` names it), or a known one
    /// whose name, kind, peer and messages are kept.
    func adopt(_ group: MLSGroup, in conv: String, at seq: UInt64) {
        self.groups[conv] = group
        var rejoin = Set(self.state.rejoin ?? [])
        if rejoin.remove(conv) != nil { self.state.rejoin = rejoin.isEmpty ? nil : rejoin.sorted() }
        var ignored = Set(self.state.ignored ?? [])
        if ignored.remove(conv) != nil { self.state.ignored = ignored.isEmpty ? nil : ignored.sorted() }
        if let index = self.state.conversations.firstIndex(where: { $0.id == conv }) {
            self.state.conversations[index].group = Hex.encode(group.serialized())
            self.state.conversations[index].lastSeq = seq
            self.state.conversations[index].left = false
            self.state.conversations[index].members = Self.users(of: group)
            return
        }
        var record = ConversationRecord(
            id: conv,
            name: String(conv.prefix(12)),
            kind: .room,
            peer: nil,
            group: Hex.encode(group.serialized()),
            lastSeq: seq,
            messages: [],
            unread: 0,
            left: false,
            members: Self.users(of: group)
        )
        if let hint = self.state.directory?.first(where: { $0.id == conv }) {
            record.name = hint.name
            record.kind = hint.kind
            record.peer = hint.peer
        }
        self.state.conversations.append(record)
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
            // Given up on: acked and dropped (whoever made it cannot make this device retry).
            if (self.state.ignored ?? []).contains(conv) {
                self.unacked[conv] = max(self.unacked[conv] ?? 0, delivery.seq)
                return
            }
            // A conversation of this user that this device is not in (a new device): join it.
            if !self.joining.contains(conv) {
                self.joining.insert(conv)
                _ = await self.joinExternally(conv, session: session)
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
        if delivery.kind == .application, DeviceID(delivery.senderDevice) == self.device.deviceID { return }
        guard !self.state.conversations[index].left, var group = self.group(conv) else { return }
        // Built in an epoch this device never reached: it missed Commits it can no longer get
        // (removed and added again while away, say) and must join again to read on.
        if delivery.epoch > group.epoch {
            if !(self.state.rejoin ?? []).contains(conv) {
                self.notices.append("this device fell behind in \(self.state.conversations[index].name) and joins it again")
                self.markRejoin(conv)
            }
            return
        }
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
        if sender != self.userID { self.rememberPublishedName(message.from, of: sender) }
        switch message.kind {
        case .text, .attachment:
            // Someone this user blocks is not heard in rooms (in a DM the gateway refuses them).
            if (self.state.blocked ?? []).contains(sender) { return }
            if message.kind == .attachment, message.attachment.map(Self.usable) != true {
                self.notices.append("a file in \(self.state.conversations[index].name) is malformed and was dropped")
                return
            }
            self.append(
                ChatMessage(
                    seq: seq,
                    sender: sender,
                    senderName: message.from.map { String($0.prefix(64)) },
                    text: message.text ?? "",
                    sentAtMs: message.sentAtMs,
                    own: sender == self.userID,
                    notice: false,
                    attachment: message.kind == .attachment ? message.attachment : nil
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
            self.record(.message(conversation: self.state.conversations[index].id, message))
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
            let group = try? MLSGroup(serialized: bytes, configuration: Self.groupConfiguration)
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
            verified.deviceID.bytes == leaf.signatureKey
        else { return nil }
        return Hex.encode(verified.userID)
    }

    func epoch(_ conv: String) -> UInt64 { self.group(conv)?.epoch ?? 0 }

    func lastSeq(_ conv: String) -> UInt64 { self.state.conversations.first { $0.id == conv }?.lastSeq ?? 0 }

    // MARK: Acks and housekeeping

    /// Saves, then acks what was processed (saving first: a crash never loses an acked entry).
    /// Before that: names sent to devices that joined by themselves, revoked devices removed
    /// (told live by `DeviceRevoked`), conversations joined again that need it.
    func flushAcks(_ session: ChatSession) async {
        for conv in self.metaDue.sorted() {
            self.metaDue.remove(conv)
            try? await self.sendMeta(conv, session: session)
        }
        if !self.revokedDue.isEmpty {
            let devices = self.revokedDue
            self.revokedDue = []
            await self.removeRevoked(devices, session: session)
        }
        // A Welcome that could not be used or a group that fell behind, met live (the terminal
        // UI): join again now rather than at the next connection.
        // Once per conversation and connection: a join that fails is not retried every step.
        let untried = (self.state.rejoin ?? []).filter { !self.rejoinTried.contains($0) }
        if self.caughtUp, !untried.isEmpty {
            self.rejoinTried.formUnion(untried)
            await self.joinPending(session)
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

    /// After the backlog: learn the blocks; join what this device must join by itself (its
    /// export's conversations, Welcomes it could not use, groups that fell behind); commit the
    /// removals members asked for while away and those of revoked devices; ack.
    func afterCatchUp(_ session: ChatSession) async {
        if let blocked = try? await session.call(.listBlocked(.init())).blocked.userIds {
            self.state.blocked = blocked.map { Hex.encode($0) }.sorted()
        }
        self.rejoinTried.formUnion(self.state.rejoin ?? [])
        await self.joinPending(session)
        for record in self.state.conversations where !record.left {
            guard let group = self.group(record.id), group.cachedProposalCount > 0 else { continue }
            try? await self.commit(record.id, session: session, added: [], removed: nil) { group in try group.commitPending() }
        }
        await self.removeRevoked(nil, session: session)
        await self.flushAcks(session)
    }

    /// Joins by external commit the conversations of the export's directory this device is not
    /// in yet, and those marked for rejoining.
    func joinPending(_ session: ChatSession) async {
        let known = Set(self.state.conversations.filter { !$0.left }.map(\.id))
        var due = (self.state.directory ?? []).map(\.id).filter { !known.contains($0) }
        due += (self.state.rejoin ?? []).filter { !due.contains($0) }
        var gone: Set<String> = []
        var givenUp: Set<String> = []
        for conv in due where !self.joining.contains(conv) {
            self.joining.insert(conv)
            switch await self.joinExternally(conv, session: session) {
            case .notMember: gone.insert(conv)
            case .failed(lasting: true)
            where (self.state.rejoin ?? []).contains(conv)
                && !self.state.conversations.contains(where: { $0.id == conv && !$0.left }):
                // A conversation this device never could read, and cannot join: given up.
                givenUp.insert(conv)
            default: break
            }
            self.joining.remove(conv)
        }
        if !givenUp.isEmpty {
            self.state.ignored = Set(self.state.ignored ?? []).union(givenUp).sorted()
            gone.formUnion(givenUp)
            for conv in givenUp.sorted() {
                self.notices.append("gave up on \(conv.prefix(12)): it cannot be joined; a member can add this device again")
            }
        }
        // A hint is dropped once its conversation is joined, or when this user is not in it.
        if let directory = self.state.directory {
            let joined = Set(self.state.conversations.map(\.id))
            let left = directory.filter { !joined.contains($0.id) && !gone.contains($0.id) }
            self.state.directory = left.isEmpty ? nil : left
        }
        if !gone.isEmpty, let rejoin = self.state.rejoin {
            let left = rejoin.filter { !gone.contains($0) }
            self.state.rejoin = left.isEmpty ? nil : left
        }
    }
}
