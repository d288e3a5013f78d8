import GatewayClient
import GatewayWire
import Primitives
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Numbered messages sent and read through real gateway connections while faults happen
/// elsewhere: each user's device connects to one of the daemons (the next one when that fails),
/// sends its share of the messages into its conversations — again with the same `msg_id` after
/// any failure, until a `SendResult` comes — and reads and acknowledges everything delivered to
/// it. Everything is written down in a ``DeliveryAudit``.
package final class Traffic: Sendable {
    package let plan: TrafficPlan
    /// The daemons' HTTP ports (read at each connection attempt: a restarted daemon keeps its port).
    let ports: [Int]
    let audit = Mutex(DeliveryAudit())
    let connections = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let sent = Atomic<Int>(0)
    let refused = Mutex<[String]>([])

    struct Message: Sendable {
        let conv: [UInt8]
        let msgID: [UInt8]
        let text: String
    }

    struct Member: Sendable {
        let device: DeviceCredentials
        let messages: [Message]
    }

    private let members: Mutex<[Member]> = Mutex([])

    package init(plan: TrafficPlan, ports: [Int]) {
        self.plan = plan
        self.ports = ports
    }

    /// The audit so far.
    package var report: AuditReport { self.audit.withLock { $0.report } }

    /// Messages acknowledged so far.
    package var acknowledged: Int { self.sent.load(ordering: .relaxed) }

    /// Waits until `count` messages are acknowledged.
    ///
    /// - Throws: `TestFailure` after `timeout`.
    package func waitUntil(acknowledged count: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while self.acknowledged < count {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("\(self.acknowledged) messages acknowledged after \(timeout), waiting for \(count)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Server refusals other than `unavailable` and `rate_limited` (none are expected).
    package var refusals: [String] { self.refused.withLock { $0 } }

    // MARK: Setup

    /// Registers the users' devices and makes the conversations (a creator adds the others in
    /// one Commit), through the first daemon.
    package func prepare() async throws {
        let plan = self.plan
        let systemKeys = (0..<plan.users).map { _ in SignatureAlgorithm.ed25519.generatePrivateKey() }
        let devices = try systemKeys.enumerated().map { index, key in
            try DeviceCredentials.make(systemKey: key, deviceName: "fault-\(index)", nowMs: Self.nowMs())
        }
        for device in devices {
            try await self.withConnection(port: self.ports[0], device) { _ in }
        }
        var shares: [[Message]] = Array(repeating: [], count: plan.users)
        var memberships: [[[UInt8]]] = Array(repeating: [], count: plan.users)
        for users in plan.conversations {
            let conv = SecureRandom.bytes(count: 16)
            let creator = devices[users[0]]
            let others = users.dropFirst().map { devices[$0] }
            let commitID = SecureRandom.bytes(count: 16)
            let result = try await self.withConnection(port: self.ports[0], creator) { connection in
                var create = Polygate_Gateway_V1_CreateConversation()
                create.convID = .init(conv)
                create.groupInfo = .init([0xC0])
                try await connection.call(.createConversation(create))
                var commit = Polygate_Gateway_V1_Send()
                commit.convID = .init(conv)
                commit.msgID = .init(commitID)
                commit.kind = .commit
                commit.epoch = 0
                commit.message = .init(Array("add".utf8))
                commit.addedUsers = others.map { .init($0.userID) }
                commit.welcomeDevices = others.map { .init($0.deviceID) }
                commit.welcome = .init(Array("welcome".utf8))
                commit.groupInfo = .init([0xC1])
                return try await connection.call(.send(commit)).send
            }
            self.audit.withLock { audit in
                audit.member(creator.deviceID.bytes, of: conv, fromSeq: result.seq)
                for other in others { audit.member(other.deviceID.bytes, of: conv, fromSeq: result.seq + 1) }
                audit.acknowledged(conv, msgID: commitID, seq: result.seq, duplicate: false)
            }
            for user in users { memberships[user].append(conv) }
        }
        let senders = (0..<plan.users).filter { !memberships[$0].isEmpty }
        for (rank, user) in senders.enumerated() {
            let count = plan.messages / senders.count + (rank < plan.messages % senders.count ? 1 : 0)
            shares[user] = (0..<count).map { n in
                Message(
                    conv: memberships[user][n % memberships[user].count],
                    msgID: SecureRandom.bytes(count: 16),
                    text: "m \(user) \(n)"
                )
            }
        }
        self.members.withLock { members in
            members = devices.indices.map { Member(device: devices[$0], messages: shares[$0]) }
        }
    }

    // MARK: Running

    /// Runs every member until all messages are acknowledged and every acknowledged message
    /// was delivered to every member device, or until `deadline` or cancellation; returns the
    /// report.
    package func run(deadline: Duration) async -> AuditReport {
        let members = self.members.withLock { $0 }
        let until = ContinuousClock.now + deadline
        await withTaskGroup(of: Void.self) { group in
            for (index, member) in members.enumerated() {
                group.addTask { await self.member(index, member) }
            }
            let total = members.reduce(0) { $0 + $1.messages.count }
            while ContinuousClock.now < until, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                let done = self.sent.load(ordering: .relaxed) >= total && self.audit.withLock { $0.missing } == 0
                if done { break }
            }
            self.stopping.store(true, ordering: .relaxed)
            await group.waitForAll()
        }
        return self.report
    }

    /// One member's connections, one after another, until the run stops.
    private func member(_ index: Int, _ member: Member) async {
        var next = 0
        var attempt = 0
        var tried = false
        while !self.stopping.load(ordering: .relaxed) {
            let port = self.ports[(index + attempt) % self.ports.count]
            do {
                try await self.withConnection(port: port, member.device) { connection in
                    let id = self.connections.wrappingAdd(1, ordering: .relaxed).newValue
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { await self.read(connection, device: member.device.deviceID.bytes, connectionID: id) }
                        while next < member.messages.count {
                            if tried { self.audit.withLock { $0.retried() } }
                            tried = true
                            if try await self.send(member.messages[next], on: connection) {
                                next += 1
                                tried = false
                                if self.plan.pause > .zero { try await Task.sleep(for: self.plan.pause) }
                            }
                        }
                        // Everything sent: keep reading (and pinging) until the run stops.
                        var pings = 0
                        while !self.stopping.load(ordering: .relaxed), connection.endReason == nil {
                            try await Task.sleep(for: .milliseconds(100))
                            pings += 1
                            if pings % 50 == 0 {
                                var ping = Polygate_Gateway_V1_ClientFrame()
                                ping.ping.clientTimeMs = Self.nowMs()
                                try await connection.send(ping)
                            }
                        }
                        group.cancelAll()
                    }
                }
            } catch {
                // The daemon died, restarts, or the database is away: try again, elsewhere first.
                attempt += 1
                try? await Task.sleep(for: .milliseconds(Int64.random(in: 50...300)))
            }
        }
    }

    /// Sends one message; true once it is acknowledged, false to try it again on this
    /// connection (the server asked to wait), throws when the connection failed.
    private func send(_ message: Message, on connection: GatewayConnection) async throws -> Bool {
        var body = Polygate_Gateway_V1_Send()
        body.convID = .init(message.conv)
        body.msgID = .init(message.msgID)
        body.kind = .application
        body.epoch = 1
        body.message = .init(Array(message.text.utf8))
        do {
            let result = try await connection.call(.send(body), timeout: self.plan.sendTimeout).send
            self.audit.withLock {
                $0.acknowledged(message.conv, msgID: message.msgID, seq: result.seq, duplicate: result.duplicate)
            }
            self.sent.wrappingAdd(1, ordering: .relaxed)
            return true
        } catch let error as GatewayClientError where error.code == .server {
            if error.serverCode == .unavailable || error.serverCode == .rateLimited {
                try await Task.sleep(for: .milliseconds(200))
                return false
            }
            // Not expected: written down, and the message is given up.
            self.refused.withLock { $0.append("\(error)") }
            self.sent.wrappingAdd(1, ordering: .relaxed)
            return true
        }
    }

    /// Reads deliveries until the connection ends, acknowledging them as it goes.
    private func read(_ connection: GatewayConnection, device: [UInt8], connectionID: Int) async {
        var unacked: [[UInt8]: UInt64] = [:]
        var since = 0
        while let frame = await connection.nextEvent() {
            switch frame.body {
            case .delivery(let delivery):
                let conv = [UInt8](delivery.convID)
                self.audit.withLock {
                    $0.delivered(conv, seq: delivery.seq, msgID: [UInt8](delivery.msgID), to: device, connection: connectionID)
                }
                unacked[conv] = max(unacked[conv] ?? 0, delivery.seq)
                since += 1
                if since >= 16, connection.pendingEvents == 0 {
                    await Self.ack(&unacked, on: connection)
                    since = 0
                }
            case .caughtUp:
                await Self.ack(&unacked, on: connection)
                since = 0
            default:
                break
            }
        }
    }

    private static func ack(_ unacked: inout [[UInt8]: UInt64], on connection: GatewayConnection) async {
        for (conv, seq) in unacked {
            var ack = Polygate_Gateway_V1_Ack()
            ack.convID = .init(conv)
            ack.seq = seq
            // A failed ack is repeated by the next connection's backlog (a redelivery).
            _ = try? await connection.request(.ack(ack), timeout: .seconds(5))
        }
        unacked = [:]
    }

    private func withConnection<T: Sendable>(
        port: Int,
        _ device: DeviceCredentials,
        _ body: (GatewayConnection) async throws -> T
    ) async throws -> T {
        try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: port) { connection in
            try await connection.authenticate(device, register: true)
            return try await body(connection)
        }
    }

    static func nowMs() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }
}
