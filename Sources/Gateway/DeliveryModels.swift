public import GatewayWire

/// A message to append to a conversation's log.
public struct Submission: Sendable {
    public var convID: [UInt8]
    public var msgID: [UInt8]
    public var senderUser: [UInt8]
    public var senderDevice: [UInt8]
    public var kind: Polygate_Gateway_V1_MessageKind
    public var epoch: UInt64
    public var message: [UInt8]
    /// Commits only.
    public var addedUsers: [[UInt8]] = []
    public var removedUsers: [[UInt8]] = []
    public var welcomeDevices: [[UInt8]] = []
    public var welcome: [UInt8] = []
    public var groupInfo: [UInt8] = []
    /// When the gateway accepted it (the entry's `accepted_ms`).
    public var acceptedAtMs: UInt64 = 0

    public init(
        convID: [UInt8],
        msgID: [UInt8],
        senderUser: [UInt8],
        senderDevice: [UInt8],
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
public struct Appended: Sendable, Hashable {
    public var seq: UInt64
    public var epoch: UInt64
    /// The msg_id was already in the log: `seq` is the original one and nothing was appended.
    public var duplicate: Bool
    /// The gateway that orders the conversation.
    public var convHome: String

    public init(seq: UInt64, epoch: UInt64, duplicate: Bool, convHome: String) {
        self.seq = seq
        self.epoch = epoch
        self.duplicate = duplicate
        self.convHome = convHome
    }
}

/// One log entry as stored.
public struct LogEntry: Sendable, Hashable {
    public var convID: [UInt8]
    public var seq: UInt64
    public var msgID: [UInt8]
    public var senderDevice: [UInt8]
    public var kind: Int16
    public var epoch: UInt64
    public var message: [UInt8]
    public var acceptedAtMs: UInt64
    public var originGateway: String
    public var convHome: String
    /// Commits: the users this entry added and removed.
    public var addedUsers: [[UInt8]]
    public var removedUsers: [[UInt8]]

    /// The `Delivery` frame for this entry, as `gatewayID` sends it: the same for every recipient.
    public func frame(gatewayID: String) -> Polygate_Gateway_V1_ServerFrame {
        var delivery = Polygate_Gateway_V1_Delivery()
        delivery.convID = .init(self.convID)
        delivery.seq = self.seq
        delivery.msgID = .init(self.msgID)
        delivery.senderDevice = .init(self.senderDevice)
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
public struct ReadPosition: Sendable, Hashable {
    public var convID: [UInt8]
    public var after: UInt64
    public var until: UInt64?

    public init(convID: [UInt8], after: UInt64, until: UInt64? = nil) {
        self.convID = convID
        self.after = after
        self.until = until
    }
}

/// A registered device as stored.
public struct DeviceRecord: Sendable, Hashable {
    public var deviceID: [UInt8]
    public var userID: [UInt8]
    /// The serialized `SignedDeviceCertificate` the device registered with.
    public var certificate: [UInt8]
    public var revoked: Bool
}

/// A KeyPackage handed out by a claim.
public struct ClaimedKeyPackage: Sendable, Hashable {
    public var deviceID: [UInt8]
    public var keyPackage: [UInt8]
    public var lastResort: Bool
}
