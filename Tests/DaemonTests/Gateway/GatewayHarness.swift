import AsyncHTTPClient
import ClientTLS
import GatewayClient
import GatewayWire
import MLS
import NIOCore
import NIOHTTP1
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real `polygated` processes on a fresh database, and users with devices that talk to them
/// through the real gateway protocol (WebSocket or SSE).
struct GatewayHarness {
    /// The `[gateway]` settings of test daemons: generous rates (tests that measure limits set
    /// their own), otherwise the defaults.
    static let baseGatewayConfig = """
        [gateway]
        connect_rate_per_ip = "10000/1s"
        connect_burst_per_ip = 10000
        send_rate_per_device = "10000/1s"
        send_burst_per_device = 10000
        claim_rate_per_device = "10000/1s"
        claim_burst_per_device = 10000
        auth_failures_per_ip = "1000/1m"
        auth_timeout = "30s"
        """

    /// The base configuration with `auth_timeout` set to `value` (the base's 30 s leaves room for
    /// a machine loaded by the parallel suites; the tests of the timeout itself set their own).
    static func config(authTimeout value: String) -> String {
        Self.baseGatewayConfig.replacing("auth_timeout = \"30s\"", with: "auth_timeout = \"\(value)\"")
    }

    struct Daemon {
        let harness: DaemonHarness
        let process: TestProcess
        var port: Int { self.harness.port }
    }

    let databaseURL: String
    private(set) var daemons: [Daemon] = []

    /// Runs `body` with one ready daemon (or `count`, sharing the database); stops them after.
    /// `gateways`, when given, is each daemon's own configuration (instead of `gateway`).
    static func run(
        daemons count: Int = 1,
        gateway: String = Self.baseGatewayConfig,
        gateways: [String]? = nil,
        gatewayIDs: [String]? = nil,
        control: String = "",
        http: String = "",
        tlsCA: String? = nil,
        _ body: (GatewayHarness) async throws -> Void
    ) async throws {
        try await TestPostgres.withDatabase { url in
            var harness = GatewayHarness(databaseURL: url)
            defer { for daemon in harness.daemons { daemon.process.kill9() } }
            for index in 0..<(gateways?.count ?? count) {
                try await harness.startDaemon(
                    gateway: gateways?[index] ?? gateway,
                    gatewayID: gatewayIDs?[index] ?? "gw_test",
                    control: control,
                    http: http,
                    tlsCA: tlsCA
                )
            }
            do {
                try await body(harness)
            } catch {
                let logs = harness.daemons.enumerated().map {
                    "--- polygated \($0.offset) stderr ---\n\($0.element.process.stderr.suffix(20_000))"
                }
                throw TestFailure("\(error)\n\(logs.joined(separator: "\n"))")
            }
        }
    }

    /// `tlsCA`: the daemon serves TLS with a certificate of this authority (readiness is then
    /// asked over https).
    mutating func startDaemon(
        gateway: String,
        gatewayID: String,
        control: String = "",
        http: String = "",
        tlsCA: String? = nil
    ) async throws {
        let config = try DaemonHarness(
            databaseURL: self.databaseURL,
            extra: "\n" + gateway,
            control: control,
            http: http,
            gatewayID: gatewayID
        )
        let process = try config.start()
        do {
            if let tlsCA {
                try await Self.waitUntilReadyOverTLS(port: config.port, ca: tlsCA)
            } else if http.contains("tls_certificate") {
                // A certificate no client here accepts (expired, for other names): the log says when.
                let deadline = ContinuousClock.now + .seconds(30)
                while !process.stderr.contains("polygated ready") {
                    guard ContinuousClock.now < deadline, process.exitedStatus == nil else {
                        throw TestFailure("polygated did not get ready")
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            } else {
                try await HTTPTestClient.waitFor(port: config.port, "/readyz") { $0.status == 200 }
            }
        } catch {
            let state = process.exitedStatus.map { "exited with \($0)" } ?? "still running"
            process.kill9()
            throw TestFailure("\(error)\n--- polygated (\(state)) stderr ---\n\(process.stderr.suffix(8000))")
        }
        self.daemons.append(Daemon(harness: config, process: process))
    }

    static func waitUntilReadyOverTLS(port: Int, ca: String) async throws {
        try await HTTPClient.withClient(trusting: ca) { client in try await Self.waitUntilReady(port: port, client: client) }
    }

    static func waitUntilReady(port: Int, client: HTTPClient) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let response = try await client.execute(
                    HTTPClientRequest(url: "https://localhost:\(port)/readyz"),
                    timeout: .seconds(5)
                )
                if response.status.code == 200 { return }
                last = "status \(response.status.code)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("https://localhost:\(port)/readyz not 200 within 30 s; last: \(last)")
    }

    var port: Int { self.daemons[0].port }
    /// The first daemon's read-write control socket (for gwctl).
    var controlPath: String { self.daemons[0].harness.controlPath }

    // MARK: Users and devices

    /// A user (a Polycentric system key) with any number of devices.
    struct User: Sendable {
        let systemKey: SecretBytes
        let id: [UInt8]

        init() {
            self.systemKey = SignatureAlgorithm.ed25519.generatePrivateKey()
            self.id = (try? SignatureAlgorithm.ed25519.publicKey(for: self.systemKey)) ?? []
        }

        func device(_ name: String = "device") throws -> DeviceCredentials {
            try DeviceCredentials.make(systemKey: self.systemKey, deviceName: name, nowMs: nowMs())
        }
    }

    /// Runs `body` on an authenticated WebSocket connection of `device`.
    func connected<T: Sendable>(
        _ device: DeviceCredentials,
        daemon: Int = 0,
        register: Bool = true,
        _ body: (GatewayConnection) async throws -> T
    ) async throws -> T {
        try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: self.daemons[daemon].port) { connection in
            try await connection.authenticate(device, register: register)
            return try await body(connection)
        }
    }

