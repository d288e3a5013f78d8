import AsyncHTTPClient
import Control
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon serves sockets it inherits the way systemd passes them.
@Suite struct SocketActivationTests {
    @Test func servesTheSocketThatSystemdSocketActivatePasses() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)  // http.listen: a port nobody should bind
            let activatedPort = TestEnvironment.freePort()
            let notify = try NotifySocket()
            var environment = TestEnvironment.baseEnvironment
            environment["NOTIFY_SOCKET"] = notify.path
            let activator = try TestProcess(
                executable: "/usr/bin/systemd-socket-activate",
                arguments: [
                    "--listen=127.0.0.1:\(activatedPort)", "--fdname=http", "-E", "NOTIFY_SOCKET",
                    DaemonHarness.binary, "serve", "--config", harness.configPath,
                ],
                environment: environment,
                outputDirectory: harness.directory
            )
            defer { activator.kill9() }
            // The first connection starts polygated in the activator's place.
            let ready = try await HTTPTestClient.waitFor(port: activatedPort, "/readyz", timeout: .seconds(60)) {
                $0.status == 200
            }
            #expect(ready.body.contains("\"gateway_id\":\"gw_test\""))
            try await notify.receive(until: { $0.hasPrefix("READY=1\nSTATUS=serving on 127.0.0.1:\(activatedPort)") })
            #expect(!HTTPTestClient.isListening(port: harness.port))
            #expect(activator.stderr.contains("socket activation"))
            activator.signal(SIGTERM)
            #expect(try await activator.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    /// The native TLS listener on a socket systemd passes (issue 17).
    @Test func servesTLSOnTheSocketSystemdPasses() async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("activated")
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(
                databaseURL: url,
                http: "tls_certificate = \"\(pair.certificate)\"\ntls_private_key = \"\(pair.privateKey)\""
            )
            let activatedPort = TestEnvironment.freePort()
            let activator = try TestProcess(
                executable: "/usr/bin/systemd-socket-activate",
                arguments: [
                    "--listen=127.0.0.1:\(activatedPort)", "--fdname=http", DaemonHarness.binary, "serve", "--config",
                    harness.configPath,
                ],
                environment: TestEnvironment.baseEnvironment,
                outputDirectory: harness.directory
            )
            defer { activator.kill9() }
            try await HTTPClient.withClient(trusting: certificates.caFile) { client in
                try await GatewayHarness.waitUntilReady(port: activatedPort, client: client)
            }
            #expect(activator.stderr.contains("socket activation") && activator.stderr.contains("http.tls=true"))
            activator.signal(SIGTERM)
            #expect(try await activator.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    /// The `http` and `control` sockets systemd passes are served (the configured control path
    /// is not bound then).
    @Test func servesTheNamedHTTPAndControlSockets() async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            let (httpFD, httpPort) = try TestSockets.listeningTCP()
            let passedPath = "\(harness.directory)/passed-control.sock"
            let controlFD = try TestSockets.listeningUnix(path: passedPath)
            defer {
                TestSockets.close(httpFD)
                TestSockets.close(controlFD)
            }
            var environment = TestEnvironment.baseEnvironment
            environment["LISTEN_FDS"] = "2"
            environment["LISTEN_FDNAMES"] = "http:control"
            // LISTEN_PID must be the daemon's own pid: the shell sets it to its pid and execs.
            let daemon = try TestProcess(
                executable: "/bin/sh",
                arguments: [
                    "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", DaemonHarness.binary, "serve", "--config", harness.configPath,
                ],
                environment: environment,
                passing: [httpFD, controlFD],
                outputDirectory: harness.directory
            )
            defer { daemon.kill9() }
            try await HTTPTestClient.waitFor(port: httpPort, "/readyz") { $0.status == 200 }
            #expect(!HTTPTestClient.isListening(port: harness.port))
            let status = try await Gwctl.run(["--json", "status"], socket: passedPath)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(try status.json()["gateway_id"]?.string == "gw_test")
            #expect(access(harness.controlPath, F_OK) != 0)
            #expect(try await DaemonHarness.stop(daemon) == 0)
        }
    }
}
