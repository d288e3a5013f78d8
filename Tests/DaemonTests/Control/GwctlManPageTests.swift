import Control
import TestSupport
import Testing

/// gwctl(8) documents every command and option of the registry, and every option of
/// `gwctl --help` (ManPagesTests renders it).
@Suite struct GwctlManPageTests {
    static let path = "\(ShippedConfigurationTests.root)/man/gwctl.8"

    @Test func everyCommandAndOptionIsInThePage() async throws {
        let page = readFile(Self.path)
        #expect(page.hasPrefix(".TH GWCTL 8 "))
        for command in ControlCommands.all {
            // As a tagged paragraph: .B name, .BR "name" …, or .BI "name " …
            let tagged = [
                ".B \(command.name)\n", ".B \(command.name) ", ".BR \(command.name) ", ".BR \"\(command.name)\"",
                ".BI \"\(command.name) \"",
            ]
            #expect(tagged.contains { page.contains($0) }, "gwctl(8) does not document '\(command.name)'")
            for option in command.options {
                #expect(
                    page.contains("\\fB\\-\\-\(option.name)\\fR"),
                    "gwctl(8) does not document --\(option.name) of '\(command.name)'"
                )
                if let short = option.short { #expect(page.contains("\\fB\\-\(short)\\fR|\\fB\\-\\-\(option.name)\\fR")) }
            }
        }
        let usage = try await Gwctl.run(["--help"], socket: "/nonexistent")
        #expect(usage.status == 0)
        let options = usage.stdout.split(whereSeparator: { " \n,|[]".contains($0) }).filter { $0.hasPrefix("--") && $0.count > 2 }
        #expect(options.count >= 6)
        for option in Set(options) {
            #expect(page.contains(option.replacing("-", with: "\\-")), "gwctl(8) does not document \(option)")
        }
        for status in ["0", "1", "2", "3"] { #expect(page.contains(".TP\n.B \(status)\n")) }
    }
}
