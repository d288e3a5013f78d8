import Foundation
import Primitives

/// The web client's files as polygated serves them (ADR 0028): `index.html` (the shell) and the
/// flat `assets/` folder, read once at startup. Every asset is also served under a
/// content-hashed name (`app.js` → `app.1f0c3a9e27b4.js`) that never changes meaning, so a CDN
/// and the browser may keep it for a year; the shell, which is never cached, names the hashed
/// files and carries an import map that sends each module's plain name (`./proto.js`) to its
/// hashed one. A value with no I/O once built.
package struct WebAssets: Sendable {
    /// One file of `assets/`.
    package struct Asset: Sendable, Equatable {
        /// The name in `assets/` (`app.js`).
        package var name: String
        /// The name with the content hash (`app.1f0c3a9e27b4.js`).
        package var hashedName: String
        package var contentType: String
        package var body: [UInt8]
        /// A strong ETag: the quoted hash.
        package var etag: String
    }

    /// The URL path the client is served under.
    package static let prefix = "/app"

    /// By plain and by hashed name.
    let byName: [String: Asset]
    /// The shell with hashed asset URLs and the import map.
    package let shell: [UInt8]
    package let shellETag: String
    /// The Content-Security-Policy sent with every response of the client.
    package let contentSecurityPolicy: String

    /// Content types by extension; other extensions are refused at load.
    static let contentTypes: [String: String] = [
        "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
        "json": "application/json",
        "webmanifest": "application/manifest+json",
        "txt": "text/plain; charset=utf-8",
    ]

    /// Where the shell gets its import map.
    static let importMapMarker = "<!-- polygate:importmap -->"

    /// Builds the table from the shell's text and the assets' contents (by plain name).
    ///
    /// - Throws: ``WebAssetsError`` for a name outside `[A-Za-z0-9_-]+.ext` with a known
    ///   extension, or a shell without the import-map marker.
    package init(index: [UInt8], assets files: [String: [UInt8]]) throws(WebAssetsError) {
        var byName: [String: Asset] = [:]
        for (name, body) in files {
            guard let type = Self.contentType(of: name) else {
                throw WebAssetsError(
                    code: .badName,
                    message: "assets/\(name): names are letters, digits, _ and - with one of the extensions "
                        + Self.contentTypes.keys.sorted().joined(separator: ", ")
                )
            }
            let digest = Hex.encode(HashFunction.sha256.hash(body).prefix(6))
            let dot = name.lastIndex(of: ".")!
            let hashed = "\(name[..<dot]).\(digest)\(name[dot...])"
            let asset = Asset(name: name, hashedName: hashed, contentType: type, body: body, etag: "\"\(digest)\"")
            byName[name] = asset
            byName[hashed] = asset
        }
        var html = String(decoding: index, as: UTF8.self)
        guard html.contains(Self.importMapMarker) else {
            throw WebAssetsError(code: .badShell, message: "index.html lacks the line \(Self.importMapMarker)")
        }
        let plain = files.keys.sorted()
        // Quoted on both sides, so one name never rewrites part of another's reference.
        for name in plain {
            let hashed = byName[name]!.hashedName
            html = html.replacingOccurrences(of: "\"assets/\(name)\"", with: "\"\(Self.prefix)/assets/\(hashed)\"")
        }
        let imports = plain.filter { $0.hasSuffix(".js") }.map { name in
            "\"\(Self.prefix)/assets/\(name)\":\"\(Self.prefix)/assets/\(byName[name]!.hashedName)\""
        }
        let map = "{\"imports\":{\(imports.joined(separator: ","))}}"
        html = html.replacingOccurrences(of: Self.importMapMarker, with: "<script type=\"importmap\">\(map)</script>")
        self.byName = byName
        self.shell = Array(html.utf8)
        self.shellETag = "\"\(Hex.encode(HashFunction.sha256.hash(self.shell).prefix(6)))\""
        let mapHash = Base64.encode(HashFunction.sha256.hash(Array(map.utf8)), .standard)
        self.contentSecurityPolicy = [
            "default-src 'none'",
            "script-src 'self' 'sha256-\(mapHash)'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// Reads `root/index.html` and every file of `root/assets/`.
    ///
    /// - Throws: ``WebAssetsError`` `missing` when the folder or the shell is not there,
    ///   `unreadable` for a file that cannot be read, and what ``init(index:assets:)`` throws.
    package init(directory root: String) throws(WebAssetsError) {
        let manager = FileManager.default
        guard let index = manager.contents(atPath: "\(root)/index.html") else {
            let what = manager.fileExists(atPath: root) ? "\(root)/index.html" : root
            throw WebAssetsError(code: .missing, message: "\(what) does not exist or cannot be read")
        }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: "\(root)/assets")
        } catch {
            throw WebAssetsError(code: .missing, message: "\(root)/assets cannot be listed")
        }
        var files: [String: [UInt8]] = [:]
        for name in names where !name.hasPrefix(".") {
            guard let body = manager.contents(atPath: "\(root)/assets/\(name)") else {
                throw WebAssetsError(code: .unreadable, message: "\(root)/assets/\(name) cannot be read")
            }
            files[name] = [UInt8](body)
        }
        try self.init(index: [UInt8](index), assets: files)
    }

    /// The asset with this plain or hashed name.
    package func asset(_ name: String) -> Asset? { self.byName[name] }

    /// Every asset once (by plain name).
    package var assets: [Asset] { self.byName.filter { $0.key == $0.value.name }.values.sorted { $0.name < $1.name } }

    static func contentType(of name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let stem = name[..<dot]
        guard stem.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else { return nil }
        return Self.contentTypes[String(name[name.index(after: dot)...])]
    }
}

/// Why the web client's files could not be loaded.
package struct WebAssetsError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case missing
        case unreadable
        case badName = "bad_name"
        case badShell = "bad_shell"
    }

    package var code: Code
    package var message: String

    package var description: String { "\(self.code.rawValue): \(self.message)" }
}
