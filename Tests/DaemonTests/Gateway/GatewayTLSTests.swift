import AsyncHTTPClient
import ClientTLS
import GatewayClient
import GatewayWire
import NIOCore
import NIOHTTP1
import Polycentric
import PolycentricClient
import Primitives
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The native TLS listener (`[http] tls_certificate`, `tls_private_key`) and the clients' TLS:
/// real certificates from a throwaway authority (openssl), verification that refuses what it
/// must with its own message, and SIGHUP reloads that drop nothing (issue 17).
@Suite struct GatewayTLSTests {
    typealias User = GatewayHarness.User

    static func tlsConfig(_ pair: TestCertificates.Pair) -> String {
        "tls_certificate = \"\(pair.certificate)\"\ntls_private_key = \"\(pair.privateKey)\""
    }

    /// The TLS failure of opening a WebSocket (nil when it opened).
    static func webSocketFailure(host: String = "localhost", port: Int, tls: ClientTLS) async throws -> GatewayClientError? {
        do {
            try await GatewayConnection.withWebSocket(host: host, port: port, tls: tls) { connection in
                _ = try await connection.challenge()
            }
            return nil
        } catch let error as GatewayClientError {
            return error
        }
    }

    @Test func theNativeListenerServesWebSocketSSEAndTheSocialAPI() async throws {
        let certificates = try await TestCertificates.make()
        let server = try await certificates.server("server")
        try await GatewayHarness.run(http: Self.tlsConfig(server), tlsCA: certificates.caFile) { gateway in
            let tls = ClientTLS(caFiles: [certificates.caFile])
            let alice = User()
            let a = try alice.device()
            // WebSocket over TLS, by name and by address (the certificate carries both).
            for host in ["localhost", "127.0.0.1"] {
                try await GatewayConnection.withWebSocket(host: host, port: gateway.port, tls: tls) { connection in
                    try await connection.authenticate(a, register: true)
                }
            }
            try await HTTPClient.withClient(trusting: certificates.caFile) { client in
                // SSE over TLS.
                try await GatewayConnection.withSSE(host: "localhost", port: gateway.port, tls: tls, client: client) {
                    connection in
                    try await connection.authenticate(a, register: false)
                }
                // The Polycentric API over TLS.
                let social = try PolycentricServer(baseURL: "https://localhost:\(gateway.port)", client: client, tls: tls)
                #expect(
                    try await social.head(
                        of: .with {
                            $0.keyType = 1
                            $0.key = .init(alice.id)
                        }
                    ).isEmpty
                )
            }
            // Plain HTTP to the TLS port is no request: the connection ends, nothing is served.
            let plain = try? await HTTPTestClient.get(port: gateway.port, "/readyz", timeout: .seconds(5))
            #expect(plain == nil || plain?.status != 200)
            // A TLS client at a plain port is told what is wrong.
        }
        try await GatewayHarness.run { gateway in
            let failure = try #require(
                try await Self.webSocketFailure(port: gateway.port, tls: ClientTLS(caFiles: [certificates.caFile]))
            )
            #expect(failure.code == .tls && failure.tls?.code == .handshake, "\(failure)")
            #expect(
                failure.message.contains("localhost:\(gateway.port)") && failure.message.contains("TLS port"),
                "\(failure.message)"
            )
        }
    }

    @Test func verificationRefusesWhatItMustAndSaysWhy() async throws {
        let certificates = try await TestCertificates.make()
        let trusted = ClientTLS(caFiles: [certificates.caFile])
        // Not given the private authority: untrusted issuer, with the way out.
        let valid = try await certificates.server("valid")
        try await GatewayHarness.run(http: Self.tlsConfig(valid), tlsCA: certificates.caFile) { gateway in
            let failure = try #require(try await Self.webSocketFailure(port: gateway.port, tls: ClientTLS()))
            #expect(failure.tls?.code == .untrustedIssuer, "\(failure)")
            #expect(
                failure.message.contains("localhost:\(gateway.port)") && failure.message.contains("polygate test ca"),
                "\(failure.message)"
            )
            #expect(failure.message.contains("--ca-file"))
            // The same through AsyncHTTPClient (SSE and the social API).
            try await HTTPClient.withClient(trusting: nil) { system in
                do {
                    try await GatewayConnection.withSSE(host: "localhost", port: gateway.port, tls: ClientTLS(), client: system) {
                        _ in
                    }
                    Issue.record("SSE accepted an untrusted certificate")
                } catch let error as GatewayClientError {
                    #expect(error.tls?.code == .untrustedIssuer, "\(error)")
                }
                let social = try PolycentricServer(baseURL: "https://localhost:\(gateway.port)", client: system)
                do {
                    _ = try await social.head(
                        of: .with {
                            $0.keyType = 1
                            $0.key = .init(User().id)
                        }
                    )
                    Issue.record("the social client accepted an untrusted certificate")
                } catch let error as ServerError {
                    #expect(error.tls?.code == .untrustedIssuer && error.reason?.contains("does not trust") == true, "\(error)")
                }
            }
        }
        // Issued by another authority than the one given.
        let rogue = try await certificates.server("rogue-server", issuer: "rogue")
        try await GatewayHarness.run(http: Self.tlsConfig(rogue), tlsCA: "\(certificates.directory)/rogue.pem") { gateway in
            let failure = try #require(try await Self.webSocketFailure(port: gateway.port, tls: trusted))
            #expect(failure.tls?.code == .untrustedIssuer && failure.message.contains("polygate test rogue"), "\(failure)")
        }
        // Expired.
        let expired = try await certificates.server("expired", days: -1)
        try await GatewayHarness.run(http: Self.tlsConfig(expired), tlsCA: nil) { gateway in
            let failure = try #require(try await Self.webSocketFailure(port: gateway.port, tls: trusted))
            #expect(failure.tls?.code == .expired, "\(failure)")
            #expect(failure.message.contains("expired on") && failure.message.contains("renew"), "\(failure.message)")
            try await eventually("the expired certificate is logged") {
                gateway.daemons[0].process.stderr.contains("the TLS certificate has expired")
            }
        }
        // For other names only.
        let elsewhere = try await certificates.server("elsewhere", names: ["DNS:chat.example.org"])
        try await GatewayHarness.run(http: Self.tlsConfig(elsewhere), tlsCA: nil) { gateway in
            let failure = try #require(try await Self.webSocketFailure(port: gateway.port, tls: trusted))
            #expect(failure.tls?.code == .nameMismatch && failure.message.contains("chat.example.org"), "\(failure)")
        }
        // A CA file that is not one.
        try writeFile("\(certificates.directory)/garbage.pem", "not a certificate\n")
        let garbage = try #require(
            try await Self.webSocketFailure(port: 1, tls: ClientTLS(caFiles: ["\(certificates.directory)/garbage.pem"]))
        )
        #expect(garbage.tls?.code == .badCAFile && garbage.message.contains("garbage.pem"), "\(garbage)")
    }

    @Test func sighupReloadsTheCertificateWithoutDroppingConnections() async throws {
        let certificates = try await TestCertificates.make()
        // First for the name only; then for the address too.
        let first = try await certificates.server("first", names: ["DNS:localhost"])
        let second = try await certificates.server("second", names: ["DNS:localhost", "IP:127.0.0.1"])
        let live = TestCertificates.Pair(
            certificate: "\(certificates.directory)/live.pem",
            privateKey: "\(certificates.directory)/live.key"
        )
        func install(_ pair: TestCertificates.Pair) throws {
            try writeFile(live.certificate, readFile(pair.certificate))
            try writeFile(live.privateKey, readFile(pair.privateKey), mode: 0o600)
        }
        try install(first)
        try await GatewayHarness.run(http: Self.tlsConfig(live), tlsCA: certificates.caFile) { gateway in
            let tls = ClientTLS(caFiles: [certificates.caFile])
            let daemon = gateway.daemons[0].process
            #expect(try await Self.webSocketFailure(host: "127.0.0.1", port: gateway.port, tls: tls)?.tls?.code == .nameMismatch)
            let alice = User()
            let a = try alice.device()
            try await GatewayConnection.withWebSocket(host: "localhost", port: gateway.port, tls: tls) { open in
                try await open.authenticate(a, register: true)
                try install(second)
                daemon.signal(SIGHUP)
                try await eventually("the reload is logged") { daemon.stderr.contains("TLS certificate reloaded") }
                // New connections get the new certificate…
                #expect(try await Self.webSocketFailure(host: "127.0.0.1", port: gateway.port, tls: tls) == nil)
                // …and the one opened before still works.
                _ = try await open.call(.countKeyPackages(.with { $0.cipherSuite = 1 }))
                // A broken reload keeps the certificate in use and says so.
                try writeFile(live.privateKey, "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", mode: 0o600)
                daemon.signal(SIGHUP)
                try await eventually("the failed reload is logged") { daemon.stderr.contains("TLS certificate not reloaded") }
                #expect(try await Self.webSocketFailure(host: "127.0.0.1", port: gateway.port, tls: tls) == nil)
                _ = try await open.call(.countKeyPackages(.with { $0.cipherSuite = 1 }))
            }
            #expect(daemon.exitedStatus == nil)
        }
    }

    @Test func unusableCertificatesAndKeysStopTheDaemonWithWhatToDo() async throws {
        let certificates = try await TestCertificates.make()
        let pair = try await certificates.server("pair")
        let other = try await certificates.server("other")
        let harnessDirectory = TestEnvironment.makeDirectory("tls-config")
        func check(_ http: String) async throws -> (status: Int32, stderr: String) {
            let path = "\(harnessDirectory)/polygated.conf"
            try writeFile(path, "[http]\nlisten = \"127.0.0.1:1\"\n\(http)\n")
            let (status, _, stderr) = try await DaemonHarness.run(["check-config", "--config", path])
            return (status, stderr)
        }
        // Both or neither.
        let half = try await check("tls_certificate = \"\(pair.certificate)\"")
        #expect(half.status == 78 && half.stderr.contains("http.tls_private_key is not"), "\(half)")
        #expect(try await check("tls_certificate = \"relative.pem\"\ntls_private_key = \"/k\"").stderr.contains("absolute path"))
        // A key others may read.
        chmod(pair.privateKey, 0o644)
        let open = try await check(Self.tlsConfig(pair))
        #expect(
            open.status == 78 && open.stderr.contains("open to other users (mode 644)") && open.stderr.contains("chmod 0600"),
            "\(open)"
        )
        chmod(pair.privateKey, 0o640)
        #expect(try await check(Self.tlsConfig(pair)).status == 0)
        // The key of another certificate.
        let mismatched = try await check(
            Self.tlsConfig(TestCertificates.Pair(certificate: pair.certificate, privateKey: other.privateKey))
        )
        #expect(mismatched.status == 78 && mismatched.stderr.contains("is not the key of the certificate"), "\(mismatched)")
        // Missing and garbage files.
        let missing = try await check(
            Self.tlsConfig(TestCertificates.Pair(certificate: "/nonexistent.pem", privateKey: pair.privateKey))
        )
        #expect(missing.status == 78 && missing.stderr.contains("/nonexistent.pem cannot be read"), "\(missing)")
        let garbage = try await check(
            Self.tlsConfig(TestCertificates.Pair(certificate: pair.privateKey, privateKey: pair.privateKey))
        )
        #expect(garbage.status == 78 && garbage.stderr.contains("does not hold PEM certificates"), "\(garbage)")
        // And the daemon itself refuses to start, with the same words.
        chmod(pair.privateKey, 0o666)
        let harness = try DaemonHarness(databaseURL: "postgresql:///nowhere", http: Self.tlsConfig(pair))
        let daemon = try harness.start()
        #expect(try await daemon.waitForExit(timeout: .seconds(30)) == 78)
        #expect(
            daemon.stderr.contains("http.tls_private_key") && daemon.stderr.contains("open to other users"),
            "\(daemon.stderr)"
        )
    }
}
