import Control
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Linking a device by pairing code, end to end (issue 19, item 4; docs/GATEWAY_SPEC.md §12):
/// `polychat devices link` on the old device, `polychat init --link CODE` on the new one.
@Suite struct PolychatPairingTests {
    /// Starts `polychat devices link` for `user`; the process and the code it shows.
    static func link(_ user: PolychatUser) async throws -> (process: TestProcess, code: String) {
        let process = try TestProcess(
            executable: PolychatUser.binary,
            arguments: ["devices", "link"],
            environment: user.environment,
            outputDirectory: TestEnvironment.scratchDirectory
        )
        try await eventually("the code is shown") { process.stdout.contains("pairing code: ") }
        let line = try #require(process.stdout.split(separator: "\n").first { $0.hasPrefix("pairing code: ") })
        return (process, String(line.dropFirst("pairing code: ".count)))
    }

    static func newDevice(_ name: String, port: Int) -> PolychatUser { PolychatUser.uninitialized(name, port: port) }

    static func verification(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("verification: ") }.map { String($0.dropFirst(14).prefix(7)) }
    }

    @Test func aDeviceLinkedByCodeReadsItsUsersRoomsAndSpeaksAsTheUser() async throws {
        try await GatewayHarness.run { gateway in
            let phone = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await phone.ok(["room", "create", "lobby"])
            try await phone.ok(["room", "invite", "lobby", bob.id])
            try await bob.ok(["send", "lobby", "before the link"])

            let (linking, code) = try await Self.link(phone)
            defer { linking.kill9() }
            #expect(code.count == 19 && code.split(separator: "-").count == 4)
            #expect(linking.stdout.contains("polychat init --link \(code) --server "))
            let laptop = Self.newDevice("laptop", port: gateway.port)
            let created = try await laptop.ok(["init", "--server", laptop.server, "--device-name", "laptop", "--link", code])
            #expect(created.contains("registered with"))
            #expect(try await linking.waitForExit() == 0)
            #expect(linking.stdout.contains("linked (verification "))
            // Both devices showed the same verification string.
            let shown = try #require(Self.verification(created))
            #expect(Self.verification(linking.stdout) == shown)
            #expect(shown.count == 7)

            // The same user; the laptop joins the user's rooms and reads what follows.
            let whoami: [String: String] = try await laptop.json(["whoami", "--json"])
            #expect(whoami["user"] == phone.id)
            try await eventually("the laptop is in lobby") { try await laptop.rooms().contains { $0.name == "lobby" } }
            try await bob.ok(["send", "lobby", "after the link"])
            try await eventually("the laptop reads bob") { try await laptop.texts("lobby").contains("after the link") }
            try await laptop.ok(["send", "lobby", "from the laptop"])
            let seen = try await bob.read("lobby").messages.last
            #expect(seen?.text == "from the laptop" && seen?.sender == phone.id)
            let mine = try await phone.read("lobby").messages.last
            #expect(mine?.text == "from the laptop" && mine?.own == true)
            #expect(try await phone.ok(["devices"]).contains("laptop"))

            // The code was used: it does not work again.
            let reused = Self.newDevice("tablet", port: gateway.port)
            let refusal = try await reused.fails(["init", "--server", reused.server, "--link", code], status: 1)
            #expect(refusal.contains("this pairing code was used already"))
            #expect(!reused.home.isEmpty && access(reused.home + "/identity.json", F_OK) != 0)

            // The ledger tells the story; the code's second half is nowhere in it.
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "pairing."], socket: gateway.controlPath).items()
            let events = ledger.compactMap { $0["event"]?.string }
            #expect(Set(events) == ["pairing.created", "pairing.claimed", "pairing.completed", "pairing.refused"])
            let refusedDetails = ledger.first { $0["event"]?.string == "pairing.refused" }?["details"]?.string ?? ""
            #expect(refusedDetails.contains(#""reason": "used""#), "details: \(refusedDetails)")
            let secondHalf = code.split(separator: "-").suffix(2).joined()
            #expect(!ledger.contains { "\($0)".contains(secondHalf) })
            #expect(ledger.allSatisfy { $0["subject"]?.string == code.split(separator: "-").prefix(2).joined() })
        }
    }

    @Test func wrongExpiredCancelledAndGuessedCodesFailClearlyAndAreAudited() async throws {
        let config =
            GatewayHarness.baseGatewayConfig + """

                pairing_ttl = "3s"
                pairing_attempts_per_ip = "6/1h"
                pairing_attempts_burst_per_ip = 6
                """
        try await GatewayHarness.run(gateway: config) { gateway in
            let phone = try await PolychatUser.create("alice", port: gateway.port)

            // A wrong second half: the new device's claim does not verify on the old one;
            // nothing is sent, both say so. (2 attempts: the read and the claim.)
            var (linking, code) = try await Self.link(phone)
            let wrong = String(code.dropLast()) + (code.last == "0" ? "1" : "0")
            let laptop = Self.newDevice("laptop", port: gateway.port)
            let refused = try await laptop.fails(["init", "--server", laptop.server, "--link", wrong], status: 1)
            #expect(refused.contains("your other device did not accept the code typed here"))
            #expect(access(laptop.home + "/identity.json", F_OK) != 0)
            #expect(try await linking.waitForExit() == 1)
            #expect(linking.stderr.contains("the new device typed a different code"))

            // Expired: the code outlives its 3 s. (1 attempt.)
            (linking, code) = try await Self.link(phone)
            try await Task.sleep(for: .seconds(4))
            let late = try await laptop.fails(["init", "--server", laptop.server, "--link", code], status: 1)
            #expect(late.contains("this pairing code expired"))
            #expect(try await linking.waitForExit() == 1)
            #expect(linking.stderr.contains("expired"))

            // Cancelled by an administrator. (1 attempt.)
            (linking, code) = try await Self.link(phone)
            let listed = try await Gwctl.ok(["--json", "pairing", "list"], socket: gateway.controlPath).items()
            let id = String(code.split(separator: "-").prefix(2).joined())
            #expect(listed.first?["pairing"]?.string == id && listed.first?["state"]?.string == "open")
            let states = Set(listed.compactMap { $0["state"]?.string })
            #expect(states.isSuperset(of: ["failed", "expired"]))
            try await Gwctl.ok(["pairing", "cancel", id], socket: gateway.controlPath)
            #expect(try await linking.waitForExit() == 1)
            #expect(linking.stderr.contains("cancelled"))
            let cancelled = try await laptop.fails(["init", "--server", laptop.server, "--link", code], status: 1)
            #expect(cancelled.contains("this pairing code was cancelled"))

            // Guessing: codes nobody made are not found, until the address runs out of attempts.
            var limited = ""
            for guess in 0..<6 {
                let (status, _, stderr) = try await laptop.run([
                    "init", "--server", laptop.server, "--link", String(format: "ZZZZ-ZZZ%d-0000-0000", guess % 10),
                ])
                if status == 7 {
                    limited = stderr
                    break
                }
                #expect(status == 1 && stderr.contains("no pairing code starts with ZZZZ-ZZZ"))
            }
            #expect(limited.contains("too many pairing attempts from this address"))

            // The ledger: made, claimed, failed, expired, cancelled.
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "pairing."], socket: gateway.controlPath).items()
            let events = Set(ledger.compactMap { $0["event"]?.string })
            let expected: Set<String> = [
                "pairing.created", "pairing.claimed", "pairing.failed", "pairing.expired", "pairing.cancelled", "pairing.refused",
                "pairing.rate_limited",
            ]
            #expect(events.isSuperset(of: expected))
            #expect(!events.contains("pairing.completed"))
        }
    }

    @Test func onATerminalTheUserComparesTheVerificationStringBeforeAnythingIsSent() async throws {
        try await GatewayHarness.run { gateway in
            let phone = try await PolychatUser.create("alice", port: gateway.port)
            for answer in ["n", "y"] {
                let terminal = try PseudoTerminalProcess(
                    executable: PolychatUser.binary,
                    arguments: ["devices", "link"],
                    environment: phone.environment
                )
                defer { terminal.kill9() }
                try await terminal.waitFor("pairing code: ")
                let screen = terminal.screen
                let start = try #require(screen.range(of: "pairing code: ")?.upperBound)
                let code = String(screen[start...].prefix(19))
                let laptop = Self.newDevice("laptop-\(answer)", port: gateway.port)
                let joining = try TestProcess(
                    executable: PolychatUser.binary,
                    arguments: ["init", "--server", laptop.server, "--link", code],
                    environment: laptop.environment,
                    outputDirectory: TestEnvironment.scratchDirectory
                )
                defer { joining.kill9() }
                try await terminal.waitFor("does the new device show ")
                try await eventually("the new device shows its verification string") { joining.stdout.contains("verification: ") }
                // The same string on both, asked before anything was sent.
                let shown = try #require(Self.verification(joining.stdout))
                try await terminal.waitFor("does the new device show \(shown)? [y/N]")
                #expect(access(laptop.home + "/identity.json", F_OK) != 0)
                terminal.type(answer + "\r")
                if answer == "n" {
                    #expect(try await terminal.waitForExit() == 1)
                    #expect(terminal.screen.contains("not confirmed: nothing was sent"))
                    #expect(try await joining.waitForExit() == 1)
                    #expect(joining.stderr.contains("your other device did not accept the code typed here"))
                    #expect(access(laptop.home + "/identity.json", F_OK) != 0)
                } else {
                    #expect(try await terminal.waitForExit() == 0)
                    #expect(try await joining.waitForExit() == 0)
                    #expect(joining.stdout.contains("registered with"))
                }
            }
        }
    }
}
