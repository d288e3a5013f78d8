import Foundation
import Logging
import Noise
import Primitives
import TestSupport
import Testing

@testable import Gateway

#if canImport(Glibc)
import Glibc
#endif

/// The sealed-session keys (ADR 0025) as values, and their file.
@Suite struct GatewayKeyRingTests {
    static let day: UInt64 = 86_400_000

    @Test func rotationKeepsTheOldKeyForTheOverlapThenDropsIt() {
        var ring = GatewayKeyRing.generate(nowMs: 1000)
        let first = ring.current.hex
        #expect(ring.accepted(nowMs: 2000).map(\.hex) == [first])
        ring.rotate(nowMs: 10 * Self.day, overlap: .seconds(7 * 86_400))
        let second = ring.current.hex
        #expect(second != first)
        // Newest first; the old one until its retirement.
        #expect(ring.accepted(nowMs: 10 * Self.day).map(\.hex) == [second, first])
        #expect(ring.keys[0].retiresMs == 17 * Self.day)
        #expect(ring.current.retiresMs == nil)
        #expect(ring.accepted(nowMs: 17 * Self.day).map(\.hex) == [second])
        // A second rotation within the overlap does not extend the first key's life.
        ring.rotate(nowMs: 11 * Self.day, overlap: .seconds(30 * 86_400))
        #expect(ring.keys.map(\.retiresMs) == [17 * Self.day, 41 * Self.day, nil])
        let pruned = ring.prune(nowMs: 17 * Self.day)
        #expect(pruned)
        #expect(ring.keys.count == 2 && ring.keys[0].hex == second)
        let prunedAgain = ring.prune(nowMs: 17 * Self.day)
        #expect(!prunedAgain)
    }

    @Test func theFileRoundTripsAndRefusesWhatIsNotAKeyFile() throws {
        var ring = GatewayKeyRing.generate(nowMs: 5)
        ring.rotate(nowMs: 9, overlap: .seconds(60))
        let read = try GatewayKeyRing(fileText: ring.fileText)
        #expect(read.keys.map(\.hex) == ring.keys.map(\.hex))
        #expect(read.keys.map(\.retiresMs) == ring.keys.map(\.retiresMs))
        #expect(read.current.pair.privateKey == ring.current.pair.privateKey)
        // The file names the public key next to the private one: a mismatch is refused.
        let other = GatewayKeyRing.generate(nowMs: 5)
        let swapped = ring.fileText.replacingOccurrences(of: ring.current.hex, with: other.current.hex)
        #expect(
            (#expect(throws: GatewayKeyRingError.self) { try GatewayKeyRing(fileText: swapped) })?.description
                == "key 2: the public key is not the private key's"
        )
        for (text, reason) in [
            ("", "not a key file of polygated (JSON with \"version\" and \"keys\")"),
            ("{\"version\":2,\"keys\":[]}", "version 2 is not known to this polygated"),
            ("{\"version\":1,\"keys\":[]}", "it holds no key"),
            (
                "{\"version\":1,\"keys\":[{\"public\":\"00\",\"private\":\"zz\",\"created_ms\":1}]}",
                "key 1: the private key is not 32 bytes of hex"
            ),
        ] {
            #expect((#expect(throws: GatewayKeyRingError.self) { try GatewayKeyRing(fileText: text) })?.description == reason)
        }
        // No description holds a private key.
        #expect(!"\(ring.current.pair)".contains(Hex.encode(ring.current.pair.privateKey.bytes)))
    }

    /// `sudo polygated show-key` before the daemon's first start: the file must be the
    /// daemon's (the state directory's owner), not root's.
    @Test func aKeyFileWrittenByRootBelongsToTheStateDirectorysOwner() throws {
        let directory = TestEnvironment.makeDirectory("keys-owner")
        let owner: UInt32 = getuid() == 0 ? 65_534 : getuid()
        if getuid() == 0 { chown(directory, owner, owner) }
        let store = try GatewayKeyStore(directory: directory, nowMs: 1, logger: Logger(label: "test"))
        let attributes = try FileManager.default.attributesOfItem(atPath: store.path)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == owner)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
    }

    @Test func theStoreCreatesTheFileForTheDaemonAloneAndRefusesOneOthersMayRead() throws {
        let directory = TestEnvironment.makeDirectory("keys") + "/state"
        let store = try GatewayKeyStore(directory: directory, nowMs: 1, logger: Logger(label: "test"))
        #expect(try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int == 0o700)
        // Loaded again: the same key.
        let again = try GatewayKeyStore(directory: directory, nowMs: 2, logger: Logger(label: "test"))
        #expect(again.current.current.hex == store.current.current.hex)
        chmod(store.path, 0o644)
        let open = #expect(throws: GatewayKeyRingError.self) {
            try GatewayKeyStore(directory: directory, nowMs: 3, logger: Logger(label: "test"))
        }
        #expect(open?.description == "\(store.path): the key file is open to others (mode 644): chmod 600 it")
        // A reload that cannot read the file keeps the keys in force.
        #expect(throws: GatewayKeyRingError.self) { try store.reload(nowMs: 4) }
        #expect(store.current.current.hex == again.current.current.hex)
    }
}
