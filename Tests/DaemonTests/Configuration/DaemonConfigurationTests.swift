import Gateway
import HTTPFront
import Logging
import Primitives
import Testing

@testable import Daemon

@Suite struct DaemonConfigurationTests {
    @Test func emptyFileGivesTheDefaults() throws {
        let configuration = try DaemonConfiguration.parse("# nothing\n", file: "empty.conf")
        #expect(configuration == DaemonConfiguration())
        #expect(configuration.daemon.gatewayID == "gw_local")
        #expect(configuration.http.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(configuration.database.url == "postgresql:///polygate")
        #expect(configuration.metrics.token == nil)
    }

    @Test func everyKeyIsRead() throws {
        let text = """
            [daemon]
            gateway_id = "gw-eu.1"
            log_level = "debug"
            drain_timeout = "30s"

            [http]
            listen = "[::1]:9090"
            idle_timeout = 90
            trusted_proxies = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]
            client_address_header = "cf-connecting-ip"

            [database]
            url = "postgresql://polygate:s3cret@db.example:5432/polygate"
            pool_size = 25
            connect_timeout = "1500ms"
            migrate_on_start = false
            ready_timeout = "1s"

            [metrics]
            token = "0123456789abcdef0123456789abcdef"
            """
        let c = try DaemonConfiguration.parse(text, file: "full.conf")
        #expect(c.daemon.gatewayID == "gw-eu.1")
        #expect(c.daemon.logLevel == .debug)
        #expect(c.daemon.drainTimeout == .seconds(30))
        #expect(c.http.listen == ListenAddress(host: "::1", port: 9090))
        #expect(c.http.idleTimeout == .seconds(90))
        #expect(c.http.clientAddresses.trustedProxies.map(\.description) == ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"])
        #expect(c.http.clientAddresses.header == .cfConnectingIP)
        #expect(c.database.url == "postgresql://polygate:s3cret@db.example:5432/polygate")
        #expect(c.database.poolSize == 25)
        #expect(c.database.connectTimeout == .milliseconds(1500))
        #expect(c.database.migrateOnStart == false)
        #expect(c.database.readyTimeout == .seconds(1))
        #expect(c.metrics.token == "0123456789abcdef0123456789abcdef")
        // The printed form masks secrets and parses back to the same settings.
        let printed = c.description
        #expect(!printed.contains("s3cret"))
        #expect(!printed.contains("0123456789abcdef"))
        #expect(printed.contains("url = \"postgresql://polygate:********@db.example:5432/polygate\""))
        var reparsed = try DaemonConfiguration.parse(printed.replacingToken(), file: "printed.conf")
        reparsed.database.url = c.database.url
        reparsed.metrics.token = c.metrics.token
        #expect(reparsed == c)
    }

