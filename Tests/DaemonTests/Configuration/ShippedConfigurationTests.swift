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

    @Test func manPageDocumentsEveryKey() {
        let page = readFile("\(Self.root)/man/polygated.conf.5")
        #expect(!page.isEmpty)
        for key in DaemonConfiguration.knownKeys {
            let parts = key.split(separator: ".")
            #expect(page.contains(".SH [\(parts[0])]"), "polygated.conf(5) has no section [\(parts[0])]")
            #expect(page.contains(".BR \(parts[1]) "), "polygated.conf(5) does not document \(key)")
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
