package import GatewayWire

/// A message to append to a conversation's log.
package struct Submission: Sendable {
    package var convID: ConversationID
    package var msgID: MessageID
    package var senderUser: UserID
    package var senderDevice: DeviceID
    package var kind: Polygate_Gateway_V1_MessageKind
    package var epoch: UInt64
    package var message: [UInt8]
    /// Commits only.
    package var addedUsers: [UserID] = []
    package var removedUsers: [UserID] = []
    package var welcomeDevices: [DeviceID] = []
    package var welcome: [UInt8] = []
    package var groupInfo: [UInt8] = []
    /// When the gateway accepted it (the entry's `accepted_ms`).
    package var acceptedAtMs: UInt64 = 0

    package init(
        convID: ConversationID,
        msgID: MessageID,
        senderUser: UserID,
        senderDevice: DeviceID,
        kind: Polygate_Gateway_V1_MessageKind,
        epoch: UInt64,
        message: [UInt8]
    ) {
        self.convID = convID
        self.msgID = msgID
        self.senderUser = senderUser
        self.senderDevice = senderDevice
        self.kind = kind
        self.epoch = epoch
        self.message = message
    }
}

/// The result of an append: its place in the log and the conversation's epoch after it.
package struct Appended: Sendable, Hashable {
    package var seq: UInt64
    package var epoch: UInt64
    /// The msg_id was already in the log: `seq` is the original one and nothing was appended.
    package var duplicate: Bool
    /// The gateway that orders the conversation.
    package var convHome: String

    package init(seq: UInt64, epoch: UInt64, duplicate: Bool, convHome: String) {
        self.seq = seq
        self.epoch = epoch
        self.duplicate = duplicate
        self.convHome = convHome
    }
}

/// One log entry as stored.
package struct LogEntry: Sendable, Hashable {
    package var convID: ConversationID
    package var seq: UInt64
    package var msgID: MessageID
    package var senderDevice: DeviceID
    package var kind: Int16
    package var epoch: UInt64
    package var message: [UInt8]
    package var acceptedAtMs: UInt64
    package var originGateway: String
    package var convHome: String
    /// Commits: the users this entry added and removed.
    package var addedUsers: [UserID]
    package var removedUsers: [UserID]

    /// The `Delivery` frame for this entry, as `gatewayID` sends it: the same for every recipient.
    package func frame(gatewayID: String) -> Polygate_Gateway_V1_ServerFrame {
        var delivery = Polygate_Gateway_V1_Delivery()
        delivery.convID = .init(self.convID.bytes)
        delivery.seq = self.seq
        delivery.msgID = .init(self.msgID.bytes)
        delivery.senderDevice = .init(self.senderDevice.bytes)
        delivery.kind = Polygate_Gateway_V1_MessageKind(rawValue: Int(self.kind)) ?? .unspecified
        delivery.epoch = self.epoch
        delivery.message = .init(self.message)
        delivery.acceptedMs = self.acceptedAtMs
        delivery.convHome = self.convHome
        delivery.originGateway = self.originGateway
        delivery.gatewayID = gatewayID
        var frame = Polygate_Gateway_V1_ServerFrame()
        frame.delivery = delivery
        return frame
    }
}

/// Where a device reads a conversation from: entries after `after`, and — when its user was
/// removed — up to and including `until` (the removing Commit), no further.
package struct ReadPosition: Sendable, Hashable {
    package var convID: ConversationID
    package var after: UInt64
    package var until: UInt64?

    package init(convID: ConversationID, after: UInt64, until: UInt64? = nil) {
        self.convID = convID
        self.after = after
        self.until = until
    }
}

/// A registered device as stored.
package struct DeviceRecord: Sendable, Hashable {
    package var deviceID: DeviceID
    package var userID: UserID
    /// The serialized `SignedDeviceCertificate` the device registered with.
    package var certificate: [UInt8]
    package var revoked: Bool
}

/// A KeyPackage handed out by a claim.
package struct ClaimedKeyPackage: Sendable, Hashable {
    package var deviceID: DeviceID
    package var keyPackage: [UInt8]
    package var lastResort: Bool
}
