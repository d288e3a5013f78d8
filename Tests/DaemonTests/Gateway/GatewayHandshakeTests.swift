import Gateway
import GatewayClient
import GatewayWire
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connecting to the real daemon: registration, authentication and every refusal, resume,
/// deadlines (docs/GATEWAY_SPEC.md §3).
@Suite struct GatewayHandshakeTests {
    @Test func registerAuthenticateResumeAndEveryRefusal() async throws {
        try await GatewayHarness.run { gateway in
            let alice = GatewayHarness.User()
            let phone = try alice.device("phone")

            // An unknown device without `register` is refused: unknown_device, then 4001.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.unknownDevice) { try await connection.authenticate(phone, register: false) }
                try await expectClosed(connection, CloseCode.authenticationFailed)
                #expect(connection.goAway?.reconnectAfterMs == 5000)
            }

            // Registering works and says who we are; the Challenge names the gateway.
            let token = try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                // Nothing realtime may be cached, the upgrade included.
                #expect(connection.httpHeader("Cache-Control") == "no-store")
                #expect(connection.httpHeader("Upgrade")?.lowercased() == "websocket")
                let challenge = try await connection.challenge()
                #expect(challenge.gatewayID == "gw_test")
                #expect(challenge.nonce.count == 32)
                #expect(challenge.pingIntervalMs == 20_000)
                #expect(challenge.streamID.isEmpty)
                let result = try await connection.authenticate(phone, register: true)
                #expect([UInt8](result.userID) == alice.id)
                #expect(DeviceID(result.deviceID) == phone.deviceID)
                #expect(result.resumeExpiresMs > nowMs())
                // No conversations yet: CaughtUp at once.
                #expect(try await connection.backlog().isEmpty)
                return [UInt8](result.resumeToken)
            }
            // Once registered, `register` is not needed.
            try await gateway.connected(phone, register: false) { connection in
                var ping = Polygate_Gateway_V1_ClientFrame()
                ping.ping.clientTimeMs = 42
                try await connection.send(ping)
                let pong = try await connection.next("Pong") { if case .pong = $0.body { true } else { false } }
                #expect(pong.pong.clientTimeMs == 42)
            }

