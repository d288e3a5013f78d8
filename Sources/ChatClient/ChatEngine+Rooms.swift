import Foundation
import GatewayClient
import GatewayWire
import MLS
import PolycentricClient
import Primitives
import SwiftProtobuf

/// Rooms and DMs: every change of membership is an MLS Commit that the gateway orders; this
/// device applies its own Commit only when the gateway echoes it (echo-before-apply), and
/// rebuilds it when another Commit won the epoch.
extension ChatEngine {
    // MARK: Creating

    /// Creates a room (or a DM, with `kind`) with this user as its only member — and this user's
    /// other devices, which are added at once.
    public func createRoom(
        _ name: String,
        kind: ConversationRecord.Kind = .room,
        session: ChatSession
    ) async throws -> ConversationRecord {
        let leaf = try self.leafTemplate()
        var group: MLSGroup
        do {
            group = try MLSGroup.create(cipherSuite: Self.suite, leafNode: leaf, signingKey: self.device.deviceKey)
        } catch {
            throw ChatError(.badState, "cannot create the group: \(error)")
        }
        let conv = Hex.encode(group.groupID)
        let groupInfo: [UInt8]
        do {
            groupInfo = MLSMessage.groupInfo(try group.groupInfo()).encoded
        } catch {
            throw ChatError(.badState, "cannot sign the GroupInfo: \(error)")
        }
        try await session.call(
            .createConversation(
                .with {
                    $0.convID = .init(group.groupID)
                    $0.groupInfo = .init(groupInfo)
                }
            )
        )
        self.groups[conv] = group
        self.state.conversations.append(
            ConversationRecord(
                id: conv,
                name: name,
                kind: kind,
                peer: nil,
                group: Hex.encode(group.serialized()),
                lastSeq: 0,
                messages: [],
                unread: 0,
                left: false,
                members: [self.userID]
            )
        )
        try self.saveNow()
        // This user's other devices are members too.
        let mine = try await self.claim(self.device.userID, session: session)
        if !mine.isEmpty { try await self.add(mine, users: [], to: conv, session: session) }
        try await self.sendMeta(conv, session: session)
        return try self.conversation(named: conv)
    }

    /// Adds a user (every device of it that has a KeyPackage) to a conversation.
    public func invite(_ user: [UInt8], to conv: String, session: ChatSession) async throws {
        let claimed = try await self.claimToAdd(user, session: session)
        try await self.add(claimed, users: [user], to: conv, session: session)
        try await self.sendMeta(conv, session: session)
    }

    /// One KeyPackage per device of a user to add (who must not be this user).
    func claimToAdd(_ user: [UInt8], session: ChatSession) async throws -> [Polygate_Gateway_V1_ClaimedKeyPackage] {
        guard user != self.device.userID else { throw ChatError(.badArgument, "that is you") }
        let claimed = try await self.claim(user, session: session)
        guard !claimed.isEmpty else {
            throw ChatError(
                .notFound,
                "\(Hex.encode(user).prefix(12)) has no device to add (has it ever run polychat against this gateway?)"
            )
        }
        return claimed
    }

    /// Removes a user (all its devices) from a conversation.
    public func remove(_ user: [UInt8], from conv: String, session: ChatSession) async throws {
        let hex = Hex.encode(user)
        guard let group = self.group(conv) else { throw ChatError(.notMember, "this device is not in that conversation") }
        let leaves = group.members.filter { Self.user(of: $0.node) == hex }.map(\.leaf)
        guard !leaves.isEmpty else { throw ChatError(.notFound, "\(hex.prefix(12)) is not a member") }
        try await self.commit(conv, session: session, added: [], removed: [user]) { group in try group.removeMembers(leaves) }
    }

