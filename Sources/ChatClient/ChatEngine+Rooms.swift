import Foundation
import GatewayClient
package import GatewayWire
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
    package func createRoom(
        _ name: String,
        kind: ConversationRecord.Kind = .room,
        session: ChatSession
    ) async throws -> ConversationRecord {
        let leaf = try self.leafTemplate()
        var group: MLSGroup
        do {
            group = try MLSGroup.create(
                cipherSuite: Self.suite,
                leafNode: leaf,
                signingKey: self.device.deviceKey,
                configuration: Self.groupConfiguration
            )
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
    package func invite(_ user: UserID, to conv: String, session: ChatSession) async throws {
        let claimed = try await self.claimToAdd(user, session: session)
        try await self.add(claimed, users: [user], to: conv, session: session)
        try await self.sendMeta(conv, session: session)
    }

    /// One KeyPackage per device of a user to add (who must not be this user).
    func claimToAdd(_ user: UserID, session: ChatSession) async throws -> [Polygate_Gateway_V1_ClaimedKeyPackage] {
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
    package func remove(_ user: UserID, from conv: String, session: ChatSession) async throws {
        let hex = Hex.encode(user)
        guard let group = self.group(conv) else { throw ChatError(.notMember, "this device is not in that conversation") }
        guard group.members.contains(where: { Self.user(of: $0.node) == hex }) else {
            throw ChatError(.notFound, "\(hex.prefix(12)) is not a member")
        }
        try await self.commit(conv, session: session, added: [], removed: [user]) { group in
            // Again on every try: another member may have changed the group meanwhile.
            let leaves = group.members.filter { Self.user(of: $0.node) == hex }.map(\.leaf)
            return leaves.isEmpty ? nil : try group.removeMembers(leaves)
        }
    }

    /// Removes the leaves of revoked devices from every group this device is in: `devices` (hex)
    /// as the gateway pushed them, or (nil) whichever leaves the gateway says are revoked. The
    /// first member online to commit wins; the others find nothing left to do.
    func removeRevoked(_ devices: Set<String>?, session: ChatSession) async {
        var revoked = devices ?? []
        if devices == nil {
            let own = Hex.encode(self.device.deviceID)
            var asked: Set<String> = []
            for record in self.state.conversations where !record.left {
                guard let group = self.group(record.id) else { continue }
                for member in group.members { asked.insert(Hex.encode(member.node.signatureKey)) }
            }
            asked.remove(own)
            let ids = asked.sorted()
            for start in stride(from: 0, to: ids.count, by: 1000) {
                let chunk = ids[start..<min(start + 1000, ids.count)].compactMap { Hex.decode($0) }
                guard
                    let answer = try? await session.call(.checkDevices(.with { $0.deviceIds = chunk.map { .init($0) } }))
                else { return }
                revoked.formUnion(answer.devices.revokedDeviceIds.map { Hex.encode($0) })
            }
        }
        guard !revoked.isEmpty else { return }
        for record in self.state.conversations where !record.left {
            guard let group = self.group(record.id),
                group.members.contains(where: { revoked.contains(Hex.encode($0.node.signatureKey)) })
            else { continue }
            do {
                try await self.commit(record.id, session: session, added: [], removed: nil) { group in
                    let leaves = group.members.filter { revoked.contains(Hex.encode($0.node.signatureKey)) }.map(\.leaf)
                    return leaves.isEmpty ? nil : try group.removeMembers(leaves)
                }
                self.notices.append("removed a revoked device from \(record.name)")
            } catch {
                self.notices.append("could not remove a revoked device from \(record.name): \(error)")
            }
        }
    }

    /// Leaves a conversation: asks the others (a Remove proposal for each of this user's
    /// devices), which the next member online commits; this device stops reading it now.
    package func leave(_ conv: String, session: ChatSession) async throws {
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
    package func send(_ text: String, to conv: String, session: ChatSession) async throws -> ChatMessage {
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
    package func dm(_ user: UserID, session: ChatSession) async throws -> ConversationRecord {
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
        users: [UserID],
        to conv: String,
        session: ChatSession
    ) async throws {
        // A device whose KeyPackage does not decode or is out of its lifetime (or longer-lived
        // than accepted) is left out, rather than failing the others.
        let now = UInt64(Date().timeIntervalSince1970)
        var usable: [(device: DeviceID, keyPackage: KeyPackage)] = []
        for claim in claimed {
            guard case .keyPackage(let keyPackage)? = try? MLSMessage.decode([UInt8](claim.keyPackage)),
                case .keyPackage(let lifetime) = keyPackage.leafNode.source,
                lifetime.notBefore <= now, now <= lifetime.notAfter,
                lifetime.notAfter >= lifetime.notBefore, lifetime.notAfter - lifetime.notBefore <= Self.maxKeyPackageLifetime
            else {
                self.notices.append("left out device \(Hex.encode(claim.deviceID).prefix(12)): its KeyPackage is not valid now")
                continue
            }
            usable.append((DeviceID(claim.deviceID), keyPackage))
        }
        guard !usable.isEmpty else { throw ChatError(.refused, "no claimed KeyPackage is valid now") }
        try await self.commit(
            conv,
            session: session,
            added: users,
            removed: [],
            welcomeDevices: usable.map(\.device)
        ) { group in
            try group.addMembers(usable.map(\.keyPackage))
        }
    }

    /// Makes a Commit with `make`, sends it, and applies it when it comes back; when another
    /// Commit won the epoch, catches up and makes it again (three tries).
    ///
    /// - Parameters:
    ///   - removed: the users the Commit removes (nil: those left with no device).
    ///   - make: the Commit, or nil when there is nothing (left) to commit.
    func commit(
        _ conv: String,
        session: ChatSession,
        added: [UserID],
        removed: [UserID]?,
        welcomeDevices: [DeviceID] = [],
        _ make: (inout MLSGroup) throws -> CommitResult?
    ) async throws {
        for _ in 1...3 {
            guard var group = self.group(conv) else { throw ChatError(.notMember, "this device is not in that conversation") }
            let before = Set(Self.users(of: group))
            let made: CommitResult?
            do {
                made = try make(&group)
            } catch {
                throw ChatError(.badState, "cannot make the commit: \(error)")
            }
            guard let result = made else { return }
            self.groups[conv] = group
            // Users none of whose devices remain are removed at the gateway too.
            let remaining = group.members.filter { !result.outcome.removed.keys.contains($0.leaf) }.compactMap {
                Self.user(of: $0.node)
            }
            let gone = removed ?? before.subtracting(Set(remaining)).compactMap { Hex.decode($0).map(UserID.init) }
            var body = Self.send(conv, .commit, epoch: group.epoch, result.commit.encoded)
            body.addedUsers = added.map { Data($0) }
            body.removedUsers = gone.map { Data($0) }
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

    enum JoinOutcome: Equatable {
        case joined
        case notMember
        /// `lasting`: the group's published state cannot be joined (it does not decode or
        /// verify, or the gateway refuses the commit as malformed), not a passing failure.
        case failed(lasting: Bool)
    }

    /// Joins a conversation of this user by external commit: as a device added to the user
    /// after the conversation began, or again when its state can no longer follow the log (the
    /// device's old leaf, if still in the tree, is replaced in the same commit).
    @discardableResult
    func joinExternally(_ conv: String, session: ChatSession) async -> JoinOutcome {
        guard let id = Hex.decode(conv) else { return .failed(lasting: true) }
        let name = self.state.conversations.first { $0.id == conv }?.name ?? String(conv.prefix(12))
        for _ in 1...3 {
            do {
                let info = try await session.connection.call(.fetchGroupInfo(.with { $0.convID = .init(id) })).groupInfo
                guard case .groupInfo(let groupInfo) = try MLSMessage.decode([UInt8](info.groupInfo)) else {
                    self.notices.append("this device could not join \(name): its GroupInfo is not one")
                    return .failed(lasting: true)
                }
                let (group, commit) = try MLSGroup.joinExternally(
                    groupInfo: groupInfo,
                    leafNode: try self.leafTemplate(),
                    signingKey: self.device.deviceKey,
                    resync: MLSGroup.leaf(withSignatureKey: self.device.deviceID.bytes, in: groupInfo),
                    configuration: Self.groupConfiguration
                )
                var body = Self.send(conv, .commit, epoch: groupInfo.groupContext.epoch, commit.encoded)
                body.groupInfo = .init(MLSMessage.groupInfo(try group.groupInfo()).encoded)
                let seq = try await session.connection.call(.send(body)).send.seq
                let known = self.state.conversations.contains { $0.id == conv }
                self.adopt(group, in: conv, at: seq)
                self.unacked[conv] = seq
                try? self.saveNow()
                self.notices.append(known ? "this device joined \(name) again" : "this device joined \(name)")
                return .joined
            } catch let error as GatewayClientError where error.serverCode == .staleEpoch {
                continue
            } catch let error as GatewayClientError where error.serverCode == .notMember {
                return .notMember
            } catch let error as GatewayClientError {
                // The gateway or the connection failing passes; a refusal of what was sent lasts.
                let lasting =
                    error.code == .server && ![ErrorCode.unavailable, .internal, .rateLimited].contains(error.serverCode)
                self.notices.append("this device could not join \(name): \(error)")
                return .failed(lasting: lasting)
            } catch {
                self.notices.append("this device could not join \(name): \(error)")
                return .failed(lasting: true)
            }
        }
        return .failed(lasting: false)
    }

    // MARK: Pieces

    /// This device's leaf for a group it creates or joins, valid for ``keyPackageLifetime``.
    func leafTemplate() throws(ChatError) -> LeafNode {
        do {
            var leaf = try LeafNode.template(
                credential: .basic(identity: try self.device.certificate.serializedBytes()),
                signingKey: self.device.deviceKey,
                cipherSuite: Self.suite
            )
            leaf.source = .keyPackage(Self.lifetime())
            return leaf
        } catch {
            throw ChatError(.badState, "cannot make this device's leaf: \(error)")
        }
    }

    /// One KeyPackage per device of `user` (other than this one).
    func claim(_ user: UserID, session: ChatSession) async throws(ChatError) -> [Polygate_Gateway_V1_ClaimedKeyPackage] {
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

    /// What to do about this device's KeyPackages (a value, decided without I/O).
    struct KeyPackagePlan: Sendable, Hashable {
        /// One-time KeyPackages to make and upload.
        var upload: Int
        /// Whether to make a new last-resort KeyPackage.
        var lastResort: Bool
        /// Stored secrets to forget (indexes): expired longer than ``keyPackageGrace`` ago.
        var forget: [Int]
    }

    /// Keeps 20 one-time KeyPackages valid for at least ``keyPackageRenewal`` on the gateway,
    /// and a last-resort one: a top-up when fewer than 11 remain (counting those about to
    /// expire as gone), a new last resort when there is none or it is about to expire.
    ///
    /// - Parameters:
    ///   - count: unexpired one-time KeyPackages on the gateway; `hasLastResort`: whether it
    ///     holds a last-resort one.
    ///   - stored: the KeyPackages whose secrets this device keeps (nil `notAfter`: unreadable).
    static func keyPackagePlan(
        count: Int,
        hasLastResort: Bool,
        stored: [(lastResort: Bool, notAfter: UInt64?)],
        now: UInt64
    ) -> KeyPackagePlan {
        let soon = now + Self.keyPackageRenewal
        let expiring = stored.filter { !$0.lastResort && ($0.notAfter ?? .max) > now && ($0.notAfter ?? .max) < soon }.count
        let fresh = max(0, count - expiring)
        let wanted = max(0, 20 - fresh)
        let newestLastResort = stored.filter(\.lastResort).map { $0.notAfter ?? .max }.max()
        let lastResort = !hasLastResort || newestLastResort.map { $0 < soon } ?? true
        let forget = stored.indices.filter { index in
            guard let notAfter = stored[index].notAfter else { return false }
            return notAfter < UInt64.max - Self.keyPackageGrace && notAfter + Self.keyPackageGrace < now
        }
        return KeyPackagePlan(upload: wanted >= 10 ? wanted : 0, lastResort: lastResort, forget: forget)
    }

    /// The lifetime end of a stored KeyPackage (seconds), nil when it does not read.
    static func notAfter(_ stored: StoredKeyPackage) -> UInt64? {
        guard let bytes = Hex.decode(stored.keyPackage), case .keyPackage(let keyPackage)? = try? MLSMessage.decode(bytes),
            case .keyPackage(let lifetime) = keyPackage.leafNode.source
        else { return nil }
        return lifetime.notAfter
    }

    /// Tops up this device's KeyPackages on the gateway (``keyPackagePlan(count:hasLastResort:stored:now:)``),
    /// with their private keys here; each is valid for ``keyPackageLifetime``.
    func replenishKeyPackages(_ session: ChatSession) async throws {
        let count = try await session.call(.countKeyPackages(.with { $0.cipherSuite = UInt32(Self.suite.id) })).count
        let now = UInt64(Date().timeIntervalSince1970)
        let plan = Self.keyPackagePlan(
            count: Int(count.count),
            hasLastResort: count.hasLastResort_p,
            stored: self.state.keyPackages.map { ($0.lastResort, Self.notAfter($0)) },
            now: now
        )
        if !plan.forget.isEmpty {
            let forget = Set(plan.forget)
            self.state.keyPackages = self.state.keyPackages.enumerated().filter { !forget.contains($0.offset) }.map(\.element)
        }
        guard plan.upload > 0 || plan.lastResort else {
            if !plan.forget.isEmpty { try self.saveNow() }
            return
        }
        var fresh: [StoredKeyPackage] = []
        var upload = Polygate_Gateway_V1_UploadKeyPackages()
        let lifetime = Self.lifetime(now: now)
        for n in 0..<(plan.upload + (plan.lastResort ? 1 : 0)) {
            let made: KeyPackageSecrets
            do {
                made = try KeyPackage.make(
                    cipherSuite: Self.suite,
                    credential: .basic(identity: try self.device.certificate.serializedBytes()),
                    signingKey: self.device.deviceKey,
                    lifetime: lifetime
                )
            } catch {
                throw ChatError(.badState, "cannot make KeyPackages: \(error)")
            }
            let bytes = MLSMessage.keyPackage(made.keyPackage).encoded
            let lastResort = plan.lastResort && n == plan.upload
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
        // The secrets are stored before the packages go out: a Welcome can never find us without
        // them. A replaced last resort's secrets stay until it expires (Welcomes made with it may
        // still come).
        self.state.keyPackages += fresh
        try self.saveNow()
        try await session.call(.uploadKeyPackages(upload))
    }
}