            // Resume with the token; a fresh token comes back.
            let resumed = try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                let result = try await connection.resume(phone, token: token)
                #expect(DeviceID(result.deviceID) == phone.deviceID)
                return [UInt8](result.resumeToken)
            }
            #expect(resumed.count == token.count)
            // A tampered token fails with resume_failed and keeps the connection: full
            // authentication works on it.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                var bad = token
                bad[bad.count - 1] ^= 1
                await expectServerError(.resumeFailed) { try await connection.resume(phone, token: bad) }
                try await connection.authenticate(phone, register: false)
            }

            // A certificate whose signature does not verify: bad_certificate, 4001.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                let challenge = try await connection.challenge()
                var body = try phone.authenticate(challenge, register: true)
                var signature = [UInt8](body.certificate.signature)
                signature[0] ^= 0x80
                body.certificate.signature = .init(signature)
                await expectServerError(.badCertificate) { try await connection.call(.authenticate(body)) }
                try await expectClosed(connection, CloseCode.authenticationFailed)
            }
            // A certificate from another user's key for this device: bad_certificate.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                let mallory = GatewayHarness.User()
                let stolen = try DeviceCredentials(
                    deviceKey: phone.deviceKey,
                    certificate: try VerifiedDeviceCertificate.issue(
                        systemKey: mallory.systemKey,
                        deviceKey: phone.deviceID.bytes,
                        deviceName: "stolen",
                        issuedAtMs: nowMs()
                    ),
                    nowMs: nowMs()
                )
                await expectServerError(.badCertificate) { try await connection.authenticate(stolen, register: true) }
                try await expectClosed(connection, CloseCode.authenticationFailed)
            }
            // A signature over another connection's challenge, or for another gateway: bad_signature.
            for (gatewayID, nonce) in [("gw_test", SecureRandom.bytes(count: 32)), ("gw_other", nil)] {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                    var challenge = try await connection.challenge()
                    challenge.gatewayID = gatewayID
                    if let nonce { challenge.nonce = .init(nonce) }
                    await expectServerError(.badSignature) {
                        try await connection.call(.authenticate(try phone.authenticate(challenge, register: true)))
                    }
                    try await expectClosed(connection, CloseCode.authenticationFailed)
                }
            }
            // A request before authentication is a protocol error.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                _ = try await connection.challenge()
                var frame = Polygate_Gateway_V1_ClientFrame()
                frame.requestID = 1
                frame.listMembers.convID = .init(SecureRandom.bytes(count: 16))
                try await connection.send(frame)
                try await expectClosed(connection, CloseCode.protocolError)
            }

            // Revocation closes the device's live connection with 4003 and refuses it after.
            try await gateway.connected(phone) { connection in
                _ = try await connection.backlog()
                try await withDatabase(gateway.databaseURL) { database in
                    let repository = DeliveryRepository(database: database, gatewayID: "gw_test")
                    let revoked = try await repository.revoke(phone.deviceID, by: "test")
                    #expect(revoked)
                }
                try await expectClosed(connection, CloseCode.deviceRevoked)
                #expect(connection.goAway?.reconnectAfterMs == 0)
            }
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.badCertificate) { try await connection.authenticate(phone, register: true) }
                try await expectClosed(connection, CloseCode.deviceRevoked)
            }
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.resumeFailed) { try await connection.resume(phone, token: resumed) }
            }
            // Another device of the same user is not affected.
            try await gateway.connected(try alice.device("laptop")) { connection in
                let backlog = try await connection.backlog()
                #expect(backlog.isEmpty)
            }

            // The audit ledger saw it all, without secrets.
            try await withDatabase(gateway.databaseURL) { database in
                let rows = try await database.query("SELECT event, count(*) FROM audit_ledger GROUP BY event ORDER BY event")
                let counts = Dictionary(uniqueKeysWithValues: try rows.map { try $0.decode((String, Int64).self) })
                #expect(counts["device.registered"] == 2)
                #expect(counts["device.revoked"] == 1)
                #expect((counts["auth.failed"] ?? 0) >= 6)
                let details = try await database.query("SELECT details::text FROM audit_ledger WHERE event = 'auth.failed'")
                let reasons = try details.map { try $0[0].decode(String.self) }
                #expect(reasons.contains { $0.contains("bad_signature") })
                #expect(reasons.contains { $0.contains("unknown_device") })
                #expect(reasons.allSatisfy { $0.contains(#""ip": "127.0.0.1""#) })
            }
        }
    }

    @Test func deadlinesCloseSilentConnections() async throws {
        // Generous deadlines against a tight cadence: on a loaded two-core CI machine a
        // registration took over a second and a 700 ms sleep overslept by seconds (the test
        // then failed on a ping the daemon had rightly refused to wait for).
        let config = GatewayHarness.config(authTimeout: "4s") + "\nping_interval = \"2s\"\n"
        try await GatewayHarness.run(gateway: config) { gateway in
            // No authentication within auth_timeout: 4002.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                let challenge = try await connection.challenge()
                #expect(challenge.pingIntervalMs == 2000)
                try await expectClosed(connection, CloseCode.authenticationTimeout)
            }
            // Pings keep a connection open for longer than 2.5 intervals (5 s); silence for
            // 2.5 intervals then closes it with 4408.
            let device = try GatewayHarness.User().device()
            try await gateway.connected(device) { connection in
                for n in 0..<24 {
                    try await Task.sleep(for: .milliseconds(250))
                    var ping = Polygate_Gateway_V1_ClientFrame()
                    ping.ping.clientTimeMs = UInt64(n)
                    try await connection.send(ping)
                }
                #expect(connection.endReason == nil)
                try await expectClosed(connection, CloseCode.pingTimeout)
            }
        }
    }

    @Test func gracefulShutdownSaysGoingAway() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url, extra: "\n" + GatewayHarness.baseGatewayConfig)
            let process = try harness.start()
            defer { process.kill9() }
            try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
            let device = try GatewayHarness.User().device()
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: harness.port) { connection in
                try await connection.authenticate(device)
                _ = try await connection.backlog()
                process.signal(SIGTERM)
                try await expectClosed(connection, CloseCode.goingAway)
                #expect(connection.goAway?.reconnectAfterMs == 1000)
            }
            #expect(try await process.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
