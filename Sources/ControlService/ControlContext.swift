package import Control
package import Gateway
package import Store

/// What the control commands read and act on, handed over by the daemon (this target does not
/// know the daemon's configuration type or its readiness object).
package struct ControlContext: Sendable {
    package var version: String
    package var gatewayID: String
    /// When the daemon started (`ContinuousClock`).
    package var started: ContinuousClock.Instant
    package var realtime: RealtimeGateway
    package var ledger: AuditLedger
    package var listener: PostgresListener
    /// The configuration in force as sections of keys, secrets already masked.
    package var configuration: ControlValue
    /// `ready`, `starting: …` or `draining`.
    package var readiness: @Sendable () -> String
    /// Pending and unknown migrations (the migrator's status).
    package var migrations: @Sendable () async throws -> (pending: Int, unknown: Int)
    /// A pool is low below this many one-time KeyPackages (`kp stats` without a user).
    package var keyPackagesLow: Int
    /// The current sealed-session public key in hex (`status`), nil when there is none.
    package var sealedKey: @Sendable () -> String?

    package init(
        version: String,
        gatewayID: String,
        started: ContinuousClock.Instant,
        realtime: RealtimeGateway,
        ledger: AuditLedger,
        listener: PostgresListener,
        configuration: ControlValue,
        readiness: @escaping @Sendable () -> String,
        migrations: @escaping @Sendable () async throws -> (pending: Int, unknown: Int),
        keyPackagesLow: Int,
        sealedKey: @escaping @Sendable () -> String? = { nil }
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
        self.sealedKey = sealedKey
    }

    var repository: DeliveryRepository { self.realtime.deliveryRepository }
}

/// Who is on the other end of a control connection (`SO_PEERCRED`).
package struct ControlPeer: Sendable, Hashable, CustomStringConvertible {
    package var pid: Int32
    package var uid: UInt32
    package var gid: UInt32

    package init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The audit ledger's actor: `admin uid=N pid=M`.
    package var description: String { "admin uid=\(self.uid) pid=\(self.pid)" }
}
