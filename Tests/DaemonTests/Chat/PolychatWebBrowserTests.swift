import Foundation
import TestSupport
import Testing

/// Issue 23: the web client in headless Chromium (Debian's chromium, chromium-driver and
/// python3-selenium; Tests/Browser/web_client.py drives it) against the real polygated, with a
/// real polychat user on the other side: create an identity, post, polychat sees it, follow the
/// polychat user and see their post, reply, search, reload and unlock. Screenshots of every
/// main view (a phone-sized window) are kept in .build/test-artifacts/web/.
@Suite struct PolychatWebBrowserTests {
    static let script = "\(TestEnvironment.sourceRoot)/Tests/Browser/web_client.py"
    static let artifacts = "\(TestEnvironment.sourceRoot)/.build/test-artifacts/web"
    static let views = ["welcome", "profile", "timeline", "post", "search", "unlock"]

    @Test func aBrowserUserAndAPolychatUserShareOneFeed() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            guard access(tool, X_OK) == 0 else {
                throw TestFailure("\(tool) is missing: make test installs chromium and chromium-driver (scripts/install-deps.sh)")
            }
        }
        try? FileManager.default.removeItem(atPath: Self.artifacts)
        try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            let daemon = try harness.start()
            do {
                try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                let bob = try await PolychatUser.create("bob", port: harness.port)
                _ = try await bob.ok(["post", "hello from polychat"])
                let scratch = TestEnvironment.makeDirectory("browser")
                let export = "\(scratch)/bob-identity.json"
                var exporting = bob
                exporting.extraEnvironment["POLYCHAT_EXPORT_PASSPHRASE"] = "bob's export passphrase"
                _ = try await exporting.ok(["identity", "export", "--web", export])
                let run = try await TestProcess.run(
                    "/usr/bin/python3",
                    [
                        Self.script, "http://127.0.0.1:\(harness.port)", bob.id, PolychatUser.binary, bob.home, Self.artifacts,
                        export, scratch,
                    ],
                    environment: bob.environment,
                    timeout: .seconds(150)
                )
                #expect(run.status == 0, "\(run.output)")
                let steps = run.output.split(separator: "\n").map(String.init)
                for expected in [
                    "identity created", "posted from the browser", "polychat sees the browser's post",
                    "following bob: his post is in the timeline", "polychat sees the reply",
                    "a reply written offline is sent later",
                    "two tabs, no clock used twice", "search finds bob's post",
                    "reloaded and unlocked", "a share link opens its post", "unfollowed: his posts are gone from the timeline",
                    "posted with the keyboard alone", "console clean; identity stored sealed",
                    "polychat imports the browser's identity", "the browser imports polychat's identity",
                ] {
                    #expect(steps.contains(expected), "missing step '\(expected)' in:\n\(run.output)")
                }
                for view in Self.views {
                    try Self.checkScreenshot("\(Self.artifacts)/\(view).png")
                }
                daemon.kill9()
            } catch {
                daemon.kill9()
                throw TestFailure("\(error)\n--- polygated stderr ---\n\(daemon.stderr.suffix(4000))")
            }
        }
    }

    /// A PNG of the phone-sized window (390 px wide, at any device scale) that is not one flat
    /// colour: its compressed pixels are more than a blank page's few hundred bytes.
    static func checkScreenshot(_ path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TestFailure("no screenshot at \(path)")
        }
        let bytes = [UInt8](data)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "\(path) is not a PNG")
        guard bytes.count > 24 else { throw TestFailure("\(path) is truncated") }
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width >= 390 && width % 390 == 0 && height > 300, "\(path): \(width)×\(height)")
        #expect(bytes.count > 8000, "\(path) looks blank (\(bytes.count) bytes)")
    }
}