    /// Registers `devices` (connect, authenticate with `register`, leave).
    func register(_ devices: DeviceCredentials...) async throws {
        for device in devices { try await self.connected(device) { _ in } }
    }
}

extension HTTPClient {
    /// Runs `body` with a client that trusts the system's authorities and those of `ca`
    /// (none: the system's alone), then shuts it down.
    static func withClient<T>(trusting ca: String?, _ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = try ClientTLS(caFiles: ca.map { [$0] } ?? []).configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

func nowMs() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
}

// MARK: - Requests as one-liners

extension GatewayConnection {
    func createConversation(_ conv: [UInt8], groupInfo: [UInt8] = [0xC0]) async throws {
        var body = Polygate_Gateway_V1_CreateConversation()
        body.convID = .init(conv)
        body.groupInfo = .init(groupInfo)
        try await self.call(.createConversation(body))
    }

    /// A `Send`; the result, or the server's error thrown.
    @discardableResult
    func send(
        _ conv: [UInt8],
        _ kind: Polygate_Gateway_V1_MessageKind = .application,
        epoch: UInt64,
        _ message: [UInt8],
        msgID: [UInt8] = SecureRandom.bytes(count: 16),
        added: [[UInt8]] = [],
        removed: [[UInt8]] = [],
        welcome: (devices: [[UInt8]], bytes: [UInt8])? = nil
    ) async throws -> Polygate_Gateway_V1_SendResult {
        try await self.call(
            .send(
                Self.sendBody(conv, kind, epoch: epoch, message, msgID: msgID, added: added, removed: removed, welcome: welcome)
            )
        ).send
    }

    static func sendBody(
        _ conv: [UInt8],
        _ kind: Polygate_Gateway_V1_MessageKind,
        epoch: UInt64,
        _ message: [UInt8],
        msgID: [UInt8],
        added: [[UInt8]] = [],
        removed: [[UInt8]] = [],
        welcome: (devices: [[UInt8]], bytes: [UInt8])? = nil
    ) -> Polygate_Gateway_V1_Send {
        var body = Polygate_Gateway_V1_Send()
        body.convID = .init(conv)
        body.msgID = .init(msgID)
        body.kind = kind
        body.epoch = epoch
        body.message = .init(message)
        if kind == .commit {
            body.addedUsers = added.map { .init($0) }
            body.removedUsers = removed.map { .init($0) }
            body.groupInfo = .init([0xC1] + Array("\(epoch + 1)".utf8))
            if let welcome {
                body.welcomeDevices = welcome.devices.map { .init($0) }
                body.welcome = .init(welcome.bytes)
            }
        }
        return body
    }

    /// A Commit adding `users` (with a Welcome for `devices`) on `epoch`.
    @discardableResult
    func add(_ conv: [UInt8], epoch: UInt64, users: [[UInt8]], devices: [[UInt8]]) async throws -> Polygate_Gateway_V1_SendResult
    {
        try await self.send(
            conv,
            .commit,
            epoch: epoch,
            Array("commit: add".utf8),
            added: users,
            welcome: devices.isEmpty ? nil : (devices, Array("welcome".utf8))
        )
    }

