public import Control
public import Gateway
public import Store

/// What the control commands read and act on, handed over by the daemon (this target does not
/// know the daemon's configuration type or its readiness object).
public struct ControlContext: Sendable {
    public var version: String
    public var gatewayID: String
    /// When the daemon started (`ContinuousClock`).
    public var started: ContinuousClock.Instant
    public var realtime: RealtimeGateway
    public var ledger: AuditLedger
    public var listener: PostgresListener
    /// The configuration in force as sections of keys, secrets already masked.
    public var configuration: ControlValue
    /// `ready`, `starting: …` or `draining`.
    public var readiness: @Sendable () -> String
    /// Pending and unknown migrations (the migrator's status).
    public var migrations: @Sendable () async throws -> (pending: Int, unknown: Int)
    /// A pool is low below this many one-time KeyPackages (`kp stats` without a user).
    public var keyPackagesLow: Int

    public init(
        version: String,
        gatewayID: String,
        started: ContinuousClock.Instant,
        realtime: RealtimeGateway,
        ledger: AuditLedger,
        listener: PostgresListener,
        configuration: ControlValue,
        readiness: @escaping @Sendable () -> String,
        migrations: @escaping @Sendable () async throws -> (pending: Int, unknown: Int),
        keyPackagesLow: Int
    ) {
        self.version = version
        self.gatewayID = gatewayID
        self.started = started
        self.realtime = realtime
        self.ledger = ledger
        self.listener = listener
        self.configuration = configuration
        self.readiness = readiness
        self.migrations = migrations
        self.keyPackagesLow = keyPackagesLow
    }

    var repository: DeliveryRepository { self.realtime.deliveryRepository }
}

/// Who is on the other end of a control connection (`SO_PEERCRED`).
public struct ControlPeer: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The audit ledger's actor: `admin uid=N pid=M`.
    public var description: String { "admin uid=\(self.uid) pid=\(self.pid)" }
}
