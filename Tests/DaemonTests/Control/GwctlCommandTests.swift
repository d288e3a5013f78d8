import Control
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

/// gwctl's commands against a real polygated holding real data made through the gateway
/// protocol: devices, a conversation with messages, KeyPackages, presence leases and a watcher,
/// a throttled device. Each command's human output and its `--json` shape.
@Suite struct GwctlCommandTests {
    /// Sends are limited hard (one per minute after a burst of 6), so a device can be throttled.
    static let config = """
        [gateway]
        connect_rate_per_ip = "10000/1s"
        connect_burst_per_ip = 10000
        send_rate_per_device = "1/1m"
        send_burst_per_device = 6
        penalty_after_limits = 100
        claim_rate_per_device = "10000/1s"
        claim_burst_per_device = 10000
        auth_failures_per_ip = "1000/1m"
        """

    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

    @Test func everyCommandOnLiveData() async throws {
        try await GatewayHarness.run(gateway: Self.config) { gateway in
            let socket = gateway.controlPath
            let (alice, bob, carol) = (GatewayHarness.User(), GatewayHarness.User(), GatewayHarness.User())
            let (phone, laptop, b, c) = (
                try alice.device("phone"), try alice.device("laptop"), try bob.device("bob-phone"), try carol.device()
            )
            try await gateway.register(laptop, c)
            // Their leases end when the daemon has seen them go.
            try await Self.waitUntil(socket, "no leases") { try $0.json()["leases"]?.int == 0 }
            let conv = [0xAA] + SecureRandom.bytes(count: 15)
            let secret = "the-plaintext-marker-\(UInt32.random(in: 0...UInt32.max))"
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                let packages = try (0..<3).map { _ in try b.keyPackage() }
                try await cb.call(.uploadKeyPackages(.with { $0.keyPackages = packages.map { .init($0) } }))
                try await gateway.connected(phone) { ca in
                    try await ca.createConversation(conv)
                    _ = try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                    var last = try await ca.send(conv, epoch: 1, Array(secret.utf8))
                    last = try await ca.send(conv, epoch: 1, Array(secret.utf8))
                    let delivered = try await cb.deliveries(2)
                    try await cb.ack(conv, delivered.last!.seq)
                    try await GatewayPresenceTests.befriend(ca, alice.id, cb, bob.id)
                    _ = try await GatewayPresenceTests.watch(cb, [alice.id])

                    try await Self.status(socket)
                    try await Self.check(socket)
                    try await Self.conversations(socket, conv: conv, seq: last.seq, alice: alice.id, bob: bob.id, carol: carol.id)
                    try await Self.conversation(
                        socket,
                        conv: conv,
                        seq: last.seq,
                        ackedSeq: delivered.last!.seq,
                        alice: alice.id,
                        b: b,
                        secret: secret
                    )
                    try await Self.devices(socket, alice: alice.id, phone: phone, laptop: laptop)
                    try await Self.keyPackages(socket, bob: bob.id, b: b)
                    try await Self.presence(socket, alice: alice.id, bob: bob.id, carol: carol.id)
                    try await Self.rateLimits(socket, ca, conv: conv, phone: phone)
                    try await Self.blocks(socket, alice: alice.id, carol: carol.id)
                    try await Self.connections(socket, phone: phone, b: b)

                    // conn kick by session: bob's connection closes with 4000.
                    let sessions = try await Gwctl.ok(["--json", "conn", "list"], socket: socket).items()
                    let bobSession = try #require(
                        sessions.first { $0["device"]?.string == Self.hex(b.deviceID.bytes) }?["session"]?.int
                    )
                    let kicked = try await Gwctl.ok(["conn", "kick", String(bobSession)], socket: socket)
                    #expect(kicked.stdout.contains("closed: 1"))
                    try await expectClosed(cb, CloseCode.closedByAdmin)
                    let gone = try await Gwctl.run(["conn", "kick", String(bobSession)], socket: socket)
                    #expect(gone.status == 1 && gone.stderr.contains("no session \(bobSession)"))
                }
            }
            // device revoke (by a prefix): the laptop's live connection closes with 4003, it cannot
            // authenticate any more, and the listing shows when it was revoked.
            try await gateway.connected(laptop) { connection in
                _ = try await connection.backlog()
                let revoked = try await Gwctl.ok(
                    ["--json", "device", "revoke", String(Self.hex(laptop.deviceID.bytes).prefix(10))],
                    socket: socket
                ).json()
                #expect(revoked["revoked"]?.bool == true)
                #expect(revoked["device"]?.string == Self.hex(laptop.deviceID.bytes))
                try await expectClosed(connection, CloseCode.deviceRevoked)
            }
            let listed = try await Gwctl.ok(["--json", "device", "list", Self.hex(alice.id)], socket: socket).items()
            #expect(listed.first { $0["name"]?.string == "laptop" }?["revoked"]?.string?.hasSuffix("Z") == true)
            // conv show lists the revoked device as such (its leaf stays in the group until a
            // member removes it), rather than hiding it.
            let shownDevices =
                try await Gwctl.ok(["--json", "conv", "show", Self.hex(conv)], socket: socket).json()["devices"]?.array ?? []
            let laptopRow = try #require(shownDevices.first { $0["device"]?.string == Self.hex(laptop.deviceID.bytes) })
            #expect(laptopRow["revoked"]?.string?.hasSuffix("Z") == true)
            #expect(shownDevices.first { $0["device"]?.string == Self.hex(phone.deviceID.bytes) }?["revoked"] == .null)
            #expect(try await Gwctl.ok(["conv", "show", Self.hex(conv)], socket: socket).stdout.contains("REVOKED"))
            // Revoking it again changes nothing and records no second device.revoked.
            let again = try await Gwctl.ok(["--json", "device", "revoke", Self.hex(laptop.deviceID.bytes)], socket: socket).json()
            #expect(again["revoked"]?.bool == false)
            let revocations = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "device.revoked"], socket: socket).items()
            #expect(revocations.count == 1)
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.badCertificate) { try await connection.authenticate(laptop) }
            }

            // Every change made through gwctl is in the audit ledger, with who made it.
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-n", "200", "-e", "admin."], socket: socket).items()
            let events = ledger.compactMap { $0["event"]?.string }
            for event in [
                "admin.conn.kick", "admin.device.revoke", "admin.ratelimit.reset", "admin.block.add", "admin.block.remove",
            ] {
                #expect(events.contains(event), "\(event) not in \(events)")
            }
            #expect(ledger.allSatisfy { $0["actor"]?.string?.hasPrefix("admin uid=\(getuid()) pid=") == true })
            #expect(
                ledger.first { $0["event"]?.string == "admin.device.revoke" }?["subject"]?.string
                    == String(Self.hex(laptop.deviceID.bytes).prefix(10))
            )
            let human = try await Gwctl.ok(["ledger", "tail", "-n", "3"], socket: socket).stdout
            #expect(human.hasPrefix("ID  AT"))
            #expect(human.split(separator: "\n").count == 4)
        }
    }

    static func status(_ socket: String) async throws {
        let status = try await Gwctl.ok(["--json", "status"], socket: socket).json()
        #expect(status["gateway_id"]?.string == "gw_test")
        #expect(status["ready"]?.string == "ready")
        #expect(status["database"]?.string == "ok")
        #expect(status["schema_version"]?.int == Int64(PolygateSchema.migrations.count))
        #expect(status["authenticated"]?.int == 2)
        #expect(status["websocket"]?.int == 2)
        #expect(status["leases"]?.int == 2)
        #expect(status["sealed_key"]?.string?.count == 64)
        #expect((status["uptime_seconds"]?.int ?? -1) >= 0)
        let human = try await Gwctl.ok(["status"], socket: socket).stdout
        #expect(human.contains("gateway_id:          gw_test"))
        #expect(human.contains("authenticated:       2"))
        // Not a terminal: no colour, nothing cut.
        #expect(!human.contains("\u{1b}"))
    }

    static func check(_ socket: String) async throws {
        let check = try await Gwctl.ok(["--json", "check"], socket: socket).json()
        #expect(check["failed"]?.int == 0)
        let names = check["checks"]?.array?.compactMap { $0["check"]?.string } ?? []
        #expect(names == ["database", "clock", "schema", "notifications", "gateway", "presence", "readiness"])
        #expect(check["checks"]?.array?.allSatisfy { $0["ok"]?.bool == true } == true)
        let human = try await Gwctl.ok(["check"], socket: socket).stdout
        #expect(human.hasPrefix("summary: 7 checks, 7 ok, 0 failed"))
        #expect(human.contains("lease_ttl 60 s, the same on every daemon heard"))
        #expect(human.contains("CHECK          OK   DETAIL"))
    }

    static func conversations(
        _ socket: String,
        conv: [UInt8],
        seq: UInt64,
        alice: [UInt8],
        bob: [UInt8],
        carol: [UInt8]
    ) async throws {
        let items = try await Gwctl.ok(["--json", "conv", "list"], socket: socket).items()
        #expect(items.count == 1)
        let row = try #require(items.first)
        #expect(row["conv"]?.string == Self.hex(conv))
        #expect(row["home"]?.string == "gw_test")
        #expect(row["epoch"]?.int == 1 && row["seq"]?.int == Int64(seq) && row["members"]?.int == 2)
        #expect(row["last_activity"]?.string?.hasSuffix("Z") == true)
        #expect(Set(row.objectKeys) == ["conv", "home", "epoch", "seq", "members", "created", "last_activity"])
        #expect(try await Gwctl.ok(["--json", "conv", "list", "--member", Self.hex(bob)], socket: socket).items().count == 1)
        #expect(
            try await Gwctl.ok(["--json", "conv", "li", "--member=\(Self.hex(carol).prefix(8))"], socket: socket).items().isEmpty
        )
        #expect(try await Gwctl.ok(["conv", "list", "--member", Self.hex(carol)], socket: socket).stdout == "(none)\n")
        let human = try await Gwctl.ok(["conv", "list"], socket: socket).stdout.split(separator: "\n")
        #expect(
            human.first == "CONV                              HOME     EPOCH  SEQ  MEMBERS  CREATED               LAST_ACTIVITY"
        )
        #expect(human.count == 2 && human[1].hasPrefix(Self.hex(conv)))
        // Fitted to a narrow terminal's width: the widest column is cut with "…".
        let narrow = try await Gwctl.run(["conv", "list"], socket: socket, environment: ["COLUMNS": "70"])
        #expect(narrow.stdout.split(separator: "\n").allSatisfy { $0.count <= 70 })
        #expect(narrow.stdout.contains("…"))
    }

    static func conversation(
        _ socket: String,
        conv: [UInt8],
        seq: UInt64,
        ackedSeq: UInt64,
        alice: [UInt8],
        b: DeviceCredentials,
        secret: String
    ) async throws {
        let prefix = String(Self.hex(conv).prefix(6))
        let shown = try await Gwctl.ok(["--json", "conv", "show", prefix], socket: socket).json()
        #expect(shown["conv"]?.string == Self.hex(conv))
        #expect(shown["seq"]?.int == Int64(seq) && shown["epoch"]?.int == 1)
        #expect(shown["created_by"]?.string == Self.hex(alice))
        #expect(shown["pending_welcomes"]?.int == 0)
        #expect(shown["members"]?.array?.count == 2)
        let devices = shown["devices"]?.array ?? []
        let bobs = try #require(devices.first { $0["device"]?.string == Self.hex(b.deviceID.bytes) })
        #expect(
            bobs["acked_seq"]?.int == Int64(ackedSeq) && bobs["connected"]?.bool == true && bobs["name"]?.string == "bob-phone"
        )
        let human = try await Gwctl.ok(["conv", "show", prefix], socket: socket).stdout
        #expect(human.hasPrefix("conv:             \(Self.hex(conv))"))
        #expect(human.contains("\nmembers:\n  USER") && human.contains("\ndevices:\n  DEVICE"))
        // Never contents: the gateway has only ciphertext, and gwctl shows none of it.
        let json = try await Gwctl.ok(["--json", "conv", "show", prefix], socket: socket).stdout
        #expect(!human.contains(secret) && !json.contains(secret))
        // Prefixes: too short (a malformed argument: usage, 2), unknown (1).
        let short = try await Gwctl.run(["conv", "show", "aa"], socket: socket)
        #expect(short.status == 2 && short.stderr.contains("at least 4 hex characters"))
        let unknown = try await Gwctl.run(["conv", "show", "0123456789"], socket: socket)
        #expect(unknown.status == 1 && unknown.stderr.contains("no conversation 0123456789"))
        let notHex = try await Gwctl.run(["conv", "show", "zz-top"], socket: socket)
        #expect(notHex.status == 2 && notHex.stderr.contains("is not a hex id"))
    }

    static func devices(_ socket: String, alice: [UInt8], phone: DeviceCredentials, laptop: DeviceCredentials) async throws {
        let items = try await Gwctl.ok(["--json", "device", "list", Self.hex(alice)], socket: socket).items()
        #expect(Set(items.compactMap { $0["name"]?.string }) == ["phone", "laptop"])
        let phoneRow = try #require(items.first { $0["device"]?.string == Self.hex(phone.deviceID.bytes) })
        #expect(phoneRow["connected"]?.bool == true && phoneRow["revoked"] == .null)
        #expect(items.first { $0["device"]?.string == Self.hex(laptop.deviceID.bytes) }?["connected"]?.bool == false)
        let human = try await Gwctl.ok(["dev", "l", Self.hex(alice)], socket: socket).stdout
        #expect(human.hasPrefix("DEVICE"))
        #expect(human.contains("phone") && human.contains("laptop"))
    }

    static func keyPackages(_ socket: String, bob: [UInt8], b: DeviceCredentials) async throws {
        let items = try await Gwctl.ok(["--json", "kp", "stats", Self.hex(bob)], socket: socket).items()
        let row = try #require(items.first)
        #expect(items.count == 1 && row["device"]?.string == Self.hex(b.deviceID.bytes))
        #expect(row["one_time"]?.int == 3 && row["suite"]?.int == 1 && row["low"]?.bool == true)
        // Without a user: every device that is low or out (bob's included).
        let low = try await Gwctl.ok(["--json", "kp", "stats"], socket: socket).items()
        #expect(low.contains { $0["device"]?.string == Self.hex(b.deviceID.bytes) })
    }

    static func presence(_ socket: String, alice: [UInt8], bob: [UInt8], carol: [UInt8]) async throws {
        let leases = try await Gwctl.ok(["--json", "presence", "list"], socket: socket).items()
        #expect(Set(leases.compactMap { $0["user"]?.string }) == [Self.hex(alice), Self.hex(bob)])
        let alices = try #require(leases.first { $0["user"]?.string == Self.hex(alice) })
        #expect(alices["devices"]?.int == 1 && alices["watchers"]?.int == 1 && alices["invisible"]?.bool == false)
        #expect((1...60_000).contains(alices["ttl_left_ms"]?.int ?? 0))
        let shown = try await Gwctl.ok(["--json", "presence", "show", Self.hex(alice)], socket: socket).json()
        #expect(shown["online"]?.bool == true && shown["devices_here"]?.int == 1 && shown["watchers"]?.int == 1)
        #expect(shown["other_daemons"]?.int == 0)
        let offline = try await Gwctl.ok(["--json", "presence", "show", Self.hex(carol)], socket: socket).json()
        #expect(offline["online"]?.bool == false && offline["devices_here"]?.int == 0 && offline["ttl_left_ms"] == .null)
        let human = try await Gwctl.ok(["pres", "l"], socket: socket).stdout
        #expect(human.hasPrefix("USER") && human.contains("TTL_LEFT_MS"))
    }

    static func rateLimits(
        _ socket: String,
        _ connection: GatewayConnection,
        conv: [UInt8],
        phone: DeviceCredentials
    ) async throws {
        // Spend the rest of the phone's send bucket until the gateway refuses.
        var refused = false
        for _ in 0..<10 where !refused {
            do {
                try await connection.send(conv, epoch: 1, Array("x".utf8))
            } catch let error as GatewayClientError where error.serverCode == .rateLimited {
                refused = true
            }
        }
        #expect(refused)
        let device = Self.hex(phone.deviceID.bytes)
        let levels = try await Gwctl.ok(["--json", "ratelimit", "show", device], socket: socket).items()
        let send = try #require(levels.first { $0["bucket"]?.string == "send" })
        #expect(send["key"]?.string == "device \(device)")
        #expect((send["tokens"].flatMap(Self.number) ?? 9) < 1 && send["burst"].flatMap(Self.number) == 6)
        #expect(try await Gwctl.ok(["ratelimit", "show"], socket: socket).stdout.contains("device \(device)"))
        let ip = try await Gwctl.ok(["--json", "ratelimit", "show", "127.0.0.1"], socket: socket).items()
        #expect(ip.allSatisfy { $0["key"]?.string == "ip 127.0.0.1" })
        let reset = try await Gwctl.ok(["--json", "ratelimit", "reset", String(device.prefix(12))], socket: socket).json()
        #expect(reset["reset"]?.bool == true && reset["key"]?.string == "device \(device)")
        let after = try await Gwctl.ok(["--json", "ratelimit", "show", device], socket: socket).items()
        #expect(!after.contains { $0["bucket"]?.string == "send" })
        // Refilled: the device may send again.
        _ = try await connection.send(conv, epoch: 1, Array("after the reset".utf8))
    }

    static func blocks(_ socket: String, alice: [UInt8], carol: [UInt8]) async throws {
        let (a, c) = (Self.hex(alice), Self.hex(carol))
        let added = try await Gwctl.ok(["--json", "block", "add", a, c], socket: socket).json()
        #expect(added["changed"]?.bool == true && added["blocked"]?.string == c)
        #expect(try await Gwctl.ok(["--json", "block", "add", a, c], socket: socket).json()["changed"]?.bool == false)
        #expect(
            try await Gwctl.ok(["--json", "block", "list", a], socket: socket).items().compactMap { $0["blocked"]?.string } == [c]
        )
        #expect(try await Gwctl.ok(["block", "list", a], socket: socket).stdout.contains(c))
        let removed = try await Gwctl.ok(["--json", "block", "remove", a, c], socket: socket).json()
        #expect(removed["changed"]?.bool == true)
        #expect(try await Gwctl.ok(["--json", "block", "list", a], socket: socket).items().isEmpty)
        let itself = try await Gwctl.run(["block", "add", a, a], socket: socket)
        #expect(itself.status == 2 && itself.stderr.contains("cannot block itself"))
    }

    /// Whole ids nobody has are `not_found` (exit 1) like prefixes nothing starts with, and a
    /// refused command records nothing (issue 15: `device revoke` of a made-up id answered
    /// "revoked: no", exit 0, and wrote two ledger rows).
    @Test func unknownWholeIdsAreNotFoundAndNothingIsRecorded() async throws {
        try await GatewayHarness.run(gateway: Self.config) { gateway in
            let socket = gateway.controlPath
            let alice = GatewayHarness.User()
            let phone = try alice.device("phone")
            try await gateway.register(phone)
            let before = try await Gwctl.ok(["--json", "ledger", "tail", "-n", "1000"], socket: socket).items().count
            let nobody = Self.hex(SecureRandom.bytes(count: 32))
            let known = Self.hex(alice.id)
            for command in [
                ["device", "revoke", nobody], ["device", "list", nobody], ["presence", "show", nobody], ["kp", "stats", nobody],
                ["block", "list", nobody], ["block", "add", known, nobody], ["block", "add", nobody, known],
                ["block", "remove", nobody, known], ["conv", "list", "--member", nobody], ["ratelimit", "show", nobody],
                ["ratelimit", "reset", nobody], ["conn", "kick", nobody], ["conv", "show", nobody],
            ] {
                let run = try await Gwctl.run(["--json"] + command, socket: socket)
                #expect(run.status == 1, "\(command.joined(separator: " ")): \(run.status) \(run.stdout)\(run.stderr)")
                #expect(
                    try run.json()["error"]?["code"]?.string == "not_found",
                    "\(command.joined(separator: " ")): \(run.stdout)"
                )
                #expect(run.stderr.contains("no "), "\(command.joined(separator: " ")): \(run.stderr)")
            }
            let after = try await Gwctl.ok(["--json", "ledger", "tail", "-n", "1000"], socket: socket).items().count
            #expect(after == before)
            // The real ones still work.
            #expect(try await Gwctl.ok(["--json", "device", "list", known], socket: socket).items().count == 1)
        }
    }

    /// With --json every failure prints `{"error": {"code", "message"}}` on standard output —
    /// usage errors (2) and an unreachable daemon (3) too; malformed ids are usage errors
    /// (issue 15: nothing was printed, and a too-short prefix exited 1).
    @Test func jsonFailuresAreObjectsAndUsageErrorsExitTwo() async throws {
        try await GatewayHarness.run(gateway: Self.config) { gateway in
            let socket = gateway.controlPath
            for (arguments, status, code) in [
                (["--json", "frobnicate"], Int32(2), "unknown_command"),
                (["--json", "conv", "show"], 2, "bad_arguments"),
                (["--json", "conv", "show", "12"], 2, "bad_arguments"),
                (["--json", "device", "list", "not-hex"], 2, "bad_arguments"),
                (["--json", "--bogus"], 2, "bad_arguments"),
                (["--json", "help", "frobnicate"], 2, "unknown_command"),
            ] {
                let run = try await Gwctl.run(arguments, socket: socket)
                #expect(run.status == status, "\(arguments): \(run.status) \(run.stderr)")
                let error = try run.json()["error"]
                #expect(error?["code"]?.string == code, "\(arguments): \(run.stdout)")
                let message = error?["message"]?.string ?? ""
                #expect(!message.isEmpty)
                #expect(run.stderr.hasPrefix("gwctl: "))
            }
            let away = try await Gwctl.run(["--json", "status"], socket: socket + ".missing")
            #expect(away.status == 3)
            #expect(try away.json()["error"]?["code"]?.string == "unreachable")
            // Without --json, standard output stays empty on failure.
            let plain = try await Gwctl.run(["conv", "show", "12"], socket: socket)
            #expect(plain.status == 2 && plain.stdout.isEmpty)
        }
    }

    static func connections(_ socket: String, phone: DeviceCredentials, b: DeviceCredentials) async throws {
        let items = try await Gwctl.ok(["--json", "conn", "list"], socket: socket).items()
        #expect(Set(items.compactMap { $0["device"]?.string }) == [Self.hex(phone.deviceID.bytes), Self.hex(b.deviceID.bytes)])
        #expect(items.allSatisfy { $0["transport"]?.string == "websocket" && $0["peer"]?.string?.hasPrefix("127.0.0.1") == true })
        #expect(
            Set(items.first?.objectKeys ?? []) == ["session", "transport", "peer", "user", "device", "age_seconds", "queued"]
        )
        #expect(try await Gwctl.ok(["conn", "list"], socket: socket).stdout.hasPrefix("SESSION  TRANSPORT"))
    }

    /// Polls `gwctl --json status` until `condition` holds (at most 10 s).
    static func waitUntil(_ socket: String, _ what: String, _ condition: (Gwctl.Run) throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let run = try await Gwctl.ok(["--json", "status"], socket: socket)
            if try condition(run) { return }
            guard ContinuousClock.now < deadline else { throw TestFailure("never \(what): \(run.stdout)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func number(_ value: ControlValue) -> Double? {
        switch value {
        case .int(let int): Double(int)
        case .double(let double): double
        default: nil
        }
    }
}

extension ControlValue {
    var objectKeys: [String] {
        if case .object(let object) = self { return Array(object.keys) }
        return []
    }
}
