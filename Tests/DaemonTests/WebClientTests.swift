import Foundation
import TestSupport
import Testing

/// The web client as the real `polygated` serves it (ADR 0028): the shell never cached, hashed
/// assets immutable, every answer under the client's Content-Security-Policy, `[web] enabled`
/// honoured, and missing files reported without taking the rest of the daemon down.
@Suite struct WebClientTests {
    static func withDaemon(extra: String = "", _ body: (Int, TestProcess) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url, extra: extra)
            let process = try harness.start()
            do {
                try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                try await body(harness.port, process)
                process.kill9()
            } catch {
                process.kill9()
                throw TestFailure("\(error)\n--- polygated stderr ---\n\(process.stderr)")
            }
        }
    }

    @Test func theShellAndItsAssetsAreServedWithCachingThatACDNCanFollow() async throws {
        try await Self.withDaemon { port, _ in
            let root = try await HTTPTestClient.get(port: port, "/")
            #expect(root.status == 302)
            #expect(root.headers["location"] == "/app/")
            let shell = try await HTTPTestClient.get(port: port, "/app/")
            #expect(shell.status == 200)
            #expect(shell.headers["content-type"] == "text/html; charset=utf-8")
            #expect(shell.headers["cache-control"] == "no-cache")
            let policy = try #require(shell.headers["content-security-policy"])
            #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"))
            #expect(shell.headers["x-content-type-options"] == "nosniff")
            #expect(shell.headers["referrer-policy"] == "no-referrer")
            let etag = try #require(shell.headers["etag"])
            let again = try await HTTPTestClient.get(port: port, "/app/", headers: ["If-None-Match": etag])
            #expect(again.status == 304)
            #expect(again.bytes.isEmpty)

            // The module the shell starts is named by its hash: immutable for a year.
            let html = shell.body
            let start = try #require(html.range(of: "src=\"/app/assets/app."))
            let path = String(html[html.index(start.lowerBound, offsetBy: 5)...].prefix { $0 != "\"" })
            let app = try await HTTPTestClient.get(port: port, path)
            #expect(app.status == 200)
            #expect(app.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(app.headers["cache-control"] == "public, max-age=31536000, immutable")
            #expect(app.headers["content-security-policy"] == policy)
            let source = try String(contentsOfFile: "\(TestEnvironment.sourceRoot)/web/assets/app.js", encoding: .utf8)
            #expect(app.body == source)
            // The plain name works too, revalidated each time.
            let plain = try await HTTPTestClient.get(port: port, "/app/assets/app.js")
            #expect(plain.status == 200 && plain.body == source)
            #expect(plain.headers["cache-control"] == "no-cache")
            let head = try await HTTPTestClient.send(port: port, method: "HEAD", path)
            #expect(head.status == 200 && head.bytes.isEmpty)

            // Share links open the shell; anything else under /app/assets/ is not found.
            for path in ["/app", "/app/user/CAESIA", "/app/post/CAI"] {
                let same = try await HTTPTestClient.get(port: port, path)
                #expect(same.status == 200 && same.body == shell.body, "\(path)")
            }
            for missing in ["/app/assets/nothing.js", "/app/assets/..%2findex.html", "/app/assets/", "/app/index.html"] {
                let response = try await HTTPTestClient.get(port: port, missing)
                #expect(response.status == 404, "\(missing): \(response.status)")
            }
        }
    }

    @Test func aDisabledClientSaysSoAndTheAPIStaysUp() async throws {
        try await Self.withDaemon(extra: "[web]\nenabled = false") { port, _ in
            let shell = try await HTTPTestClient.get(port: port, "/app/")
            #expect(shell.status == 404)
            #expect(shell.body.contains("[web] enabled = false"))
            let root = try await HTTPTestClient.get(port: port, "/")
            #expect(root.status == 404)
            #expect(try await HTTPTestClient.get(port: port, "/version").status == 200)
        }
    }

    @Test func missingFilesAreLoggedAndAnswered503() async throws {
        try await Self.withDaemon(extra: "[web]\nroot = \"/nonexistent/polygate-web\"") { port, process in
            let shell = try await HTTPTestClient.get(port: port, "/app/")
            #expect(shell.status == 503)
            #expect(shell.body.contains("administrator"))
            #expect(!shell.body.contains("/nonexistent"))  // paths stay in the log
            let asset = try await HTTPTestClient.get(port: port, "/app/assets/app.js")
            #expect(asset.status == 503)
            #expect(try await HTTPTestClient.get(port: port, "/version").status == 200)
            #expect(process.stderr.contains("web client not served"))
            #expect(process.stderr.contains("/nonexistent/polygate-web"))
        }
    }
}
