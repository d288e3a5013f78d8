import Control
import GatewayClient
import GatewayWire
import Primitives
import TestSupport
import Testing

@testable import Daemon

#if canImport(Glibc)
import Glibc
#endif

/// Who may reach the control socket and what happens when nobody answers: the socket's group
/// and mode, the read-only socket, a daemon that is down, usage errors, scripts, streams.
@Suite struct GwctlAccessTests {
    /// gwctl copied where any user may run it (the build folder may be under a private home).
    static func publicCopy(in directory: String) async throws -> String {
        let copy = "\(directory)/gwctl"
        let (status, output) = try await TestProcess.run("/bin/cp", [Gwctl.binary, copy])
        guard status == 0 else { throw TestFailure("cannot copy \(Gwctl.binary): \(output)") }
        chmod(copy, 0o755)
        return copy
    }

    /// Runs the copy as another user and group (with no supplementary groups).
    static func runAs(uid: Int, gid: Int, _ gwctl: String, _ arguments: [String], socket: String) async throws -> Gwctl.Run {
        guard geteuid() == 0 else {
            throw TestFailure("this test runs gwctl as other users: it needs root (make test runs as root)")
        }
        return try await Gwctl.run(
            arguments,
            socket: socket,
            executable: gwctl,
            prefix: ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups"]
        )
    }

    @Test func onlyTheSocketsGroupGetsIn() async throws {
        // nogroup (65534) is the socket's group: nobody:nogroup gets in, nobody:daemon does not.
        try await GatewayHarness.run(control: "group = \"nogroup\"") { gateway in
            let socket = gateway.controlPath
            var info = stat()
            #expect(stat(socket, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_gid == 65534)
            let gwctl = try await Self.publicCopy(in: TestEnvironment.makeDirectory("public"))
            let member = try await Self.runAs(uid: 65534, gid: 65534, gwctl, ["--json", "status"], socket: socket)
            #expect(member.status == 0, "\(member.stderr)")
            #expect(try member.json()["gateway_id"]?.string == "gw_test")
            let outsider = try await Self.runAs(uid: 65534, gid: 1, gwctl, ["status"], socket: socket)
            #expect(outsider.status == 3)
            #expect(outsider.stderr.contains("cannot reach polygated at \(socket): permission denied"))
            #expect(outsider.stderr.contains("polygate-admin"))
            #expect(outsider.stdout.isEmpty)
        }
    }

