import Foundation
import TestSupport
import Testing

/// polychat(1) documents every command and option `polychat --help` knows.
@Suite struct PolychatManPageTests {
    static func help(_ path: [String]) async throws -> String {
        let (status, output) = try await TestProcess.run(PolychatUser.binary, path + ["--help"])
        #expect(status == 0, "polychat \(path.joined(separator: " ")) --help: \(output)")
        return output
    }

    /// Names listed under a help heading ("SUBCOMMANDS:"), one per line.
    static func subcommands(_ help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("  ") }
            .compactMap { line -> String? in
                let word = line.drop { $0 == " " }.prefix { $0 != " " }
                return line.hasPrefix("    ") && !line.hasPrefix("  \(word)") ? nil : String(word)
            }
    }

    static func options(_ help: String) -> Set<String> {
        Set(
            help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "|" || $0 == "[" || $0 == "]" })
                .filter { $0.hasPrefix("--") && $0.count > 2 }
                .map { String($0.prefix { $0 == "-" || $0.isLetter }) }
        )
    }

    @Test func everyCommandAndOptionIsInThePage() async throws {
        let page = readFile("\(ShippedConfigurationTests.root)/man/polychat.1")
        #expect(page.hasPrefix(".TH POLYCHAT 1 "))
        var leaves: [[String]] = []
        for command in Self.subcommands(try await Self.help([])) {
            let children = Self.subcommands(try await Self.help([command]))
            leaves += children.isEmpty ? [[command]] : children.map { [command, $0] }
        }
        #expect(leaves.count >= 30, "found only \(leaves.map { $0.joined(separator: " ") })")
        for path in leaves {
            let name = "polychat " + path.joined(separator: " ")
            let defaulted = path.count == 2 && page.contains("polychat \(path[0])\" \" [\\fB\(path[1])\\fR]")
            #expect(page.contains(name) || defaulted, "polychat(1) does not document '\(name)'")
            for option in Self.options(try await Self.help(path)) {
                let escaped = option.replacingOccurrences(of: "-", with: "\\-")
                #expect(page.contains(escaped), "polychat(1) does not document \(option) of '\(name)'")
            }
        }
        // The exit statuses it prints in --help are the ones the page lists.
        for status in ["0", "1", "3", "4", "5", "64"] { #expect(page.contains(".TP\n.B \(status)\n")) }
    }
}
