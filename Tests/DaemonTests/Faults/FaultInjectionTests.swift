import Control
import FaultInjection
import GatewayClient
import GatewayWire
import Primitives
import TestSupport
import Testing

/// The fault suite (issue 16), short form: real `polygated` processes on a PostgreSQL cluster
/// of their own with durability on (`fsync`, `synchronous_commit`, `full_page_writes`), real
/// gateway clients sending numbered messages and reading them, and faults in between — kill -9
/// of a daemon, one of two daemons dying, PostgreSQL crashing and going away for 20 s. After
/// each: every acknowledged message was delivered to every member device exactly once, in seq
/// order (``DeliveryAudit``). `make soak` runs the same traffic for longer
/// (`Benchmarks/FaultSoak`, numbers in docs/RELIABILITY.md).
@Suite struct FaultInjectionTests {
    static let config = GatewayHarness.baseGatewayConfig

    /// Runs `body` with `count` daemons on a fresh durable cluster.
    static func withDaemons(_ count: Int, _ body: ([ManagedDaemon], PostgresCluster) async throws -> Void) async throws {
        try await ManagedDaemon.withDaemons(count, configuration: Self.config, gatewayIDPrefix: "gw_") { daemons, cluster in
            do {
                try await body(daemons, cluster)
            } catch {
                let logs = daemons.enumerated().map { "--- polygated \($0.offset) ---\n\($0.element.stderr.suffix(6000))" }
                throw TestFailure("\(error)\n\(logs.joined(separator: "\n"))")
            }
        }
    }

    static func plan(messages: Int) -> TrafficPlan {
        var plan = TrafficPlan()
        plan.users = 6
        plan.directMessages = 3
        plan.rooms = 1
        plan.roomSize = 4
        plan.messages = messages
        plan.pause = .milliseconds(5)
        return plan
    }

    @Test func killNineOfTheDaemonLosesNoAcknowledgedMessage() async throws {
        try await Self.withDaemons(1) { daemons, _ in
            let daemon = daemons[0]
            let traffic = Traffic(plan: Self.plan(messages: 600), ports: [daemon.port])
            try await traffic.prepare()
            async let report = traffic.run(deadline: .seconds(120))
            var recoveries: [Duration] = []
            for kill in 0..<4 {
                // At a random moment while messages flow.
                try await traffic.waitUntil(acknowledged: 100 * (kill + 1) + Int.random(in: 0..<50))
                daemon.kill9()
                recoveries.append(try await daemon.start())
            }
            let result = await report
            print("kill -9 ×4: \(result); ready again after \(recoveries.map { "\($0)" }.joined(separator: ", "))")
            #expect(result.holds, "\(result)")
            #expect(result.acknowledged >= 600 + 4)
            #expect(traffic.refusals.isEmpty, "\(traffic.refusals)")
        }
    }

    /// Two daemons on one database; one dies mid-traffic and comes back only later: its clients
    /// go on through the other and lose nothing. (Presence of its users going offline within a
    /// lease TTL: GatewayPresenceTests.presenceCrossesDaemonsAndEndsWithADeadDaemon.)
    @Test func oneOfTwoDaemonsDiesAndItsClientsGoOnThroughTheOther() async throws {
        try await Self.withDaemons(2) { daemons, _ in
            let traffic = Traffic(plan: Self.plan(messages: 600), ports: daemons.map(\.port))
            try await traffic.prepare()
            async let report = traffic.run(deadline: .seconds(120))
            try await traffic.waitUntil(acknowledged: 150)
            daemons[0].kill9()
            let killedAt = traffic.acknowledged
            // The survivor carries everyone: messages keep being acknowledged while it is down.
            try await eventually("messages go on through the other daemon") {
                traffic.acknowledged >= killedAt + 150
            }
            try await daemons[0].start()
            let result = await report
            print("one of two daemons killed: \(result)")
            #expect(result.holds, "\(result)")
            #expect(traffic.refusals.isEmpty, "\(traffic.refusals)")
            #expect(daemons[1].exitedStatus == nil)
        }
    }

