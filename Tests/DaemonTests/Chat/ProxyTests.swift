import AsyncHTTPClient
import ClientTLS
import Control
import Foundation
import GatewayClient
import GatewayWire
import NIOCore
import NIOHTTP1
import Polycentric
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// polygate behind Debian's nginx with the shipped example site (examples/nginx-polygate.conf)
/// and a throwaway certificate authority: real polychat processes over https, the SSE fallback
/// (forced, and on its own behind a proxy that does not upgrade), the client's own address in
/// the per-address limits, unbuffered SSE and cached social reads (issue 17).
@Suite(.serialized) struct ProxyTests {
    static let example = "\(ShippedConfigurationTests.root)/examples/nginx-polygate.conf"

    /// nginx connects from 127.0.0.3; only that address is trusted.
    static let trusted = "trusted_proxies = [\"127.0.0.3\"]"

    static func withProxy(
        gateway config: String = GatewayHarness.baseGatewayConfig,
        _ body: (GatewayHarness, NginxProxy, TestCertificates) async throws -> Void
    ) async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("proxy")
        try await GatewayHarness.run(gateway: config, http: Self.trusted) { gateway in
            let nginx = try await NginxProxy.start(example: Self.example, upstream: gateway.port, certificate: pair)
            do {
                try await body(gateway, nginx, certificates)
                await nginx.stop()
            } catch {
                await nginx.stop()
                throw TestFailure("\(error)\n--- nginx error.log ---\n\(nginx.errorLog.suffix(4000))")
            }
        }
    }

    /// `curl` through nginx (an independent client): the status line's code and the headers.
    static func curl(_ arguments: [String], timeout: Int = 5) async throws -> (code: String, output: String) {
        let (_, output) = try await TestProcess.run(
            "/usr/bin/curl",
            ["-s", "-m", "\(timeout)", "-o", "/dev/null", "-D", "-", "-w", "CODE=%{http_code}\n"] + arguments
        )
        let code = output.split(whereSeparator: \.isNewline).last { $0.hasPrefix("CODE=") }.map { String($0.dropFirst(5)) } ?? ""
        return (code, output)
    }

    @Test func polychatThroughNginx() async throws {
        try await Self.withProxy { gateway, nginx, certificates in
            let server = "https://localhost:\(nginx.tlsPort)"
            try await PolychatTLSTests.everydayUse(server: server, port: gateway.port, caFile: certificates.caFile) {
                PolychatTLSTests.transports(gateway.daemons[0].process.stderr)
            }
            // The ledger names the client (127.0.0.1), never nginx (127.0.0.3).
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-n", "200"], socket: gateway.controlPath).items()
            let registrations = ledger.filter { $0["event"]?.string == "device.registered" }.compactMap { $0["details"]?.string }
            #expect(
                registrations.count == 2 && registrations.allSatisfy { $0.contains("\"ip\": \"127.0.0.1\"") },
                "\(registrations)"
            )

            // Behind a proxy that does not upgrade (HTTP/1.0, no Upgrade), polychat falls back to
            // SSE by itself.
            let before = PolychatTLSTests.transports(gateway.daemons[0].process.stderr)
            let dave = try await PolychatUser.create(
                "dave",
                port: gateway.port,
                server: "https://localhost:\(nginx.noUpgradePort)",
                initArguments: ["--ca-file", certificates.caFile]
            )
            try await dave.ok(["room", "create", "fallback"])
            try await dave.ok(["send", "fallback", "no WebSocket here"])
            #expect(try await dave.texts("fallback") == ["no WebSocket here"])
            let after = PolychatTLSTests.transports(gateway.daemons[0].process.stderr)
            #expect(after.sse >= before.sse + 3 && after.webSocket == before.webSocket, "\(before) → \(after)")

            // The example's port 80 sends everyone to https.
            let redirect = try await Self.curl(["http://localhost:\(nginx.redirectPort)/v1/gateway"])
            #expect(
                redirect.code == "301" && redirect.output.contains("Location: https://localhost/v1/gateway"),
                "\(redirect.output)"
            )
        }
    }

    /// Sealed sessions (GATEWAY_SPEC §14) through the shipped site: the WebSocket upgrade at
    /// /v1/sealed and the unbuffered stream at /v1/sealed/stream, with the key the gateway
    /// publishes through the same proxy.
    @Test func sealedSessionsThroughNginx() async throws {
        try await Self.withProxy { gateway, nginx, certificates in
            let tls = ClientTLS(caFiles: [certificates.caFile])
            let key = try await GatewaySealedTests.gatewayKey(gateway.port)
            let device = try GatewayHarness.User().device()
            try await GatewayConnection.withWebSocket(
                host: "localhost",
                port: nginx.tlsPort,
                path: "/v1/sealed",
                tls: tls,
                sealedKey: key
            ) { connection in
                try await connection.authenticate(device, register: true)
                #expect(try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 1 })).count.count == 0)
            }
            try await HTTPClient.withClient(trusting: certificates.caFile) { client in
                try await GatewayConnection.withSSE(
                    host: "localhost",
                    port: nginx.tlsPort,
                    tls: tls,
                    client: client,
                    sealedKey: key
                ) {
                    connection in
                    try await connection.authenticate(device, register: false)
                    #expect(try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 1 })).count.count == 0)
                }
            }
            let metrics = try await HTTPTestClient.get(port: gateway.port, "/metrics").body
            #expect(!metrics.contains("polygate_gateway_sealed_handshake_failures_total 1"))
        }
    }

    /// Issue 21: what a TLS-terminating nginx forwards of polychat's sealed sessions, recorded
    /// by a tap between nginx and polygated (Tests/Interop/tap.py), names no user, device or
    /// conversation and holds no KeyPackage, Welcome, GroupInfo or message the gateway stored —
    /// over WebSocket and SSE alike. The social server is reached directly (its events are
    /// public and signed with the user's key); everything sent to the gateway goes through
    /// nginx. A plain connection at the end shows the capture would have caught them.
    @Test func whatNginxForwardsOfSealedSessionsNamesNobody() async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("proxy")
        try await GatewayHarness.run { gateway in
            let capture = TestEnvironment.makeDirectory("capture")
            let tapPort = TestEnvironment.freePort()
            let tap = try TestProcess(
                executable: try GatewaySealedInteropTests.python,
                arguments: [Self.tapScript, "\(tapPort)", "\(gateway.port)", capture],
                environment: TestEnvironment.baseEnvironment,
                outputDirectory: TestEnvironment.scratchDirectory
            )
            defer { tap.kill9() }
            try await eventually("the tap listens") { tap.stdout.contains("listening") }
            let nginx = try await NginxProxy.start(example: Self.example, upstream: tapPort, certificate: pair)
            do {
                try await Self.sealedCapture(gateway, nginx, certificates, capture)
                await nginx.stop()
            } catch {
                await nginx.stop()
                throw error
            }
        }
    }

    static func sealedCapture(
        _ gateway: GatewayHarness,
        _ nginx: NginxProxy,
        _ certificates: TestCertificates,
        _ capture: String
    ) async throws {
        let through = ["--gateway", "https://localhost:\(nginx.tlsPort)", "--ca-file", certificates.caFile]
        let alice = try await PolychatUser.create("alice", port: gateway.port, initArguments: through)
        let bob = try await PolychatUser.create(
            "bob",
            port: gateway.port,
            environment: ["POLYCHAT_TRANSPORT": "sse"],
            initArguments: through
        )
        let marker = "the capture marker 7f3a"
        try await alice.ok(["room", "create", "sealed-room"])
        try await alice.ok(["room", "invite", "sealed-room", bob.id])
        try await alice.ok(["send", "sealed-room", marker])
        #expect(try await bob.texts("sealed-room") == [marker])
        try await bob.ok(["send", "sealed-room", "seen"])
        #expect(try await alice.texts("sealed-room") == [marker, "seen"])
        for user in [alice, bob] {
            #expect(!(try await user.json(["servers", "--json"]) as [String: String])["gateway_keys", default: ""].isEmpty)
        }

        // What must not pass in clear: ids as bytes and as hex, and 32 bytes from the middle
        // of every KeyPackage, Welcome, GroupInfo and message the gateway stored.
        var secrets: [(String, [UInt8])] = [("the marker", Array(marker.utf8))]
        for user in [alice, bob] {
            let whoami: [String: String] = try await user.json(["whoami", "--json"])
            for (what, hex) in [("user", user.id), ("device", whoami["device"] ?? "")] {
                let bytes = try #require(Hex.decode(hex))
                secrets += [("\(user.name)'s \(what) id", bytes), ("\(user.name)'s \(what) id in hex", Array(hex.utf8))]
            }
        }
        let room = try await alice.conversation(named: "sealed-room").id
        secrets += [("the conversation id", try #require(Hex.decode(room))), ("the conversation id in hex", Array(room.utf8))]
        try await withDatabase(gateway.databaseURL) { database in
            for (table, column) in [
                ("gw_key_packages", "key_package"), ("gw_welcomes", "welcome"), ("gw_conversations", "group_info"),
                ("gw_log", "message"),
            ] {
                let rows = try await database.query(PostgresQuery(unsafeSQL: "SELECT \(column) FROM \(table)"))
                var count = 0
                for row in rows {
                    let bytes = try row[0].decode([UInt8].self)
                    guard bytes.count >= 64 else { continue }
                    let middle = bytes.count / 2 - 16
                    secrets.append(("\(table) row \(count)", Array(bytes[middle..<(middle + 32)])))
                    count += 1
                }
                // Welcomes may be gone once used; the rest must have been exercised.
                #expect(count > 0 || table == "gw_welcomes", "\(table) is empty: the test did not exercise it")
            }
        }

        func captured() throws -> [(String, Data)] {
            try FileManager.default.contentsOfDirectory(atPath: capture).sorted().map {
                ($0, try Data(contentsOf: URL(fileURLWithPath: "\(capture)/\($0)")))
            }
        }
        let sealed = try captured()
        #expect(sealed.contains { $0.1.range(of: Data("GET /v1/sealed HTTP/1.1".utf8)) != nil }, "no sealed WebSocket")
        #expect(sealed.contains { $0.1.range(of: Data("GET /v1/sealed/stream?noise=".utf8)) != nil }, "no sealed SSE")
        #expect(sealed.reduce(0) { $0 + $1.1.count } > 20_000)
        for (what, pattern) in secrets {
            for (file, data) in sealed {
                #expect(data.range(of: Data(pattern)) == nil, "\(what) passed nginx in clear (capture \(file))")
            }
        }

        // The control: a plain session through the same nginx is read by the tap.
        let device = try GatewayHarness.User().device()
        try await GatewayConnection.withWebSocket(
            host: "localhost",
            port: nginx.tlsPort,
            tls: ClientTLS(caFiles: [certificates.caFile])
        ) { connection in
            try await connection.authenticate(device, register: true)
        }
        try await eventually("the plain session's device id is in the capture") {
            try captured().contains { $0.1.range(of: Data(device.deviceID.bytes)) != nil }
        }
    }

    static let tapScript = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Tests/Interop/tap.py"

    @Test func sseEventsAreNotBufferedAndSocialReadsAreCached() async throws {
        try await Self.withProxy { gateway, nginx, certificates in
            // The first event (the Challenge) within a second of the request, through nginx.
            try await HTTPClient.withClient(trusting: certificates.caFile) { client in
                var request = HTTPClientRequest(url: "https://localhost:\(nginx.tlsPort)/v1/stream")
                request.headers.add(name: "Accept", value: "text/event-stream")
                let started = ContinuousClock.now
                let response = try await client.execute(request, timeout: .seconds(10))
                #expect(response.status.code == 200)
                #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
                var iterator = response.body.makeAsyncIterator()
                var text = ""
                while !text.contains("event: frame"), let chunk = try await iterator.next() {
                    text += String(buffer: chunk)
                }
                let elapsed = ContinuousClock.now - started
                #expect(text.contains("event: frame"))
                #expect(elapsed < .seconds(1), "first SSE event after \(elapsed)")
            }
            // A signed-event read is cached by nginx as polygated's Cache-Control allows.
            var system = Userpackage_PublicKey()
            system.keyType = 1
            system.key = Data(SecureRandom.bytes(count: 32))
            let url = "https://localhost:\(nginx.tlsPort)" + RequestPaths.head(system: system)
            let arguments = ["--cacert", certificates.caFile, url]
            let first = try await Self.curl(arguments)
            let second = try await Self.curl(arguments)
            #expect(first.code == "200" && first.output.contains("X-Cache-Status: MISS"), "\(first.output)")
            #expect(second.output.contains("X-Cache-Status: HIT"), "\(second.output)")
            // Metrics are not published through the proxy.
            #expect(
                try await Self.curl(["--cacert", certificates.caFile, "https://localhost:\(nginx.tlsPort)/metrics"]).code == "403"
            )
            // The realtime routes are never cached.
            let stream = try await Self.curl(["--cacert", certificates.caFile, "https://localhost:\(nginx.tlsPort)/v1/gateway"])
            #expect(stream.code == "426" && !stream.output.contains("X-Cache-Status: HIT"), "\(stream.output)")
        }
    }

    @Test func perAddressLimitsSeeTheClientThroughNginx() async throws {
        let strict = GatewayHarness.baseGatewayConfig
            .replacingOccurrences(of: "connect_rate_per_ip = \"10000/1s\"", with: "connect_rate_per_ip = \"1/1m\"")
            .replacingOccurrences(of: "connect_burst_per_ip = 10000", with: "connect_burst_per_ip = 1")
        try await Self.withProxy(gateway: strict) { gateway, nginx, certificates in
            func stream(from source: String, headers: [String] = [], direct: Bool = false) async throws -> String {
                let url = direct ? "http://127.0.0.1:\(gateway.port)/v1/stream" : "https://localhost:\(nginx.tlsPort)/v1/stream"
                var arguments = ["--cacert", certificates.caFile, "--interface", source, "-H", "Accept: text/event-stream"]
                for header in headers { arguments += ["-H", header] }
                return try await Self.curl(arguments + [url], timeout: 1).code
            }
            // Two clients behind the same nginx: a bucket each.
            #expect(try await stream(from: "127.0.0.1") == "200")
            #expect(try await stream(from: "127.0.0.1") == "429")
            #expect(try await stream(from: "127.0.0.2") == "200")
            // A client that writes its own X-Forwarded-For is still itself.
            #expect(try await stream(from: "127.0.0.2", headers: ["X-Forwarded-For: 198.51.100.7"]) == "429")
            // Straight to polygated, not through the trusted proxy: the header is ignored.
            #expect(try await stream(from: "127.0.0.2", headers: ["X-Forwarded-For: 198.51.100.8"], direct: true) == "429")
            let levels = try await Gwctl.ok(["--json", "ratelimit", "show"], socket: gateway.controlPath).items()
            let keys = Set(levels.compactMap { $0["key"]?.string })
            #expect(keys == ["ip 127.0.0.1", "ip 127.0.0.2"], "\(keys)")
        }
    }
}