    @Test func theReadOnlySocketRefusesChangesButAnswersQuestions() async throws {
        let directory = TestEnvironment.makeDirectory("ro")
        let readOnly = "\(directory)/ro.sock"
        try await GatewayHarness.run(control: "readonly_listen = \"\(readOnly)\"") { gateway in
            let user = GatewayHarness.User()
            let device = try user.device()
            try await gateway.register(device)
            let status = try await Gwctl.ok(["--json", "status"], socket: readOnly).json()
            #expect(status["gateway_id"]?.string == "gw_test")
            #expect(try await Gwctl.ok(["--json", "device", "list", Hex.encode(user.id)], socket: readOnly).items().count == 1)
            let refused = try await Gwctl.run(["device", "revoke", Hex.encode(device.deviceID)], socket: readOnly)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("device revoke changes state: use the read-write control socket"))
            let json = try await Gwctl.run(
                ["--json", "block", "add", Hex.encode(user.id), Hex.encode(GatewayHarness.User().id)],
                socket: readOnly
            )
            #expect(json.status == 1)
            #expect(try json.json()["error"]?["code"]?.string == "read_only")
            // Nothing changed, and nothing was recorded as changed.
            let devices = try await Gwctl.ok(["--json", "device", "list", Hex.encode(user.id)], socket: gateway.controlPath)
                .items()
            #expect(devices.first?["revoked"] == .null)
            let admin = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "admin."], socket: gateway.controlPath).items()
            #expect(admin.isEmpty)
        }
    }

    @Test func aDaemonThatIsDownIsExitThreeWithWhatToDo() async throws {
        let missing = try await Gwctl.run(["status"], socket: "\(TestEnvironment.makeDirectory("none"))/control.sock")
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("no such socket (is polygated running?"))
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            let daemon = try harness.start()
            try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
            #expect(try await Gwctl.run(["status"], socket: harness.controlPath).status == 0)
            // Killed: the socket file stays behind, and nobody answers on it.
            daemon.kill9()
            _ = try await daemon.waitForExit()
            let refused = try await Gwctl.run(["status"], socket: harness.controlPath)
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("connection refused (polygated is not running"))
            // The next daemon replaces the stale file and answers.
            let again = try harness.start()
            defer { again.kill9() }
            try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
            #expect(try await Gwctl.run(["status"], socket: harness.controlPath).status == 0)
            // A clean stop removes the socket file.
            #expect(try await DaemonHarness.stop(again) == 0)
            #expect(access(harness.controlPath, F_OK) != 0)
        }
    }

    @Test func usageHelpScriptsAndStreams() async throws {
        try await GatewayHarness.run(
            gateway: GatewayHarness.baseGatewayConfig + "\n[metrics]\ntoken = \"tok-0123456789abcdef-secret\""
        ) { gateway in
            let socket = gateway.controlPath
            // Usage errors are exit 2, and say what would be right.
            let unknown = try await Gwctl.run(["frobnicate"], socket: socket)
            #expect(unknown.status == 2 && unknown.stderr.contains("unknown command 'frobnicate' (try help)"))
            let missing = try await Gwctl.run(["conv", "show"], socket: socket)
            #expect(missing.status == 2 && missing.stderr.contains("conv show needs CONV (usage: conv show CONV)"))
            let option = try await Gwctl.run(["ledger", "tail", "--frob"], socket: socket)
            #expect(option.status == 2 && option.stderr.contains("ledger tail has no option --frob"))
            let ambiguous = try await Gwctl.run(["c"], socket: socket)
            #expect(ambiguous.status == 2 && ambiguous.stderr.contains("is ambiguous"))
            #expect(try await Gwctl.run(["--bogus"], socket: socket).status == 2)
            // Help needs no daemon.
            let help = try await Gwctl.run(["--help"], socket: "/nonexistent/control.sock")
            #expect(help.status == 0 && help.stdout.contains("exit status: 0 ok, 1 the command failed"))
            let commandHelp = try await Gwctl.run(["help", "ledger", "tail"], socket: "/nonexistent/control.sock")
            #expect(commandHelp.status == 0 && commandHelp.stdout.contains("-f, --follow"))
            #expect(try await Gwctl.run(["conv", "show", "--help"], socket: socket).stdout.hasPrefix("usage: conv show CONV"))
            let version = try await Gwctl.run(["--version"], socket: socket)
            #expect(version.status == 0 && version.stdout.hasPrefix("gwctl \(Daemon.version) "))

            // config show: every section, secrets masked.
            let config = try await Gwctl.ok(["config", "show"], socket: socket).stdout
            #expect(config.contains("[control]\n") && config.contains("[database]\n") && config.contains("[presence]\n"))
            #expect(config.contains("gateway_id = \"gw_test\""))
            #expect(config.contains("token = \"********\"") && !config.contains("tok-0123456789abcdef-secret"))
            let json = try await Gwctl.ok(["--json", "config", "show"], socket: socket).json()
            #expect(json["metrics"]?["token"]?.string == "********")
            #expect(json["database"]?["migrate_on_start"] == .bool(true))

            // One command per line of standard input; the exit status is the last failure's.
            let script = "\(TestEnvironment.makeDirectory("script"))/commands"
            try writeFile(script, "# a comment\nstatus\n\nconv show 0000\nhelp conv\n")
            let ran = try await Gwctl.run([], socket: socket, standardInput: script)
            #expect(ran.status == 1)
            #expect(ran.stdout.contains("gateway_id:") && ran.stdout.contains("usage: conv list"))
            #expect(ran.stderr.contains("no conversation 0000"))

            // ledger tail --follow prints entries as they are written; SIGINT ends it cleanly.
            let directory = TestEnvironment.makeDirectory("follow")
            let follow = try TestProcess(
                executable: Gwctl.binary,
                arguments: ["--socket", socket, "--json", "ledger", "tail", "--follow", "-n", "1"],
                environment: TestEnvironment.baseEnvironment,
                outputDirectory: directory
            )
            defer { follow.kill9() }
            try await Self.waitFor(follow, "daemon.started")
            let user = GatewayHarness.User()
            let device = try user.device()
            try await gateway.register(device)
            try await Gwctl.ok(["device", "revoke", Hex.encode(device.deviceID)], socket: socket)
            try await Self.waitFor(follow, "admin.device.revoke")
            follow.signal(SIGINT)
            #expect(try await follow.waitForExit() == 0)
            let lines = follow.stdout.split(separator: "\n")
            let events = try lines.map { try ControlProtocol.decode(ControlValue.self, Array($0.utf8))["event"]?.string ?? "" }
            #expect(events.first == "daemon.started")
            #expect(
                events.contains("device.registered") && events.contains("device.revoked") && events.last == "admin.device.revoke"
            )
        }
    }

    static func waitFor(_ process: TestProcess, _ text: String) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !process.stdout.contains(text) {
            guard ContinuousClock.now < deadline else {
                throw TestFailure("never printed \(text): \(process.stdout) \(process.stderr)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
