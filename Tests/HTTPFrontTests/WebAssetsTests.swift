import Foundation
import HTTPFront
import Primitives
import TestSupport
import Testing

/// The web client's files as values: hashed names, the rewritten shell, its import map and the
/// Content-Security-Policy that admits exactly that map (no I/O but reading the checkout's web/).
@Suite struct WebAssetsTests {
    static let index = Array(
        """
        <!doctype html><html><head>
        <!-- polygate:importmap -->
        <link rel="stylesheet" href="assets/style.css">
        <script type="module" src="assets/app.js"></script>
        </head><body></body></html>
        """.utf8
    )

    static let files: [String: [UInt8]] = [
        "app.js": Array("import { x } from './proto.js';\n".utf8),
        "proto.js": Array("export const x = 1;\n".utf8),
        "style.css": Array("body { color: black; }\n".utf8),
    ]

    @Test func assetsGetContentHashedNamesThatChangeWithTheirBytes() throws {
        let assets = try WebAssets(index: Self.index, assets: Self.files)
        let app = try #require(assets.asset("app.js"))
        let digest = Hex.encode(HashFunction.sha256.hash(Self.files["app.js"]!).prefix(6))
        #expect(app.hashedName == "app.\(digest).js")
        #expect(app.contentType == "text/javascript; charset=utf-8")
        #expect(assets.asset(app.hashedName) == app)
        #expect(assets.assets.map(\.name) == ["app.js", "proto.js", "style.css"])
        var changed = Self.files
        changed["app.js"]! += Array("// one more line\n".utf8)
        let other = try WebAssets(index: Self.index, assets: changed)
        #expect(other.asset("app.js")!.hashedName != app.hashedName)
        #expect(other.asset("proto.js")!.hashedName == assets.asset("proto.js")!.hashedName)
        #expect(assets.asset("missing.js") == nil)
        #expect(assets.asset("../index.html") == nil)
    }

    @Test func theShellNamesHashedFilesAndItsImportMapIsAdmittedByTheCSP() throws {
        let assets = try WebAssets(index: Self.index, assets: Self.files)
        let shell = String(decoding: assets.shell, as: UTF8.self)
        let app = assets.asset("app.js")!.hashedName
        let style = assets.asset("style.css")!.hashedName
        let proto = assets.asset("proto.js")!.hashedName
        #expect(shell.contains("src=\"/app/assets/\(app)\""))
        #expect(shell.contains("href=\"/app/assets/\(style)\""))
        #expect(!shell.contains("\"assets/"))
        #expect(!shell.contains("polygate:importmap"))
        let open = "<script type=\"importmap\">"
        let start = try #require(shell.range(of: open))
        let end = try #require(shell.range(of: "</script>", range: start.upperBound..<shell.endIndex))
        let map = String(shell[start.upperBound..<end.lowerBound])
        let parsed = try JSONSerialization.jsonObject(with: Data(map.utf8)) as? [String: [String: String]]
        #expect(parsed?["imports"]?["/app/assets/proto.js"] == "/app/assets/\(proto)")
        #expect(parsed?["imports"]?["/app/assets/app.js"] == "/app/assets/\(app)")
        #expect(parsed?["imports"]?.count == 2)  // modules only
        let hash = Base64.encode(HashFunction.sha256.hash(Array(map.utf8)), .standard)
        #expect(assets.contentSecurityPolicy.contains("script-src 'self' 'sha256-\(hash)'"))
        #expect(assets.contentSecurityPolicy.hasPrefix("default-src 'none'"))
        #expect(!assets.contentSecurityPolicy.contains("unsafe"))
    }

    @Test func badNamesAndAShellWithoutTheMarkerAreRefused() {
        for name in ["run.sh", "a b.js", ".hidden.js", "noextension", "x.js.map", "ünï.js"] {
            #expect(throws: WebAssetsError.self, "\(name)") {
                try WebAssets(index: Self.index, assets: [name: [1]])
            }
        }
        do {
            _ = try WebAssets(index: Array("<html></html>".utf8), assets: Self.files)
            Issue.record("a shell without the marker was accepted")
        } catch {
            #expect(error.code == .badShell)
            #expect(error.message.contains("polygate:importmap"))
        }
    }

    @Test func theCheckoutsWebClientLoads() throws {
        let assets = try WebAssets(directory: "\(TestEnvironment.sourceRoot)/web")
        let names = Set(assets.assets.map(\.name))
        #expect(names.isSuperset(of: ["app.js", "api.js", "identity.js", "proto.js", "style.css"]))
        let shell = String(decoding: assets.shell, as: UTF8.self)
        // Every module the client imports is in the map, so every import resolves to a hashed name.
        for asset in assets.assets where asset.name.hasSuffix(".js") {
            #expect(shell.contains("\"/app/assets/\(asset.name)\":\"/app/assets/\(asset.hashedName)\""))
            let text = String(decoding: asset.body, as: UTF8.self)
            for line in text.split(separator: "\n") where line.contains(" from './") {
                let imported = line.split(separator: "'").dropFirst().first.map { String($0.dropFirst(2)) } ?? ""
                #expect(names.contains(imported), "\(asset.name) imports \(imported), which is not in web/assets")
            }
        }
        do {
            _ = try WebAssets(directory: "/nonexistent/web")
            Issue.record("a missing folder was accepted")
        } catch {
            #expect(error.code == .missing)
            #expect(error.message.contains("/nonexistent/web"))
        }
    }
}