    /// Leaves a conversation: asks the others (a Remove proposal for each of this user's
    /// devices), which the next member online commits; this device stops reading it now.
    public func leave(_ conv: String, session: ChatSession) async throws {
        guard var group = self.group(conv), let index = self.state.conversations.firstIndex(where: { $0.id == conv }) else {
            throw ChatError(.notMember, "this device is not in that conversation")
        }
        let mine = group.members.filter { Self.user(of: $0.node) == self.userID }.map(\.leaf)
        for leaf in mine {
            let proposal: MLSMessage
            do {
                proposal = try group.propose(.remove(Proposal.Remove(removed: leaf)))
            } catch {
                throw ChatError(.badState, "cannot propose leaving: \(error)")
            }
            try await session.call(.send(Self.send(conv, .proposal, epoch: group.epoch, proposal.encoded)))
        }
        self.groups[conv] = nil
        self.state.conversations[index].left = true
        self.state.conversations[index].group = nil
        try self.saveNow()
    }

    // MARK: Messages

    /// Sends a text message.
    @discardableResult
    public func send(_ text: String, to conv: String, session: ChatSession) async throws -> ChatMessage {
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }), !self.state.conversations[index].left
        else {
            throw ChatError(.notMember, "you are not in that conversation any more")
        }
        let message = AppMessage(kind: .text, text: text, from: self.social.username, sentAtMs: Self.nowMs())
        let seq = try await self.sendApplication(message, to: conv, session: session)
        let stored = ChatMessage(
            seq: seq,
            sender: self.userID,
            senderName: self.social.username,
            text: text,
            sentAtMs: message.sentAtMs,
            own: true,
            notice: false
        )
        if let index = self.state.conversations.firstIndex(where: { $0.id == conv }) {
            self.append(stored, to: index, unread: false, arrived: false)
        }
        try self.saveNow()
        return stored
    }

    /// The DM with `user`: the existing one, or a new one (created, `user` invited).
    public func dm(_ user: [UInt8], session: ChatSession) async throws -> ConversationRecord {
        let hex = Hex.encode(user)
        if let existing = self.state.conversations.first(where: { $0.kind == .dm && $0.peer == hex && !$0.left }) {
            return existing
        }
        // Claimed first: a refusal (blocked, unknown user) leaves no empty conversation behind.
        let claimed = try await self.claimToAdd(user, session: session)
        let record = try await self.createRoom("dm", kind: .dm, session: session)
        try await self.add(claimed, users: [user], to: record.id, session: session)
        try await self.sendMeta(record.id, session: session)
        if let index = self.state.conversations.firstIndex(where: { $0.id == record.id }) {
            self.state.conversations[index].peer = hex
        }
        try self.saveNow()
        return try self.conversation(named: record.id)
    }

    /// The conversation's name and kind, for members who joined by Welcome.
    func sendMeta(_ conv: String, session: ChatSession) async throws {
        guard let record = self.state.conversations.first(where: { $0.id == conv }) else { return }
        _ = try await self.sendApplication(
            AppMessage(kind: .meta, name: record.name, conversation: record.kind, sentAtMs: Self.nowMs()),
            to: conv,
            session: session
        )
    }

    func sendApplication(_ message: AppMessage, to conv: String, session: ChatSession) async throws -> UInt64 {
        guard var group = self.group(conv) else { throw ChatError(.notMember, "this device is not in that conversation") }
        let encrypted: MLSMessage
        do {
            encrypted = try group.encrypt(try Vault.encode(message))
        } catch let error as ChatError {
            throw error
        } catch {
            throw ChatError(.badState, "cannot encrypt: \(error)")
        }
        self.groups[conv] = group
        try self.saveNow()  // the ratchet moved: never reuse a key after a crash
        let response = try await session.call(.send(Self.send(conv, .application, epoch: group.epoch, encrypted.encoded)))
        return response.send.seq
    }

    // MARK: Commits

    /// Adds claimed KeyPackages (of `users`, or of this user's other devices) in one Commit.
    func add(
        _ claimed: [Polygate_Gateway_V1_ClaimedKeyPackage],
        users: [[UInt8]],
        to conv: String,
        session: ChatSession
    ) async throws {
        let keyPackages = claimed.compactMap { claim -> KeyPackage? in
            guard case .keyPackage(let keyPackage)? = try? MLSMessage.decode([UInt8](claim.keyPackage)) else { return nil }
            return keyPackage
        }
        guard !keyPackages.isEmpty else { throw ChatError(.refused, "the claimed KeyPackages do not decode") }
        try await self.commit(
            conv,
            session: session,
            added: users,
            removed: [],
            welcomeDevices: claimed.map { [UInt8]($0.deviceID) }
        ) { group in
            try group.addMembers(keyPackages)
        }
    }

    /// Makes a Commit with `make`, sends it, and applies it when it comes back; when another
    /// Commit won the epoch, catches up and makes it again (three tries).
    ///
    /// - Parameter removed: the users the Commit removes (nil: those left with no device).
    func commit(
        _ conv: String,
        session: ChatSession,
        added: [[UInt8]],
        removed: [[UInt8]]?,
        welcomeDevices: [[UInt8]] = [],
        _ make: (inout MLSGroup) throws -> CommitResult
    ) async throws {
        for _ in 1...3 {
            guard var group = self.group(conv) else { throw ChatError(.notMember, "this device is not in that conversation") }
            let before = Set(Self.users(of: group))
            let result: CommitResult
            do {
                result = try make(&group)
            } catch {
                throw ChatError(.badState, "cannot make the commit: \(error)")
            }
            self.groups[conv] = group
            // Users none of whose devices remain are removed at the gateway too.
            let remaining = group.members.filter { !result.outcome.removed.keys.contains($0.leaf) }.compactMap {
                Self.user(of: $0.node)
            }
            let gone = removed ?? before.subtracting(Set(remaining)).compactMap { Hex.decode($0) }
            var body = Self.send(conv, .commit, epoch: group.epoch, result.commit.encoded)
            body.addedUsers = added.map { .init($0) }
            body.removedUsers = gone.map { .init($0) }
            body.groupInfo = .init(MLSMessage.groupInfo(result.groupInfo).encoded)
            if let welcome = result.welcome, !welcomeDevices.isEmpty {
                body.welcomeDevices = welcomeDevices.map { .init($0) }
                body.welcome = .init(MLSMessage.welcome(welcome).encoded)
            }
            do {
                let response = try await session.connection.call(.send(body))
                let seq = response.send.seq
                // Echo-before-apply: the Commit takes effect when it comes back in order.
                try await session.pump { await $0.lastSeq(conv) >= seq }
                try self.saveNow()
                return
            } catch let error as GatewayClientError where error.serverCode == .staleEpoch {
                self.groups[conv]?.discardPendingCommit()
                let current = error.server?.currentEpoch ?? 0
                try await session.pump { await $0.epoch(conv) >= current }
            } catch let error as GatewayClientError {
                self.groups[conv]?.discardPendingCommit()
                throw ChatSession.translate(error)
            }
        }
        throw ChatError(.refused, "other members kept changing the group; try again")
    }

    /// Joins a conversation of this user by external commit (a device added to the user
    /// after the conversation began).
    func joinExternally(_ conv: String, session: ChatSession) async {
        guard let id = Hex.decode(conv) else { return }
        for _ in 1...3 {
            do {
                let info = try await session.connection.call(.fetchGroupInfo(.with { $0.convID = .init(id) })).groupInfo
                guard case .groupInfo(let groupInfo) = try MLSMessage.decode([UInt8](info.groupInfo)) else { return }
                let (group, commit) = try MLSGroup.joinExternally(
                    groupInfo: groupInfo,
                    leafNode: try self.leafTemplate(),
                    signingKey: self.device.deviceKey
                )
                var body = Self.send(conv, .commit, epoch: groupInfo.groupContext.epoch, commit.encoded)
                body.groupInfo = .init(MLSMessage.groupInfo(try group.groupInfo()).encoded)
                let seq = try await session.connection.call(.send(body)).send.seq
                self.groups[conv] = group
                self.state.conversations.append(Self.joined(conv, group, lastSeq: seq))
                self.unacked[conv] = seq
                try? self.saveNow()
                self.notices.append("this device joined \(conv.prefix(12))")
                return
            } catch let error as GatewayClientError where error.serverCode == .staleEpoch {
                continue
            } catch {
                self.notices.append("this device could not join \(conv.prefix(12)): \(error)")
                return
            }
        }
    }

    // MARK: Pieces

    func leafTemplate() throws(ChatError) -> LeafNode {
        do {
            return try LeafNode.template(
                credential: .basic(identity: try self.device.certificate.serializedBytes()),
                signingKey: self.device.deviceKey,
                cipherSuite: Self.suite
            )
        } catch {
            throw ChatError(.badState, "cannot make this device's leaf: \(error)")
        }
    }

    /// One KeyPackage per device of `user` (other than this one).
    func claim(_ user: [UInt8], session: ChatSession) async throws(ChatError) -> [Polygate_Gateway_V1_ClaimedKeyPackage] {
        try await session.call(
            .claimKeyPackages(
                .with {
                    $0.userID = .init(user)
                    $0.cipherSuite = UInt32(Self.suite.id)
                }
            )
        ).claim.keyPackages
    }

    static func send(
        _ conv: String,
        _ kind: Polygate_Gateway_V1_MessageKind,
        epoch: UInt64,
        _ message: [UInt8]
    ) -> Polygate_Gateway_V1_Send {
        var body = Polygate_Gateway_V1_Send()
        body.convID = .init(Hex.decode(conv) ?? [])
        body.msgID = .init(SecureRandom.bytes(count: 16))
        body.kind = kind
        body.epoch = epoch
        body.message = .init(message)
        return body
    }

    // MARK: KeyPackages

    /// Keeps 20 one-time KeyPackages (and a last-resort one) on the gateway, with their
    /// private keys here.
    func replenishKeyPackages(_ session: ChatSession) async throws {
        let count = try await session.call(.countKeyPackages(.with { $0.cipherSuite = UInt32(Self.suite.id) })).count
        let wanted = max(0, 20 - Int(count.count))
        let needLastResort = !count.hasLastResort_p || !self.state.keyPackages.contains(where: \.lastResort)
        guard wanted >= 10 || needLastResort else { return }
        var fresh: [StoredKeyPackage] = []
        var upload = Polygate_Gateway_V1_UploadKeyPackages()
        for n in 0..<(wanted + (needLastResort ? 1 : 0)) {
            let made: KeyPackageSecrets
            do {
                made = try KeyPackage.make(
                    cipherSuite: Self.suite,
                    credential: .basic(identity: try self.device.certificate.serializedBytes()),
                    signingKey: self.device.deviceKey
                )
            } catch {
                throw ChatError(.badState, "cannot make KeyPackages: \(error)")
            }
            let bytes = MLSMessage.keyPackage(made.keyPackage).encoded
            let lastResort = needLastResort && n == wanted
            fresh.append(
                StoredKeyPackage(
                    keyPackage: Hex.encode(bytes),
                    initPrivateKey: Hex.encode(made.initPrivateKey.bytes),
                    encryptionPrivateKey: Hex.encode(made.encryptionPrivateKey.bytes),
                    lastResort: lastResort
                )
            )
            if lastResort { upload.lastResort = .init(bytes) } else { upload.keyPackages.append(.init(bytes)) }
        }
        // The secrets are stored before the packages go out: a Welcome can never find us without them.
        if needLastResort { self.state.keyPackages.removeAll(where: \.lastResort) }
        self.state.keyPackages += fresh
        try self.saveNow()
        try await session.call(.uploadKeyPackages(upload))
    }
}