    @Test func gatewayLimitsAreReadAndChecked() throws {
        let configuration = try DaemonConfiguration.parse(
            """
            [gateway]
            send_rate_per_device = "5/2s"
            send_burst_per_device = 7
            auth_failures_per_ip = "3/1h"
            ping_interval = "15s"
            retention = "48h"
            past_epochs = 0
            key_package_max_lifetime = "30d"
            max_members = 500
            max_added_per_commit = 20
            """,
            file: "g.conf"
        )
        #expect(configuration.gateway.sendPerDevice == .init(5, per: .seconds(2), burst: 7))
        #expect(configuration.gateway.authFailuresPerIP == .init(3, per: .seconds(3600), burst: 3))
        #expect(configuration.gateway.pingInterval == .seconds(15))
        #expect(configuration.gateway.retention == .seconds(48 * 3600))
        #expect(configuration.gateway.pastEpochs == 0)
        #expect(configuration.gateway.keyPackageMaxLifetime == .seconds(30 * 86_400))
        #expect(configuration.gateway.maxMembers == 500 && configuration.gateway.maxAddedPerCommit == 20)
        #expect(DaemonConfiguration().gateway.maxMembers == 10_000 && DaemonConfiguration().gateway.maxAddedPerCommit == 100)
        #expect(DaemonConfiguration().gateway.keyPackageMaxLifetime == .seconds(90 * 86_400))
        #expect(try DaemonConfiguration.parse(configuration.description, file: "p.conf") == configuration)
        for (line, fragment) in [
            ("send_rate_per_device = \"fast\"", "\"<count>/<period>\""),
            ("send_rate_per_device = \"0/1s\"", "\"<count>/<period>\""),
            ("ping_interval = \"30s\"", "at most 25s"),
            ("max_frame_bytes = 10", "between 1024"),
            ("key_package_max_lifetime = \"10m\"", "at least 1h"),
            ("key_package_max_lifetime = \"forever\"", "\"30d\""),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                try DaemonConfiguration.parse("[gateway]\n\(line)\n", file: "g.conf")
            }
            #expect(error?.code == .invalidValue, "\(line)")
            #expect(error?.line == 2)
            #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "")")
        }
    }

    @Test func controlSocketsAreReadAndChecked() throws {
        #expect(DaemonConfiguration().control.listen == "/run/polygate/control.sock")
        #expect(DaemonConfiguration().control.group == "polygate-admin")
        let configuration = try DaemonConfiguration.parse(
            """
            [control]
            listen = "/run/x/control.sock"
            group = "wheel"
            readonly_listen = "/run/x/ro.sock"
            readonly_group = "adm"
            """,
            file: "c.conf"
        )
        #expect(configuration.control.listen == "/run/x/control.sock" && configuration.control.group == "wheel")
        #expect(configuration.control.readOnlyListen == "/run/x/ro.sock" && configuration.control.readOnlyGroup == "adm")
        #expect(try DaemonConfiguration.parse(configuration.description, file: "p.conf") == configuration)
        for (line, fragment) in [
            ("listen = \"/\(String(repeating: "x", count: 120))\"", "shorter than 108 bytes"),
            ("group = \"no spaces\"", "must be a group name"),
            ("readonly_group = \"a/b\"", "must be a group name"),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                try DaemonConfiguration.parse("[control]\n\(line)\n", file: "c.conf")
            }
            #expect(error?.code == .invalidValue, "\(line)")
            #expect(error?.line == 2)
            #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "")")
        }
    }

    @Test func syntaxErrorNamesTheLine() {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("[http]\nlisten = \"127.0.0.1:80\"\nidle_timeout = = 3\n", file: "bad.conf")
        }
        #expect(error?.code == .syntax)
        #expect(error?.line == 3)
        #expect(error?.description.hasPrefix("bad.conf:3: TOML syntax error") == true)
    }

    /// fuzz-config found table headers with characters outside ASCII that made the TOML parser
    /// abort (an assertion: a core dump instead of an error; the input is
    /// Fuzz/Corpus/config/crash-toml-header). They are refused with their line; strings and
    /// comments may hold any text.
    @Test func namesOutsideASCIIAreRefusedButStringsAndCommentsMayHoldAnything() throws {
        let crash =
            Array("[http]\nlisten = \"[::1]:8080\"\n[".utf8) + Array(repeating: 0xFF, count: 120)
            + Array("gatgatmway_ieway]\nconnect_rate_per_i\u{9D}p = \"20/1m\"\n".utf8)
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse(String(decoding: crash, as: UTF8.self), file: "fuzz.conf")
        }
        #expect(error?.code == .syntax)
        #expect(error?.line == 3)
        for bad in ["[http]\nlistén = \"127.0.0.1:80\"\n", "[http]\n[café]\n", "x = 1 \u{200B}\n"] {
            #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse(bad, file: "bad.conf") }
        }
        let fine = #"""
            # café, 日本語 — comments may say anything
            [database]
            url = "postgresql:///polygate?application_name=caf\u00e9 \"é\"" # é
            [daemon]
            gateway_id = 'gw_1'
            """#
        let configuration = try DaemonConfiguration.parse(fine, file: "fine.conf")
        #expect(configuration.database.url.hasSuffix("café \"é\""))
        #expect(TOMLPrecheck.problem(in: "a = '''\nüber'''\nb = \"\\\"é\"\nc = \"\"\"\né\\\n\"\"\"\n") == nil)
        #expect(TOMLPrecheck.problem(in: "a = '''x'''\nü = 1\n")?.line == 2)
        // What else aborted the parser: a name starting with a character a name cannot start with.
        for (bad, line) in [
            ("[daemon]\nx = 1\n[`aemon]\n", 3), ("[ a.`b ]\n", 1), ("t = { ?a = 1 }\n", 1), ("t = { a = 1, ?b = 2 }\n", 1),
            ("?k = 1\n", 1), ("[\nx = 1\n", 1), ("[a.\n", 1), ("[a\n", 1), ("[\r\rhttp]\n", 1),
            // A '}' where an array's value goes (fuzz-config, Fuzz/Corpus/config/crash-toml-brace-in-array).
            ("[http]\ntrusted_proxies = [}\n", 2), ("a = [1, }\n", 1), ("a = [\n  1,\n  # c\n  }\n", 4),
            ("a = [[1], {x = [}]\n", 1),
        ] {
            #expect(TOMLPrecheck.problem(in: bad)?.line == line, "\(bad.debugDescription)")
        }
        let brace = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("[http]\ntrusted_proxies = [}\n", file: "brace.conf")
        }
        #expect(brace?.description == "brace.conf:2: TOML syntax error: '}' inside an array; an array ends with ']'")
        // What is fine stays fine: arrays over lines, nested arrays, inline tables, quoted names.
        let valid =
            "a = [\r\n  [1, 2],\n  [3],\n]\r\n\"quoted key\" = { x = 1, 'y' = [1], z = {} }\n[[arr]]\n[ \"t\" . u ]\n"
            + "b = [{ x = 1 }, { y = [2, 3] }, {}]\n"
        #expect(TOMLPrecheck.problem(in: valid) == nil)
    }

    @Test func unknownKeyNamesKeyLineAndAlternatives() {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse(
                "# comment\n[daemon]\ngateway_id = \"gw\"\n\n[http]\n  lisen = \"127.0.0.1:80\"\n",
                file: "typo.conf"
            )
        }
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "http.lisen")
        #expect(error?.line == 6)
        #expect(
            error?.description
                == "typo.conf:6: unknown key 'http.lisen'; [http] accepts http.listen, http.idle_timeout, http.header_timeout, http.max_waiting_connections, http.trusted_proxies, http.client_address_header, http.tls_certificate, http.tls_private_key"
        )
    }

    @Test func unknownSectionNamesItsLine() {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("[daemon]\n\n[databse]\nurl = \"x\"\n", file: "s.conf")
        }
        #expect(error?.code == .unknownSection)
        #expect(error?.line == 3)
        #expect(error?.description.contains("unknown section [databse]") == true)
    }

    @Test func topLevelKeyIsAnUnknownSection() {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("listen = \"127.0.0.1:80\"\n", file: "t.conf")
        }
        #expect(error?.code == .unknownSection)
        #expect(error?.line == 1)
    }

    @Test(arguments: [
        ("[http]\nlisten = 8080\n", "http.listen", "wrongType", 2),
        ("[http]\nlisten = \"localhost\"\n", "http.listen", "invalidValue", 2),
        ("[http]\nlisten = \"127.0.0.1:99999\"\n", "http.listen", "invalidValue", 2),
        ("[database]\npool_size = 0\n", "database.pool_size", "invalidValue", 2),
        ("[database]\npool_size = \"10\"\n", "database.pool_size", "wrongType", 2),
        ("[database]\nmigrate_on_start = \"yes\"\n", "database.migrate_on_start", "wrongType", 2),
        ("[database]\nurl = \"\"\n", "database.url", "invalidValue", 2),
        ("[daemon]\nlog_level = \"loud\"\n", "daemon.log_level", "invalidValue", 2),
        ("[daemon]\ngateway_id = \"has space\"\n", "daemon.gateway_id", "invalidValue", 2),
        ("[daemon]\ndrain_timeout = \"10 seconds\"\n", "daemon.drain_timeout", "invalidValue", 2),
        ("[daemon]\ndrain_timeout = \"0s\"\n", "daemon.drain_timeout", "invalidValue", 2),
        ("[daemon]\n\n\ndrain_timeout = 1.5\n", "daemon.drain_timeout", "wrongType", 4),
        ("[metrics]\ntoken = \"short\"\n", "metrics.token", "invalidValue", 2),
        ("[http]\ntrusted_proxies = \"127.0.0.1\"\n", "http.trusted_proxies", "wrongType", 2),
        ("[http]\ntrusted_proxies = [\"proxy.example\"]\n", "http.trusted_proxies", "invalidValue", 2),
        ("[http]\ntrusted_proxies = [\"10.0.0.1/8\"]\n", "http.trusted_proxies", "invalidValue", 2),
        ("[http]\ntrusted_proxies = [1]\n", "http.trusted_proxies", "wrongType", 2),
        ("[http]\nclient_address_header = \"X-Client-IP\"\n", "http.client_address_header", "invalidValue", 2),
        ("http = 3\n", "http", "wrongType", 1),
    ])
    func badValuesNameTheKeyAndLine(text: String, key: String, code: String, line: Int) {
        let error = #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse(text, file: "v.conf") }
        #expect(error?.key == key)
        #expect(error?.code.description == code.snakeCased)
        #expect(error?.line == line)
        #expect(error?.description.hasPrefix("v.conf:\(line): ") == true)
    }

    @Test func secretValuesAreNeverEchoed() {
        let error = #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("[metrics]\ntoken = \"hunter2 hunter2 hunter2\"\n", file: "m.conf")
        }
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test(arguments: [("250ms", 250), ("10s", 10_000), ("2m", 120_000), ("1h", 3_600_000), ("30d", 2_592_000_000)])
    func durationsParse(text: String, milliseconds: Int64) {
        #expect(parseDuration(text) == .milliseconds(milliseconds))
        #expect(formatDuration(.milliseconds(milliseconds)) == text)
    }

    @Test(arguments: ["", "s", "10", "-1s", "1.5s", "10x", "ms"])
    func badDurationsDoNotParse(text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test(arguments: [
        ("postgresql://u:p@h/db", "postgresql://u:********@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql:///polygate", "postgresql:///polygate"),
        ("host=h password=p dbname=x", "host=h password=******** dbname=x"),
    ])
    func passwordsAreMasked(url: String, masked: String) {
        #expect(maskPassword(inURL: url) == masked)
    }
}

@Suite struct TOMLKeyLocatorTests {
    @Test func findsHeadersBareQuotedAndDottedKeysButNotStringContents() {
        let source = """
            top = 1
            [daemon]  # comment
            gateway_id = "a = b"
            text = \"\"\"
            fake = 3
            \"\"\"
            "quoted key" = 2
            [ http ]
            listen.sub = 1
            after = 4
            """
        let locator = TOMLKeyLocator(source: source)
        #expect(locator.line(of: ["top"]) == 1)
        #expect(locator.line(of: ["daemon"]) == 2)
        #expect(locator.line(of: ["daemon", "gateway_id"]) == 3)
        #expect(locator.line(of: ["daemon", "text"]) == 4)
        #expect(locator.line(of: ["daemon", "fake"]) == nil)
        #expect(locator.line(of: ["daemon", "quoted key"]) == 7)
        #expect(locator.line(of: ["http"]) == 8)
        #expect(locator.line(of: ["http", "listen", "sub"]) == 9)
        #expect(locator.line(of: ["http", "after"]) == 10)
    }
}

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("localhost:80", "localhost", 80), ("[::1]:8080", "::1", 8080),
        ("0.0.0.0:0", "0.0.0.0", 0),
    ])
    func parses(text: String, host: String, port: Int) {
        #expect(ListenAddress(parsing: text) == ListenAddress(host: host, port: port))
        #expect(ListenAddress(parsing: text)?.description == text)
    }

    @Test(arguments: ["8080", ":8080", "::1:8080", "[::1]8080", "host:http", "host:-1", "host:65536", "a b:1"])
    func refuses(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }
}

extension String {
    /// `wrongType` → `wrong_type`.
    var snakeCased: String {
        var out = ""
        for character in self {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// Replaces the masked token line of a printed configuration with a valid token.
    func replacingToken() -> String {
        self.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("token = ") ? "token = \"xxxxxxxxxxxxxxxxxxxx\"" : String(line)
        }.joined(separator: "\n")
    }
}
