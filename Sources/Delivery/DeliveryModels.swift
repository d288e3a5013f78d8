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
}

/// A KeyPackage handed out by a claim.
public struct ClaimedKeyPackage: Sendable, Hashable {
    public var deviceID: [UInt8]
    public var keyPackage: [UInt8]
    public var lastResort: Bool
}
