import TestSupport
import Testing

/// Every man page renders without a warning, and the package ships each of them.
@Suite struct ManPagesTests {
    static let pages = ["polygated.8", "polygated.conf.5", "gwctl.8", "polychat.1", "polygate.7"]

    @Test(arguments: Self.pages) func rendersWithoutWarnings(_ page: String) async throws {
        let path = "\(ShippedConfigurationTests.root)/man/\(page)"
        let (status, output) = try await TestProcess.run(
            "/usr/bin/man",
            ["--warnings", "-l", path],
            environment: TestEnvironment.baseEnvironment.merging(["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"]) {
                _,
                new in new
            }
        )
        #expect(status == 0)
        #expect(output.contains("NAME"))
        #expect(!output.contains("warning:"), "\(page): \(output.prefix(2000))")
    }

    @Test func thePackageShipsEveryPageAndTheOverviewNamesThem() {
        let shipped = readFile("\(ShippedConfigurationTests.root)/debian/polygate.manpages").split(separator: "\n").map(
            String.init
        )
        #expect(Set(shipped) == Set(Self.pages.map { "man/\($0)" }))
        let overview = readFile("\(ShippedConfigurationTests.root)/man/polygate.7")
        for page in Self.pages where page != "polygate.7" {
            let name = page.split(separator: ".").dropLast().joined(separator: ".")
            let section = page.split(separator: ".").last!
            #expect(overview.contains(".BR \(name) (\(section))"), "polygate(7) does not point to \(page)")
        }
        for topic in ["DEPLOYMENT BEHIND A CDN", "Cloudflare", "BACKUP", "UPGRADE", "ARCHITECTURE"] {
            #expect(overview.contains(topic))
        }
    }
}
