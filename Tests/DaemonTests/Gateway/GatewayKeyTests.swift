import Control
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The gateway's sealed-session keys through the real daemon and its commands: created at
/// first start, published by `GET /v1/info`, printed by `polygated show-key`, rotated by
/// `polygated rotate-keys` (audited) and taken on SIGHUP.
@Suite struct GatewayKeyTests {
    static func infoKeys(_ port: Int) async throws -> [[String: Any]] {
        let response = try await HTTPTestClient.get(port: port, "/v1/info")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
        let sealed = try #require(document["sealed"] as? [String: Any])
        #expect(sealed["protocol"] as? String == "Noise_NK_25519_ChaChaPoly_SHA256")
        return try #require(sealed["keys"] as? [[String: Any]])
    }

    @Test func keysAreCreatedPublishedRotatedAndReloaded() async throws {
        try await GatewayHarness.run { gateway in
            let harness = gateway.daemons[0].harness
            let file = harness.directory + "/state/gateway-keys"
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
            #expect(gateway.daemons[0].process.stderr.contains("created the gateway's sealed-session key"))

            // One key, the same in the info document and in show-key.
            let published = try await Self.infoKeys(gateway.port)
            #expect(published.count == 1)
            let first = try #require(published.first?["key"] as? String)
            #expect(first.count == 64)
            let shown = try await DaemonHarness.run(["show-key", "--config", harness.configPath])
            #expect(shown.status == 0)
            #expect(shown.stdout.hasPrefix("\(first)  current, created 20"))
            let json = try await DaemonHarness.run(["show-key", "--json", "--config", harness.configPath])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect((object["keys"] as? [[String: Any]])?.first?["key"] as? String == first)
            #expect(try await Gwctl.ok(["--json", "status"], socket: gateway.controlPath).json()["sealed_key"]?.string == first)

            // Rotation: two keys in the file and the ledger; the daemon takes them on SIGHUP.
            let rotated = try await DaemonHarness.run(["rotate-keys", "--overlap", "1h", "--config", harness.configPath])
            #expect(rotated.status == 0, "\(rotated.stderr)")
            let lines = rotated.stdout.split(separator: "\n")
            #expect(lines.count == 3)
            let second = String(lines[0].prefix(64))
            #expect(second != first && lines[0].contains("  current, created 20"))
            #expect(lines[1].hasPrefix("\(first)  accepted until 20"))
            #expect(lines[2] == "Reload running daemons so that they accept the new key: systemctl reload polygated")
            #expect(try await Self.infoKeys(gateway.port).count == 1)
            gateway.daemons[0].process.signal(SIGHUP)
            try await eventually("the daemon publishes both keys after SIGHUP") {
                try await Self.infoKeys(gateway.port).compactMap { $0["key"] as? String } == [second, first]
            }
            let old = try #require(try await Self.infoKeys(gateway.port).last)
            let retires = try #require(old["retires_ms"] as? Int)
            let now = Int(Date().timeIntervalSince1970 * 1000)
            #expect((now + 3_500_000...now + 3_600_000).contains(retires))
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "gateway.key"], socket: gateway.controlPath)
                .items()
            #expect(ledger.contains { $0["event"]?.string == "gateway.key_rotated" && $0["subject"]?.string == second })

            // No overlap: the old keys retire at once and are gone after the next reload.
            let again = try await DaemonHarness.run(["rotate-keys", "--overlap", "0s", "--config", harness.configPath])
            #expect(again.status == 0)
            let third = String(again.stdout.prefix(64))
            #expect(again.stdout.split(separator: "\n").count == 2)
            gateway.daemons[0].process.signal(SIGHUP)
            try await eventually("only the newest key is left") {
                try await Self.infoKeys(gateway.port).compactMap { $0["key"] as? String } == [third]
            }
            #expect(gateway.daemons[0].process.stderr.contains("sealed-session keys reloaded"))

            // A bad overlap is a usage error; a file others may read is refused with what to do.
            let bad = try await DaemonHarness.run(["rotate-keys", "--overlap", "soon", "--config", harness.configPath])
            #expect(bad.status == 64 && bad.stderr.contains("'soon' is not a duration"))
            chmod(file, 0o644)
            let open = try await DaemonHarness.run(["show-key", "--config", harness.configPath])
            #expect(open.status == 78)
            #expect(
                open.stderr
                    == "polygated: daemon.state_directory: \(file): the key file is open to others (mode 644): chmod 600 it\n"
            )
            // A reload now keeps the keys in force, and says why.
            gateway.daemons[0].process.signal(SIGHUP)
            try await eventually("the reload failure is logged") {
                gateway.daemons[0].process.stderr.contains("sealed-session keys not reloaded: the keys in force stay")
            }
            #expect(try await Self.infoKeys(gateway.port).compactMap { $0["key"] as? String } == [third])
        }
    }
}
