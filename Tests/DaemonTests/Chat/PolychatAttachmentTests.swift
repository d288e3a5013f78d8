import Foundation
import Primitives
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Files in conversations, end to end (issue 20): encrypted on the sender's device, stored as
/// ciphertext by the gateway, received by every member byte for byte; the server holds no
/// plaintext; an altered blob is refused by the receiver.
@Suite struct PolychatAttachmentTests {
    /// A file of `size` bytes, random but for `marker` written at its start, middle and end.
    static func file(_ path: String, size: Int, marker: String) throws -> [UInt8] {
        var bytes = SecureRandom.bytes(count: size)
        let mark = Array(marker.utf8)
        for offset in [0, size / 2, size - mark.count] { bytes.replaceSubrange(offset..<offset + mark.count, with: mark) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return bytes
    }

    static func contents(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Every file under `directory`, recursively.
    static func files(under directory: String) -> [String] {
        guard let names = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] else { return [] }
        return names.map { "\(directory)/\($0)" }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    @Test func aFiftyMegabyteFileReachesTwoMembersByteForByteAndTheServerHoldsNoPlaintext() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            let carol = try await PolychatUser.create("carol", port: gateway.port)
            try await alice.ok(["room", "create", "lobby"])
            try await alice.ok(["room", "invite", "lobby", bob.id])
            try await alice.ok(["room", "invite", "lobby", carol.id])
            try await bob.ok(["rooms"])
            try await carol.ok(["rooms"])

            let work = TestEnvironment.makeDirectory("attachments")
            let marker = "PLAINTEXT-MARKER-\(UInt32.random(in: 0...UInt32.max))"
            let original = try Self.file("\(work)/report.bin", size: 50_000_000, marker: marker)
            let sent = try await alice.ok(["send", "lobby", "--file", "\(work)/report.bin", "the quarterly report"])
            #expect(sent.hasPrefix("sent report.bin (50.0 MB, file "))

            // Bob lists it and saves it by its id; carol by its name, into a directory.
            let listed = try await bob.ok(["files", "lobby"])
            let id = try #require(listed.split(separator: " ").first.map(String.init))
            #expect(listed.contains("report.bin  50.0 MB  application/octet-stream  alice ("))
            #expect(try await bob.ok(["read", "lobby"]).contains("[file report.bin, 50.0 MB, \(id)] the quarterly report"))
            #expect(try await bob.ok(["save", "lobby", id, "\(work)/bob.bin"]).hasPrefix("saved \(work)/bob.bin (50.0 MB"))
            let carolDirectory = TestEnvironment.makeDirectory("carol-downloads")
            try await carol.ok(["save", "lobby", "report.bin", carolDirectory])
            #expect(HashFunction.sha256.hash(try Self.contents("\(work)/bob.bin")) == HashFunction.sha256.hash(original))
            #expect(
                HashFunction.sha256.hash(try Self.contents("\(carolDirectory)/report.bin")) == HashFunction.sha256.hash(original)
            )
            // Saving again over the file needs --force.
            let exists = try await bob.fails(["save", "lobby", id, "\(work)/bob.bin"], status: 64)
            #expect(exists.contains("exists: give another PATH, or --force"))

            // The gateway's disk and database hold ciphertext only.
            let blobs = gateway.daemons[0].harness.directory + "/blobs"
            let stored = Self.files(under: blobs)
            #expect(stored.count == 1)
            let ciphertext = try Data(contentsOf: URL(fileURLWithPath: try #require(stored.first)))
            #expect(ciphertext.count > 50_000_000)
            let mark = Array(marker.utf8)
            #expect(ciphertext.range(of: Data(mark)) == nil)
            #expect(ciphertext.range(of: Data("report.bin".utf8)) == nil)
            try await withDatabase(gateway.databaseURL) { database in
                let tables = try await database.query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
                )
                for table in tables {
                    let name = try table[0].decode(String.self)
                    let dump = try await database.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \"\(name)\" t"))
                    for row in dump {
                        let text = try row[0].decode(String.self)
                        #expect(!text.contains(marker) && !text.contains(Hex.encode(mark)), "\(name) holds the marker")
                        #expect(!text.contains("report.bin") && !text.contains(Hex.encode(Array("report.bin".utf8))))
                    }
                }
            }

            // A blob altered on the server: refused, nothing saved.
            let path = try #require(stored.first)
            let fd = open(path, O_WRONLY)
            var byte: UInt8 = 0x5A
            _ = pwrite(fd, &byte, 1, 1_000_000)
            close(fd)
            let refused = try await carol.fails(["save", "lobby", id, "\(work)/carol-again.bin"], status: 1)
            #expect(refused.contains("altered"))
            #expect(access("\(work)/carol-again.bin", F_OK) != 0)
            #expect(Self.files(under: work).allSatisfy { !$0.contains(".part.") })
        }
    }

    @Test func aFileGoesThroughARunningInstanceFromAnotherDirectory() async throws {
        try await GatewayHarness.run { gateway in
            let alice = try await PolychatUser.create("alice", port: gateway.port)
            let bob = try await PolychatUser.create("bob", port: gateway.port)
            try await alice.ok(["dm", bob.id, "a file follows"])
            let daemon = try await PolychatInstanceTests.daemon(alice)
            defer { daemon.kill9() }
            // Relative paths are the caller's: the command runs in this test's directory.
            let work = TestEnvironment.makeDirectory("relative")
            let original = try Self.file("\(work)/note.txt", size: 100_000, marker: "note")
            let sent = try await alice.run(["send", "dm", "--file", "note.txt"], directory: work)
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(sent.stdout.hasPrefix("sent note.txt (100.0 KB, file "))
            try await bob.ok(["save", "dm", "note.txt", "\(work)/received.txt"])
            #expect(try Self.contents("\(work)/received.txt") == original)
            #expect(try await bob.ok(["files", "dm", "--json"]).contains("\"mediaType\" : \"text/plain\""))
        }
    }
}