    /// PostgreSQL crashes (immediate restart), then is away for 20 s, under traffic. polygated
    /// does not exit; `/readyz` goes 503 and comes back by itself; a send during the outage is
    /// refused `unavailable` with nothing stored, and its retry with the same msg_id is stored
    /// once; gwctl says the database is unreachable; nothing acknowledged is lost.
    @Test func databaseCrashAndOutageLoseNothing() async throws {
        try await Self.withDaemons(1) { daemons, cluster in
            let daemon = daemons[0]
            let traffic = Traffic(plan: Self.plan(messages: 600), ports: [daemon.port])
            try await traffic.prepare()
            // A connection of its own, open across the outage, to look at one send closely.
            let systemKey = SignatureAlgorithm.ed25519.generatePrivateKey()
            let device = try DeviceCredentials.make(systemKey: systemKey, deviceName: "probe", nowMs: nowMs())
            async let report = traffic.run(deadline: .seconds(150))

            try await traffic.waitUntil(acknowledged: 150)
            try await cluster.restart(mode: .immediate)
            try await traffic.waitUntil(acknowledged: 300)

            // Its conversation is made on a connection of its own: the membership signal that
            // follows makes a session read from the database, and a session whose read fails
            // is closed with 1013 (GATEWAY_SPEC §8) — not what this probe looks at.
            let conv = SecureRandom.bytes(count: 16)
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: daemon.port) { connection in
                try await connection.authenticate(device)
                var create = Polygate_Gateway_V1_CreateConversation()
                create.convID = .init(conv)
                create.groupInfo = .init([0xC0])
                try await connection.call(.createConversation(create))
            }
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: daemon.port) { connection in
                try await connection.authenticate(device)
                _ = try await connection.backlog()

                try await cluster.stop(mode: .immediate)
                let down = ContinuousClock.now
                try await HTTPTestClient.waitFor(port: daemon.port, "/readyz", timeout: .seconds(20)) { $0.status == 503 }
                let status = try await Gwctl.ok(["--json", "status"], socket: daemon.harness.controlPath).json()
                #expect(status["database"]?.string?.hasPrefix("unreachable") == true, "\(status)")
                var send = Polygate_Gateway_V1_Send()
                send.convID = .init(conv)
                send.msgID = .init(SecureRandom.bytes(count: 16))
                send.kind = .application
                send.epoch = 0
                send.message = .init(Array("during the outage".utf8))
                do {
                    _ = try await connection.call(.send(send), timeout: .seconds(30))
                    Issue.record("a send was acknowledged while the database was down")
                } catch let error as GatewayClientError {
                    #expect(error.serverCode == .unavailable, "\(error)")
                }
                // Twenty seconds away, then back.
                try await Task.sleep(until: down + .seconds(20))
                #expect(daemon.exitedStatus == nil)
                try await cluster.startServer()
                let back = ContinuousClock.now
                try await HTTPTestClient.waitFor(port: daemon.port, "/readyz", timeout: .seconds(30)) { $0.status == 200 }
                print("database outage: /readyz 200 again \(ContinuousClock.now - back) after PostgreSQL was back")
                // The retry is stored, once: nothing was stored by the refused attempt (the
                // pool may still be reconnecting: `unavailable` again is retried).
                var result: Polygate_Gateway_V1_SendResult?
                let retrying = ContinuousClock.now
                while result == nil, ContinuousClock.now - retrying < .seconds(20) {
                    do {
                        result = try await connection.call(.send(send), timeout: .seconds(30)).send
                    } catch let error as GatewayClientError where error.serverCode == .unavailable {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                #expect(result?.duplicate == false)
                #expect(result?.seq == 1)
            }
            let result = await report
            print("database crash + 20 s outage: \(result)")
            #expect(result.holds, "\(result)")
            #expect(traffic.refusals.isEmpty, "\(traffic.refusals)")
            #expect(daemon.exitedStatus == nil)
        }
    }
}
