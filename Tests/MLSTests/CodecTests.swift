import MLS
import Primitives
import TestSupport
import Testing

@Suite struct VarintTests {
    @Test(arguments: [
        (0, "00"), (37, "25"), (63, "3f"), (64, "4040"), (15293, "7bbd"), (16383, "7fff"), (16384, "80004000"),
        (494_878_333, "9d7f3e7d"), (1_073_741_823, "bfffffff"),
    ])
    func encodesShortestAndDecodes(value: Int, hex: String) throws {
        var writer = MLSWriter()
        writer.writeVarint(value)
        #expect(Hex.encode(writer.bytes) == hex)
        var reader = MLSReader(Hex.decode(hex)!)
        #expect(try reader.readVarint() == value)
        #expect(reader.isAtEnd)
    }

    @Test(arguments: ["4000", "403f", "80000000", "80003fff", "c000000000000000", "c0"])
    func refusesNonMinimalAndEightByteForms(hex: String) {
        let bytes = Hex.decode(hex)!
        var reader = MLSReader(bytes)
        let error = #expect(throws: MLSDecodingError.self) { try reader.readVarint() }
        #expect(error?.code == (bytes[0] >> 6 == 3 ? .invalidVarint : .nonMinimalVarint))
        #expect(error?.offset == 0)
    }

    @Test func truncatedVarintIsTruncated() {
        var reader = MLSReader([0x80, 0x01])
        let error = #expect(throws: MLSDecodingError.self) { try reader.readVarint() }
        #expect(error?.code == .truncated)
    }
}

@Suite struct StructureDecodingTests {
    static let extensionBytes: [UInt8] = Extension(type: 7, data: [1, 2, 3]).encoded

    @Test func truncatedStructIsRefusedAtEveryLength() throws {
        let commit = Commit(proposals: [.proposal(.remove(.init(removed: 3))), .reference([9, 9])], path: nil).encoded
        for length in 0..<commit.count {
            let error = #expect(throws: MLSDecodingError.self) { try Commit.decode(Array(commit.prefix(length))) }
            #expect(
                error?.code == .truncated || error?.code == .vectorLengthMismatch,
                "length \(length): \(String(describing: error))"
            )
        }
        #expect(try Commit.decode(commit).encoded == commit)
    }

    @Test func trailingBytesAreRefused() {
        let error = #expect(throws: MLSDecodingError.self) { try Extension.decode(Self.extensionBytes + [0]) }
        #expect(error?.code == .trailingBytes)
        #expect(error?.type == "Extension")
        #expect(error?.offset == Self.extensionBytes.count)
    }

    @Test func vectorWhoseElementsOverrunItsLengthIsRefused() {
        // A vector of uint16 values with an odd byte length.
        var writer = MLSWriter()
        writer.writeOpaque([0, 1, 0, 2, 0])
        let versions = writer.bytes
        var bytes = versions
        for _ in 0..<4 { bytes += [0] }  // the four other capability lists, empty
        let error = #expect(throws: MLSDecodingError.self) { try Capabilities.decode(bytes) }
        #expect(error?.code == .truncated)
    }

    @Test func optionalPresenceMustBeZeroOrOne() {
        var bytes = Commit(proposals: [], path: nil).encoded
        bytes[bytes.count - 1] = 2
        let error = #expect(throws: MLSDecodingError.self) { try Commit.decode(bytes) }
        #expect(error?.code == .invalidOptional)
    }

    @Test(arguments: [
        ("0001" + "0000", "MLSMessage with wire format 0"),
        ("0002" + "0001", "MLSMessage with version 2"),
        ("0001" + "0009", "MLSMessage with wire format 9"),
    ])
    func unknownEnumerationsAreRefused(hex: String, what: String) {
        let error = #expect(throws: MLSDecodingError.self, "\(what)") { try MLSMessage.decode(Hex.decode(hex)!) }
        #expect(error?.code == .unknownValue)
    }

    @Test func unknownProposalAndCredentialTypesAreRefused() {
        let proposal = #expect(throws: MLSDecodingError.self) { try Proposal.decode([0x00, 0x63, 0x00]) }
        #expect(proposal?.code == .unknownValue)
        let credential = #expect(throws: MLSDecodingError.self) { try Credential.decode([0x00, 0x63, 0x00]) }
        #expect(credential?.code == .unknownValue)
    }

    /// Random corruption of real messages never crashes the decoder. The inputs come from a
    /// printed seed: `POLYGATE_TEST_SEED=<seed>` replays a failing run exactly.
    @Test func mutatedMessagesDecodeOrFailCleanly() throws {
        let commit = try Commit.decode(Commit(proposals: [.proposal(.remove(.init(removed: 1)))], path: nil).encoded).encoded
        let context = GroupContext(
            cipherSuite: 1,
            groupID: [1, 2],
            epoch: 9,
            treeHash: [3],
            confirmedTranscriptHash: [4],
            extensions: [Extension(type: 1, data: [5])]
        ).encoded
        let base = commit + context
        var generator = SeededGenerator.fromEnvironment()
        print("mutatedMessagesDecodeOrFailCleanly: POLYGATE_TEST_SEED=\(generator.seed)")
        // The unmutated messages decode (else the corruption below would test nothing).
        #expect(throws: Never.self) { _ = try Commit.decode(commit) }
        #expect(throws: Never.self) { _ = try GroupContext.decode(context) }
        var decoded = 0
        for _ in 0..<5000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            do {
                _ = try Commit.decode(bytes)
                decoded += 1
            } catch {}
            do { _ = try GroupContext.decode(bytes) } catch {}
            do { _ = try MLSMessage.decode(bytes) } catch {}
            do { _ = try RatchetTreeNodes.decode(bytes) } catch {}
        }
        // Some corruptions stay decodable (a changed byte in a value), most do not: both paths ran.
        #expect(decoded > 0 && decoded < 5000, "seed \(generator.seed): \(decoded) of 5000 decoded")
    }
}

@Suite struct TreeMathTests {
    @Test func pathsOfAnEightLeafTree() {
        // Leaves 0…7 at nodes 0,2,…,14; root 7.
        #expect(TreeMath.root(leaves: 8) == 7)
        #expect(TreeMath.directPath(0, leaves: 8) == [1, 3, 7])
        #expect(TreeMath.copath(0, leaves: 8) == [2, 5, 11])
        #expect(TreeMath.directPath(7, leaves: 8).isEmpty)
        #expect(TreeMath.commonAncestor(0, 2) == 1)
        #expect(TreeMath.commonAncestor(0, 14) == 7)
        #expect(TreeMath.commonAncestor(8, 12) == 11)
        #expect(TreeMath.commonAncestor(5, 5) == 5)
        #expect(TreeMath.level(7) == 3)
    }
}
