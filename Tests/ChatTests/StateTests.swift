import GatewayWire
import Testing

@testable import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one test.
func scratch(_ name: String) -> String {
    var template = Array("/tmp/polychat-\(name)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: made!)
}

func mode(_ path: String) -> mode_t {
    var status = stat()
    stat(path, &status)
    return status.st_mode & 0o777
}

@Suite struct StateDirectoryTests {
    @Test func filesArePrivateAndReplacedAtomically() throws {
        let directory = StateDirectory(path: scratch("state") + "/deeper/state")
        try directory.create()
        #expect(mode(directory.path) == 0o700)
        try directory.write("chat.json", Array("one".utf8))
        #expect(mode(directory.path + "/chat.json") == 0o600)
        try directory.write("chat.json", Array("two".utf8))
        #expect(try directory.read("chat.json") == Array("two".utf8))
        #expect(try directory.read("missing.json") == nil)
        // No temporary file is left behind.
        let listing = try #require(opendir(directory.path))
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        #expect(names.filter { !$0.hasPrefix(".") } == ["chat.json"])
    }

    @Test func oneProcessAtATime() throws {
        let directory = StateDirectory(path: scratch("lock"))
        var first: StateLock? = try directory.lock()
        // flock locks belong to the open file: a second open in this process conflicts too.
        #expect(throws: ChatError.self) { _ = try directory.lock() }
        do {
            _ = try directory.lock()
        } catch {
            #expect(error.code == .busy)
            #expect(error.message.contains("another polychat"))
        }
        #expect(first != nil)
        first = nil
        _ = try directory.lock()
    }

    @Test func theDefaultLocationFollowsXDG() {
        #expect(StateDirectory.standard(environment: ["POLYCHAT_HOME": "/x/y/"]).path == "/x/y")
        #expect(StateDirectory.standard(environment: ["XDG_DATA_HOME": "/d", "HOME": "/h"]).path == "/d/polychat")
        #expect(StateDirectory.standard(environment: ["HOME": "/h"]).path == "/h/.local/share/polychat")
        #expect(StateDirectory.absolute("rel/dir").hasPrefix("/"))
        #expect(StateDirectory.absolute("rel/dir").hasSuffix("/rel/dir"))
    }

    @Test func aKeyFileBesideTheStateDoesNotTightenItsParent() throws {
        let parent = scratch("parent")
        chmod(parent, 0o755)
        let directory = StateDirectory(path: parent + "/state")
        let environment = ["POLYCHAT_HOME": directory.path]
        try directory.create()
        _ = try Vault.create(in: directory, passphrase: nil, environment: environment)
        #expect(Vault.keyFilePath(for: directory, environment: environment) == parent + "/state.key")
        #expect(mode(parent + "/state.key") == 0o600)
        #expect(mode(parent) == 0o755)
    }
}

@Suite struct VaultTests {
    @Test func aKeyFileVaultSealsAndOpens() throws {
        let directory = StateDirectory(path: scratch("vault") + "/state")
        let environment = ["POLYCHAT_HOME": directory.path]
        try directory.create()
        let vault = try Vault.create(in: directory, passphrase: nil, environment: environment)
        try vault.store(["secret": "value"], "chat.json", in: directory)
        let raw = try #require(try directory.read("chat.json"))
        #expect(!String(decoding: raw, as: UTF8.self).contains("value"))

        let reopened = try Vault.open(directory, environment: environment) { () throws(ChatError) in
            Issue.record("a key-file vault asked for a passphrase")
            return ""
        }
        #expect(try reopened.load([String: String].self, "chat.json", from: directory) == ["secret": "value"])
        // A file cannot pass for another (its name is authenticated).
        try directory.write("identity.json", raw)
        #expect(throws: ChatError.self) { _ = try reopened.load([String: String].self, "identity.json", from: directory) }
        // Without the key file, the state does not open, and says why.
        unlink(Vault.keyFilePath(for: directory, environment: environment))
        do {
            _ = try Vault.open(directory, environment: environment) { () throws(ChatError) in "" }
            Issue.record("opened without its key file")
        } catch {
            #expect(error.code == .badState)
            #expect(error.message.contains("key file"))
        }
    }

    @Test func aPassphraseVaultOpensOnlyWithItsPassphrase() throws {
        let directory = StateDirectory(path: scratch("pass"))
        try directory.create()
        let vault = try Vault.create(in: directory, passphrase: "tr0ub4dor", environment: [:])
        #expect(vault.mode == .passphrase)
        try vault.store([1, 2, 3], "chat.json", in: directory)
        let again = try Vault.open(directory, environment: [:]) { () throws(ChatError) in "tr0ub4dor" }
        #expect(try again.load([Int].self, "chat.json", from: directory) == [1, 2, 3])
        do {
            _ = try Vault.open(directory, environment: [:]) { () throws(ChatError) in "tr0ub4d0r" }
            Issue.record("a wrong passphrase opened the vault")
        } catch {
            #expect(error.message == "wrong passphrase")
        }
    }
}

@Suite struct ChatEngineOfflineTests {
    @Test func anIdentityIsCreatedReopenedAndExported() async throws {
        let directory = StateDirectory(path: scratch("engine") + "/state")
        let environment = ["POLYCHAT_HOME": directory.path]
        let engine = try await ChatEngine.initialize(
            directory: directory,
            deviceName: "phone",
            socialURL: "http://127.0.0.1:1",
            gatewayURL: "ws://127.0.0.1:1/v1/gateway",
            passphrase: nil,
            environment: environment
        )
        let user = engine.userID
        let export = try await engine.exportIdentity(passphrase: "move me")
        // A second engine on the same directory is refused while the first holds it.
        do {
            _ = try ChatEngine.open(directory: directory, environment: environment) { () throws(ChatError) in "" }
            Issue.record("two engines opened one state directory")
        } catch {
            #expect(error.code == .busy)
        }
        let readOnly = try ChatEngine.open(directory: directory, environment: environment, readOnly: true) {
            () throws(ChatError) in ""
        }
        #expect(readOnly.userID == user)
        await #expect(throws: ChatError.self) { try await readOnly.save() }

        // The export opens with its passphrase only, and carries the identity.
        let bundle = try ChatEngine.readExport(export, passphrase: "move me")
        // A wrong passphrase is a failure (exit 1), not a usage error (issue 15: it exited 64).
        do {
            _ = try ChatEngine.readExport(export, passphrase: "move you")
            Issue.record("a wrong export passphrase was accepted")
        } catch {
            #expect(error.code == .badState)
        }
        let second = StateDirectory(path: scratch("engine2") + "/state")
        let laptop = try await ChatEngine.initialize(
            directory: second,
            deviceName: "laptop",
            socialURL: "http://127.0.0.1:1",
            gatewayURL: "http://127.0.0.1:1",
            passphrase: nil,
            importing: bundle,
            environment: ["POLYCHAT_HOME": second.path]
        )
        #expect(laptop.userID == user)
        #expect(laptop.deviceID != engine.deviceID)
        // init refuses to overwrite.
        do {
            _ = try await ChatEngine.initialize(
                directory: StateDirectory(path: scratch("engine3")),
                deviceName: "x",
                socialURL: "ftp://nowhere",
                gatewayURL: "http://127.0.0.1:1",
                passphrase: nil,
                environment: [:]
            )
            Issue.record("a bad social URL was accepted")
        } catch {
            #expect(error.code == .badArgument)
        }
    }

    @Test func gatewayURLs() throws {
        func parts(_ url: String) throws -> [String] {
            let e = try GatewayEndpoint(parsing: url)
            return [e.host, "\(e.port)", e.path, "\(e.tls)", e.prefix]
        }
        #expect(try parts("ws://example.org:8080/v1/gateway") == ["example.org", "8080", "/v1/gateway", "false", ""])
        #expect(try parts("http://127.0.0.1:18080") == ["127.0.0.1", "18080", "/v1/gateway", "false", ""])
        #expect(try parts("http://host/") == ["host", "80", "/v1/gateway", "false", ""])
        // TLS: port 443 by default; a prefix behind a proxy is kept for SSE.
        #expect(try parts("wss://chat.example.org/v1/gateway") == ["chat.example.org", "443", "/v1/gateway", "true", ""])
        #expect(try parts("https://chat.example.org") == ["chat.example.org", "443", "/v1/gateway", "true", ""])
        #expect(
            try parts("HTTPS://chat.example.org:8443/polygate/") == [
                "chat.example.org", "8443", "/polygate/v1/gateway", "true", "/polygate",
            ]
        )
        #expect(try parts("https://[2001:db8::1]:9443") == ["2001:db8::1", "9443", "/v1/gateway", "true", ""])
        for bad in [
            "ftp://host", "host:80", "http://:80", "https://host:0", "https://host:http", "https://[::1", "wss://user@host",
        ] {
            #expect(throws: ChatError.self, "\(bad)") { _ = try GatewayEndpoint(parsing: bad) }
        }
    }

    @Test func transportsAndAuthoritiesComeFromTheEnvironment() throws {
        #expect(try ConnectionSettings(environment: [:]) == ConnectionSettings(caFile: nil, transport: .auto))
        #expect(
            try ConnectionSettings(environment: ["POLYCHAT_TRANSPORT": "SSE", "POLYCHAT_CA_FILE": "/etc/ca.pem"])
                == ConnectionSettings(caFile: "/etc/ca.pem", transport: .sse)
        )
        let error = #expect(throws: ChatError.self) { _ = try ConnectionSettings(environment: ["POLYCHAT_TRANSPORT": "pigeon"]) }
        #expect(error?.code == .badArgument && error?.message.contains("auto, websocket, sse") == true)
    }

    @Test func userIDsAreSixtyFourHexCharacters() throws {
        #expect(try ChatEngine.user(String(repeating: "A", count: 64)) == UserID([UInt8](repeating: 0xaa, count: 32)))
        #expect(throws: ChatError.self) { _ = try ChatEngine.user("abc") }
        #expect(throws: ChatError.self) { _ = try ChatEngine.user(String(repeating: "g", count: 64)) }
    }

    @Test func listingCleansControlCharacters() {
        #expect(Listing.clean("a\u{1b}[2Jb\u{0}c") == "a\u{FFFD}[2Jb\u{FFFD}c")
        #expect(Listing.user(String(repeating: "c", count: 64), name: nil) == "cccccccccccc")
        #expect(Listing.user(String(repeating: "c", count: 64), name: "carol") == "carol (cccccccccccc)")
        let own = ChatMessage(seq: 1, sender: "x", senderName: "me", text: "hi", sentAtMs: 0, own: true, notice: false)
        #expect(Listing.message(own, withDate: false).hasSuffix(" you: hi"))
    }
}
