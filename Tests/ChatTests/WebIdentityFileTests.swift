import ChatClient
import Foundation
import Primitives
import TestSupport
import Testing

/// The `polygate-identity` file shared by polychat and the web client (ADR 0028): it round-trips,
/// refuses what it must, and an independent reader (Python's hashlib PBKDF2 and `cryptography`'s
/// AES-GCM, as a browser's WebCrypto would) opens it from the documented parameters alone.
@Suite struct WebIdentityFileTests {
    static let bundle: [UInt8] = Array(0..<200).map { UInt8($0) }
    static let publicKey = [UInt8](repeating: 0xAB, count: 32)

    @Test func itRoundTripsAndRefusesAWrongPassphraseOrATamperedFile() throws {
        let file = try WebIdentityFile.seal(
            bundle: Self.bundle,
            publicKey: Self.publicKey,
            passphrase: "pässphrase",
            iterations: 100_000
        )
        #expect(WebIdentityFile.matches(file))
        #expect(!WebIdentityFile.matches(Array("PCX2".utf8) + [UInt8](repeating: 0, count: 40)))
        #expect(try WebIdentityFile.open(file, passphrase: "pässphrase") == Self.bundle)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(file)) as? [String: Any])
        #expect(json["format"] as? String == "polygate-identity" && json["version"] as? Int == 1)
        #expect(json["publicKey"] as? String == Hex.encode(Self.publicKey))
        #expect(json["iterations"] as? Int == 100_000)
        do {
            _ = try WebIdentityFile.open(file, passphrase: "passphrase")
            Issue.record("a wrong passphrase opened the file")
        } catch {
            #expect(error.code == .badState)
        }
        var tampered = json
        var sealed = Base64.decode(json["sealed"] as! String)!
        sealed[5] ^= 1
        tampered["sealed"] = Base64.encode(sealed, .standard)
        let tamperedFile = [UInt8](try JSONSerialization.data(withJSONObject: tampered))
        #expect(throws: ChatError.self) { try WebIdentityFile.open(tamperedFile, passphrase: "pässphrase") }
        for (key, value) in [
            ("kdf", "scrypt" as Any), ("iterations", 1000 as Any), ("version", 2 as Any), ("format", "other" as Any),
        ] {
            var changed = json
            changed[key] = value
            let bytes = [UInt8](try JSONSerialization.data(withJSONObject: changed))
            do {
                _ = try WebIdentityFile.open(bytes, passphrase: "pässphrase")
                Issue.record("\(key) = \(value) was accepted")
            } catch {
                #expect(error.code == .badArgument, "\(key): \(error)")
            }
        }
    }

    @Test func anIndependentReaderOpensItFromTheDocumentedParameters() async throws {
        guard let python = TestEnvironment.get("POLYGATE_TEST_PYTHON") else {
            throw TestFailure("POLYGATE_TEST_PYTHON is not set: run the tests with scripts/test.sh (it runs scripts/pyvenv.sh)")
        }
        let file = try WebIdentityFile.seal(
            bundle: Self.bundle,
            publicKey: Self.publicKey,
            passphrase: "pässphrase",
            iterations: 100_000
        )
        let path = TestEnvironment.makeDirectory("web-identity") + "/identity.json"
        try Data(file).write(to: URL(fileURLWithPath: path))
        let script = """
            import base64, hashlib, json, sys
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            f = json.load(open(sys.argv[1]))
            key = hashlib.pbkdf2_hmac('sha256', 'pässphrase'.encode(), base64.b64decode(f['salt']), f['iterations'], 32)
            plain = AESGCM(key).decrypt(base64.b64decode(f['nonce']), base64.b64decode(f['sealed']), b'polygate-identity v1')
            print(plain.hex())
            """
        let run = try await TestProcess.run(python, ["-c", script, path])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == Hex.encode(Self.bundle))
    }
}
