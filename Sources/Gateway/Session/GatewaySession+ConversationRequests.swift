import Foundation
import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// Conversations (docs/GATEWAY_SPEC.md §4.2): create, send, ack, GroupInfo, members, devices.
extension GatewaySession {
    /// `CreateConversation`: at epoch 0 with the caller's user as its only member.
    func create(_ create: Polygate_Gateway_V1_CreateConversation, _ identity: Identity, _ requestID: UInt64) async throws {
        try Self.check(convID: create.convID)
        try self.checkSize(create.groupInfo, "group_info")
        try await self.context.repository.createConversation(
            convID: ConversationID(create.convID),
            creator: identity.userID,
            groupInfo: [UInt8](create.groupInfo)
        )
        self.context.ledger.mirrored(
            "conversation.created",
            actor: Hex.encode(identity.userID),
            subject: Hex.encode(create.convID)
        )
        // This device reads the new conversation at once (the others on a signal).
        self.schedule(.refresh)
        self.respond(self.response(requestID))
    }

    /// `Send`: checked, appended with the next batch (group commit), answered once durable, then published to local readers and announced to other daemons.
    func send(_ send: Polygate_Gateway_V1_Send, _ identity: Identity, _ requestID: UInt64) async throws {
        guard try await self.limit(.send, identity, requestID) else { return }
        let (appended, submission) = try await self.append(send, identity)
        var result = Polygate_Gateway_V1_SendResult()
        result.seq = appended.seq
        result.epoch = appended.epoch
        result.duplicate = appended.duplicate
        var response = self.response(requestID, convHome: appended.convHome)
        response.send = result
        self.respond(response)
        if !appended.duplicate {
            self.context.counters.add(.appends)
            self.context.hub.publish(Self.entry(submission, appended, gatewayID: self.context.gatewayID))
            self.context.announcer.announce(conv: submission.convID, seq: appended.seq)
        }
        if !appended.duplicate, !submission.addedUsers.isEmpty || !submission.removedUsers.isEmpty {
            self.context.ledger.mirrored(
                "membership.changed",
                actor: Hex.encode(identity.deviceID),
                subject: Hex.encode(submission.convID),
                details: DeliveryRepository.membershipDetails(
                    seq: appended.seq,
                    added: submission.addedUsers,
                    removed: submission.removedUsers
                )
            )
        }
    }

    /// `Ack`: this device's cursor forward.
    func ack(_ ack: Polygate_Gateway_V1_Ack, _ identity: Identity, _ requestID: UInt64) async throws {
        try Self.check(convID: ack.convID)
        try await self.context.repository.ack(
            deviceID: identity.deviceID,
            userID: identity.userID,
            convID: ConversationID(ack.convID),
            seq: ack.seq
        )
        self.respond(self.response(requestID))
    }

    /// `FetchGroupInfo`: the stored GroupInfo and epoch (members only).
    func fetchGroupInfo(_ fetch: Polygate_Gateway_V1_FetchGroupInfo, _ identity: Identity, _ requestID: UInt64) async throws {
        try Self.check(convID: fetch.convID)
        guard
            let view = try await self.context.repository.conversation(
                convID: ConversationID(fetch.convID),
                asker: identity.userID
            )
        else { throw GatewayWireError(.notMember, "not a member of that conversation") }
        var result = Polygate_Gateway_V1_GroupInfoResult()
        result.groupInfo = .init(view.groupInfo)
        result.epoch = view.epoch
        var response = self.response(requestID, convHome: view.convHome)
        response.groupInfo = result
        self.respond(response)
    }

    /// `ListMembers`: the members and epoch (members only).
    func listMembers(_ list: Polygate_Gateway_V1_ListMembers, _ identity: Identity, _ requestID: UInt64) async throws {
        try Self.check(convID: list.convID)
        guard
            let view = try await self.context.repository.conversation(
                convID: ConversationID(list.convID),
                asker: identity.userID
            )
        else { throw GatewayWireError(.notMember, "not a member of that conversation") }
        var result = Polygate_Gateway_V1_MemberList()
        result.userIds = view.members.map { .init($0) }
        result.epoch = view.epoch
        var response = self.response(requestID, convHome: view.convHome)
        response.members = result
        self.respond(response)
    }

