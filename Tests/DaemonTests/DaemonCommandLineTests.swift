import Daemon
import TestSupport
import Testing

/// `polygated check-config`, `--help`, `--version` as a user runs them.
@Suite struct DaemonCommandLineTests {
    @Test func checkConfigAcceptsAValidFileAndPrintsSettingsWithSecretsMasked() async throws {
        let harness = try DaemonHarness(
            databaseURL: "postgresql://polygate:topsecret@db/polygate",
            extra: "[metrics]\ntoken = \"abcdefghijklmnopqrstuvwxyz\"\n"
        )
        let result = try await DaemonHarness.run(["check-config", "--config", harness.configPath])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("# \(harness.configPath): OK\n[daemon]\ngateway_id = \"gw_test\""))
        #expect(result.stdout.contains("url = \"postgresql://polygate:********@db/polygate\""))
        #expect(!result.stdout.contains("topsecret"))
        #expect(!result.stdout.contains("abcdefghijklmnop"))
        let quiet = try await DaemonHarness.run(["check-config", "--quiet", "--config", harness.configPath])
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty)
        #expect(quiet.stderr.isEmpty)
    }

    /// The daemon starts without the web client's files, so check-config warns and passes.
    @Test func checkConfigWarnsAboutMissingWebClientFiles() async throws {
        let harness = try DaemonHarness(databaseURL: "postgresql:///polygate", extra: "[web]\nroot = \"/nonexistent/web\"\n")
        let result = try await DaemonHarness.run(["check-config", "--quiet", "--config", harness.configPath])
        #expect(result.status == 0)
        #expect(
            result.stderr.contains("warning: \(harness.configPath): web.root: /nonexistent/web does not exist"),
            "\(result.stderr)"
        )
        let disabled = try DaemonHarness(
            databaseURL: "postgresql:///polygate",
            extra: "[web]\nroot = \"/nonexistent/web\"\nenabled = false\n"
        )
        let quiet = try await DaemonHarness.run(["check-config", "--quiet", "--config", disabled.configPath])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test(arguments: [
        ("[http]\nlisten = \"127.0.0.1:80\"\nidle_timeout = = 3\n", ":3: TOML syntax error"),
        (
            "[daemon]\ngateway_id = \"gw\"\n\n[http]\nlisen = \"127.0.0.1:80\"\n",
            ":5: unknown key 'http.lisen'; [http] accepts http.listen, http.idle_timeout, http.header_timeout"
        ),
        ("[database]\npool_size = 0\n", ":2: database.pool_size: must be between 1 and 1000 (got 0)"),
        ("[database]\npool_size = \"ten\"\n", ":2: database.pool_size: must be an integer, not a TOML string"),
        // fuzz-config: the TOML parser aborted (an assertion, a core dump) on this table header.
        (
            "[http]\nlisten = \"[::1]:8080\"\n[\u{FFFD}\u{FFFD}gatgatmway_ieway]\n",
            ":3: TOML syntax error: U+FFFD cannot start a table name; names are ASCII letters, digits, '_' and '-', or quoted"
        ),
    ])
    func checkConfigRejectsBadFilesWithLineAndKey(text: String, message: String) async throws {
        let path = "\(TestEnvironment.makeDirectory("conf"))/bad.conf"
        try writeFile(path, text)
        let result = try await DaemonHarness.run(["check-config", "--config", path])
        #expect(result.status == 78)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("polygated: \(path)\(message)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func serveRefusesABadFileBeforeDoingAnything() async throws {
        let path = "\(TestEnvironment.makeDirectory("conf"))/bad.conf"
        try writeFile(path, "[nonsense]\n")
        let result = try await DaemonHarness.run(["serve", "--config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("bad.conf:1: unknown section [nonsense]"))
    }

    /// `default-config` prints the shipped file, which `check-config` accepts as the defaults.
    @Test func defaultConfigPrintsTheShippedFile() async throws {
        let printed = try await DaemonHarness.run(["default-config"])
        #expect(printed.status == 0)
        #expect(printed.stdout == readFile("\(ShippedConfigurationTests.root)/etc/polygate/polygated.conf"))
        let path = "\(TestEnvironment.makeDirectory("conf"))/default.conf"
        try writeFile(path, printed.stdout)
        let checked = try await DaemonHarness.run(["check-config", "--config", path])
        #expect(checked.status == 0)
        #expect(checked.stdout == "# \(path): OK\n\(DaemonConfiguration().description)")
    }

    @Test func missingFileIsAConfigurationError() async throws {
        let result = try await DaemonHarness.run(["check-config", "--config", "/nonexistent/polygated.conf"])
        #expect(result.status == 78)
        #expect(
            result.stderr
                == "polygated: /nonexistent/polygated.conf: cannot read the configuration file (No such file or directory)\n"
        )
    }

    @Test func helpListsSubcommandsAndVersionPrints() async throws {
        let help = try await DaemonHarness.run(["--help"])
        #expect(help.status == 0)
        for word in ["serve", "migrate", "check-config", "default-config"] {
            #expect(help.stdout.contains(word))
        }
        let serveHelp = try await DaemonHarness.run(["serve", "--help"])
        #expect(serveHelp.status == 0)
        #expect(serveHelp.stdout.contains("-c, --config <path>"))
        let version = try await DaemonHarness.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "polygated \(Daemon.version)\n")
        let unknown = try await DaemonHarness.run(["frobnicate"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("Unexpected argument 'frobnicate'"))
    }
}