    func ack(_ conv: [UInt8], _ seq: UInt64) async throws {
        var body = Polygate_Gateway_V1_Ack()
        body.convID = .init(conv)
        body.seq = seq
        try await self.call(.ack(body))
    }

    /// Waits for the next frame that `matches`, skipping the others; fails after `timeout`.
    func next(
        timeout: Duration = .seconds(15),
        _ what: String,
        where matches: (ServerFrame) -> Bool
    ) async throws -> ServerFrame {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let frame = try await self.nextEvent(timeout: deadline - ContinuousClock.now) else {
                throw TestFailure("connection ended (\(self.endReason?.description ?? "?")) waiting for \(what)")
            }
            if matches(frame) { return frame }
        }
        throw TestFailure("no \(what) within \(timeout)")
    }

    /// The next `count` deliveries (other frames skipped).
    func deliveries(_ count: Int, timeout: Duration = .seconds(15)) async throws -> [Polygate_Gateway_V1_Delivery] {
        var out: [Polygate_Gateway_V1_Delivery] = []
        while out.count < count {
            let frame = try await self.next(timeout: timeout, "delivery \(out.count + 1) of \(count)") {
                if case .delivery = $0.body { return true }
                return false
            }
            out.append(frame.delivery)
        }
        return out
    }

    /// Deliveries up to `CaughtUp`.
    func backlog(timeout: Duration = .seconds(15)) async throws -> [Polygate_Gateway_V1_Delivery] {
        var out: [Polygate_Gateway_V1_Delivery] = []
        while true {
            let frame = try await self.next(timeout: timeout, "CaughtUp") {
                switch $0.body {
                case .delivery, .caughtUp: true
                default: false
                }
            }
            if case .caughtUp = frame.body { return out }
            out.append(frame.delivery)
        }
    }

    /// Nothing (but pongs) arrives within `window`.
    func expectQuiet(for window: Duration, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + window
        while ContinuousClock.now < deadline {
            do {
                guard let frame = try await self.nextEvent(timeout: deadline - ContinuousClock.now) else { return }
                if case .pong = frame.body { continue }
                Issue.record("unexpected frame \(frame)", sourceLocation: sourceLocation)
            } catch let error as GatewayClientError where error.code == .timeout {
                return
            }
        }
    }
}

extension DeviceCredentials {
    /// A real MLS KeyPackage of this device (basic credential = its certificate), serialized.
    func keyPackage(suite: CipherSuite = .mls128DHKEMX25519AES128GCMSHA256Ed25519) throws -> [UInt8] {
        let made = try KeyPackage.make(
            cipherSuite: suite,
            credential: .basic(identity: try self.certificate.serializedBytes()),
            signingKey: self.deviceKey,
            lifetime: Lifetime(notBefore: nowMs() / 1000 - 86_400, notAfter: nowMs() / 1000 + 30 * 86_400)
        )
        return MLSMessage.keyPackage(made.keyPackage).encoded
    }
}

/// Expects a server error with `code`.
func expectServerError(
    _ code: ErrorCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code)", sourceLocation: sourceLocation)
    } catch let error as GatewayClientError {
        #expect(error.serverCode == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

extension GatewayConnection {
    /// Waits for the server to end the connection; its close code.
    func closed(timeout: Duration = .seconds(15)) async throws -> UInt16? {
        let deadline = ContinuousClock.now + timeout
        while try await self.nextEvent(timeout: max(deadline - ContinuousClock.now, .milliseconds(1))) != nil {}
        return self.closeCode
    }
}

/// A client of the harness's database, for checks and for actions an admin would take.
func withDatabase<T>(_ url: String, _ body: (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 2), logger: .quiet)
    defer { client.shutdown() }
    return try await body(client)
}

/// Waits for the server to close `connection` and expects `code`.
func expectClosed(
    _ connection: GatewayConnection,
    _ code: UInt16,
    timeout: Duration = .seconds(15),
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let closed = try await connection.closed(timeout: timeout)
    #expect(
        closed == code,
        "closed with \(closed.map(String.init) ?? "no code"): \(connection.endReason?.description ?? "")",
        sourceLocation: sourceLocation
    )
}