    /// `CheckDevices`: which of these devices are revoked.
    func checkDevices(_ check: Polygate_Gateway_V1_CheckDevices, _ identity: Identity, _ requestID: UInt64) async throws {
        guard check.deviceIds.count <= 1000 else { throw GatewayWireError(.badRequest, "at most 1,000 device_ids") }
        guard check.deviceIds.allSatisfy({ $0.count == 32 }) else {
            throw GatewayWireError(.badRequest, "device_ids are 32-byte keys")
        }
        var result = Polygate_Gateway_V1_DeviceCheck()
        result.revokedDeviceIds = try await self.context.repository.revokedDevices(
            check.deviceIds.map { DeviceID($0) },
            asker: identity.userID
        ).map { Data($0) }
        var response = self.response(requestID)
        response.devices = result
        self.respond(response)
    }

    private func append(_ send: Polygate_Gateway_V1_Send, _ identity: Identity) async throws -> (Appended, Submission) {
        try Self.check(convID: send.convID)
        guard send.msgID.count == 16 else { throw GatewayWireError(.badRequest, "msg_id is 16 bytes") }
        try self.checkSize(send.message, "message")
        guard [.application, .proposal, .commit].contains(send.kind) else {
            throw GatewayWireError(.badRequest, "kind must be application, proposal or commit")
        }
        var submission = Submission(
            convID: ConversationID(send.convID),
            msgID: MessageID(send.msgID),
            senderUser: identity.userID,
            senderDevice: identity.deviceID,
            kind: send.kind,
            epoch: send.epoch,
            message: [UInt8](send.message)
        )
        if send.kind == .commit {
            try self.checkSize(send.welcome, "welcome")
            try self.checkSize(send.groupInfo, "group_info")
            guard !send.groupInfo.isEmpty else {
                throw GatewayWireError(.badRequest, "a Commit carries the new epoch's group_info")
            }
            // Bounds first, before any work in proportion to the lists.
            let limits = self.context.limits
            guard send.addedUsers.count <= limits.maxAddedPerCommit else {
                throw GatewayWireError(.tooLarge, "a Commit adds at most \(limits.maxAddedPerCommit) users")
            }
            guard send.removedUsers.count <= limits.maxMembers, send.welcomeDevices.count <= 1000 else {
                throw GatewayWireError(
                    .tooLarge,
                    "a Commit removes at most \(limits.maxMembers) users and welcomes at most 1,000 devices"
                )
            }
            guard send.addedUsers.allSatisfy({ $0.count == 32 }), send.removedUsers.allSatisfy({ $0.count == 32 }),
                send.welcomeDevices.allSatisfy({ $0.count == 32 })
            else {
                throw GatewayWireError(.badRequest, "user and device ids are 32-byte keys")
            }
            guard send.welcomeDevices.isEmpty == send.welcome.isEmpty else {
                throw GatewayWireError(.badWelcome, "welcome and welcome_devices come together")
            }
            guard Set(send.addedUsers).isDisjoint(with: Set(send.removedUsers)) else {
                throw GatewayWireError(.badRequest, "a user cannot be added and removed by one Commit")
            }
            submission.addedUsers = send.addedUsers.map { UserID($0) }
            submission.removedUsers = send.removedUsers.map { UserID($0) }
            submission.welcomeDevices = send.welcomeDevices.map { DeviceID($0) }
            submission.welcome = [UInt8](send.welcome)
            submission.groupInfo = [UInt8](send.groupInfo)
        } else {
            guard send.addedUsers.isEmpty, send.removedUsers.isEmpty, send.welcomeDevices.isEmpty, send.welcome.isEmpty,
                send.groupInfo.isEmpty
            else { throw GatewayWireError(.badRequest, "membership fields belong to Commits") }
        }
        submission.acceptedAtMs = self.context.clock.wallMs
        let appended = try await self.context.appender.append(submission)
        return (appended, submission)
    }

    /// The log entry an append just committed, as the log holds it.
    static func entry(_ s: Submission, _ appended: Appended, gatewayID: String) -> LogEntry {
        let commit = s.kind == .commit
        return LogEntry(
            convID: s.convID,
            seq: appended.seq,
            msgID: s.msgID,
            senderDevice: s.senderDevice,
            kind: Int16(s.kind.rawValue),
            epoch: s.epoch,
            message: s.message,
            acceptedAtMs: s.acceptedAtMs,
            originGateway: gatewayID,
            convHome: appended.convHome,
            addedUsers: commit ? s.addedUsers : [],
            removedUsers: commit ? s.removedUsers : []
        )
    }
}
