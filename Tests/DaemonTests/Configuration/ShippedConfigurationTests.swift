import Foundation
import TestSupport
import Testing

@testable import Daemon

/// The documented configuration (etc/polygate/polygated.conf and polygated.conf(5)) matches the code.
@Suite struct ShippedConfigurationTests {
    static let root = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0])

    /// Uncommenting every `# key = value` line of the shipped file gives a valid file whose
    /// settings are exactly the defaults: the documented defaults are the real ones.
    @Test func shippedFileDocumentsTheRealDefaults() throws {
        let shipped = readFile("\(Self.root)/etc/polygate/polygated.conf")
        #expect(!shipped.isEmpty)
        let uncommented = shipped.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            guard line.hasPrefix("# "), let equals = line.firstIndex(of: "=") else { return line }
            let key = line.dropFirst(2)[..<equals].trimmingSuffix(" ")
            return key.allSatisfy({ $0.isLowercase || $0 == "_" }) ? line.dropFirst(2) : line
        }.joined(separator: "\n")
        let configuration = try DaemonConfiguration.parse(uncommented, file: "polygated.conf")
        #expect(configuration == DaemonConfiguration())
        // …and every key appears.
        for key in DaemonConfiguration.knownKeys {
            let name = key.split(separator: ".")[1]
            #expect(shipped.contains("# \(name) = "), "etc/polygate/polygated.conf does not document \(key)")
        }
    }

    /// The shipped file is the one the table of keys generates (`make conf` rewrites it).
    @Test func shippedFileIsTheGeneratedOne() {
        let shipped = readFile("\(Self.root)/etc/polygate/polygated.conf")
        #expect(
            shipped == DaemonConfiguration.defaultFile,
            "etc/polygate/polygated.conf differs from the table of keys: run make conf"
        )
    }

    /// polygated.conf(5) documents every key in its section, headed by the table's type,
    /// default and bounds, and documents no key the table does not have.
    @Test func manPageDocumentsEveryKeyAsTheTableDoes() {
        let page = readFile("\(Self.root)/man/polygated.conf.5")
        #expect(!page.isEmpty)
        var sections: [String: [String]] = [:]
        var current = ""
        for line in page.split(separator: "\n") {
            if line.hasPrefix(".SH [") {
                current = String(line.dropFirst(5).dropLast())
            } else if line.hasPrefix(".SH ") {
                current = ""
            } else if !current.isEmpty, line.hasPrefix(".BR "), line.contains(" \" (") {
                sections[current, default: []].append(String(line))
            }
        }
        for key in DaemonConfiguration.keys {
            #expect(
                sections[key.section, default: []].contains(key.manHeading),
                "polygated.conf(5) [\(key.section)] lacks \(key.manHeading)"
            )
        }
        let documented = sections.flatMap { section, lines in lines.map { "\(section).\($0.split(separator: " ")[1])" } }
        #expect(Set(documented) == Set(DaemonConfiguration.knownKeys))
        #expect(documented.count == DaemonConfiguration.knownKeys.count, "a key is documented twice")
    }

    /// Values other than the default for the keys whose type says nothing about what is valid.
    static let examples: [String: String] = [
        "daemon.gateway_id": "\"gw_other\"",
        "daemon.log_level": "\"debug\"",
        "daemon.state_directory": "\"/srv/polygate/state\"",
        "gateway.sealed": "\"required\"",
        "gateway.sealed_padding": "\"512,8192\"",
        "http.listen": "\"127.0.0.1:9090\"",
        "http.trusted_proxies": "[\"10.0.0.0/8\", \"::1/128\"]",
        "http.client_address_header": "\"Forwarded\"",
        "http.tls_certificate": "\"/etc/polygate/tls/fullchain.pem\"",
        "http.tls_private_key": "\"/etc/polygate/tls/privkey.pem\"",
        "database.url": "\"postgresql:///other\"",
        "metrics.token": "\"0123456789abcdef0123\"",
        "control.listen": "\"/tmp/other.sock\"",
        "blobs.directory": "\"/srv/polygate/blobs\"",
        "web.root": "\"/srv/polygate-web\"",
        "control.group": "\"wheel\"",
        "control.readonly_listen": "\"/tmp/other-ro.sock\"",
        "control.readonly_group": "\"adm\"",
    ]

    /// A valid value other than the default, from the key's type and bounds.
    static func otherValue(_ key: ConfigurationKey) -> String? {
        if let example = Self.examples[key.dotted] { return example }
        let bounds = key.bounds ?? ""
        switch key.kind {
        case "boolean": return key.defaultValue == "true" ? "false" : "true"
        case "rate": return "\"7/3m\""
        case "integer":
            let ends = bounds.split(separator: " to ").compactMap { Int($0) }
            guard ends.count == 2 else { return nil }
            return "\(ends[0])" == key.defaultValue ? "\(ends[1])" : "\(ends[0])"
        case "duration":
            // The largest value allowed ("at most 1h", "1s to 1h"), or the smallest when that is the default.
            let parts = bounds.replacingOccurrences(of: "at most ", with: "").split(separator: " to ")
            guard let last = parts.last else { return nil }
            let candidate = "\"\(last)\""
            return candidate != key.defaultValue ? candidate : parts.count == 2 ? "\"\(parts[0])\"" : nil
        default: return nil
        }
    }

    /// Every key of the table is read by the loader and printed back: a value other than the
    /// default, set in a file, changes the settings and is what the printed settings show.
    @Test func everyKeyIsReadAndPrinted() throws {
        for key in DaemonConfiguration.keys {
            let value = try #require(Self.otherValue(key), "no value to try for \(key.dotted): add one to examples")
            var text = "[\(key.section)]\n\(key.name) = \(value)\n"
            // The certificate and key go together.
            if key.dotted == "http.tls_certificate" { text += "tls_private_key = \(Self.examples["http.tls_private_key"]!)\n" }
            if key.dotted == "http.tls_private_key" { text += "tls_certificate = \(Self.examples["http.tls_certificate"]!)\n" }
            let configuration = try DaemonConfiguration.parse(text, file: "one.conf")
            #expect(configuration != DaemonConfiguration(), "\(key.dotted) = \(value) changed nothing")
            let shown = key.dotted == "metrics.token" ? "\"********\"" : value
            #expect(key.render(configuration) == shown, "\(key.dotted) = \(value) is printed as \(key.render(configuration))")
            #expect(configuration.description.contains("\n\(key.name) = \(shown)\n"))
        }
    }

    @Test func printedDefaultsParseBackToTheDefaults() throws {
        let printed = DaemonConfiguration().description
        #expect(try DaemonConfiguration.parse(printed, file: "printed.conf") == DaemonConfiguration())
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        var text = self
        while text.last == character { text = text.dropLast() }
        return text
    }
}

@Suite struct VersionTests {
    /// `polygated --version`, the Server header and the package version agree.
    @Test func versionMatchesDebianChangelog() {
        let changelog = readFile("\(ShippedConfigurationTests.root)/debian/changelog")
        let firstLine = changelog.split(separator: "\n").first ?? ""
        #expect(firstLine.hasPrefix("polygate (\(Daemon.version))"))
    }

    /// Every binary of the package says the same version.
    @Test func everyBinarySaysTheSameVersion() async throws {
        let (chatStatus, chat) = try await TestProcess.run(TestEnvironment.product("polychat"), ["--version"])
        #expect(chatStatus == 0 && chat.hasPrefix("polychat \(Daemon.version)"))
        let (gwctlStatus, gwctl) = try await TestProcess.run(TestEnvironment.product("gwctl"), ["--version"])
        #expect(gwctlStatus == 0 && gwctl.hasPrefix("gwctl \(Daemon.version) "))
        let (daemonStatus, daemon) = try await TestProcess.run(TestEnvironment.product("polygated"), ["--version"])
        #expect(daemonStatus == 0 && daemon == "polygated \(Daemon.version)\n")
    }
}
