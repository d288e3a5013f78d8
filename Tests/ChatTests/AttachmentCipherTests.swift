import Primitives
import Testing

@testable import ChatClient

/// The attachment format (docs/CHAT_MESSAGES.md, "Attachments") as values: chunks sealed on
/// their own, bound to their place and to the end of the file.
@Suite struct AttachmentCipherTests {
    /// `plaintext` sealed as the format says: header, then chunks.
    static func seal(_ plaintext: [UInt8], _ cipher: AttachmentCipher) throws -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(plaintext.count, offset + cipher.chunkSize)
            chunks.append(
                try cipher.seal(Array(plaintext[offset..<end]), index: UInt64(chunks.count), last: end == plaintext.count)
            )
            offset = end
        } while offset < plaintext.count
        return chunks
    }

    @Test func filesOfEverySizeAroundTheChunkBoundaryRoundTrip() throws {
        let cipher = AttachmentCipher(key: SecretBytes(SecureRandom.bytes(count: 32)), chunkSize: 1024)
        for size in [0, 1, 1023, 1024, 1025, 4096, 5000] {
            let plaintext = SecureRandom.bytes(count: size)
            let chunks = try Self.seal(plaintext, cipher)
            #expect(chunks.count == max(1, (size + 1023) / 1024))
            #expect(AttachmentCipher.headerSize + chunks.map(\.count).reduce(0, +) == cipher.ciphertextSize(forPlaintext: size))
            var opened: [UInt8] = []
            for (index, chunk) in chunks.enumerated() {
                opened += try cipher.open(chunk, index: UInt64(index), last: index == chunks.count - 1)
            }
            #expect(opened == plaintext)
        }
        #expect(cipher.header == Array("PGA1".utf8) + [0, 0, 4, 0])
        #expect(try AttachmentCipher.chunkSize(ofHeader: cipher.header) == 1024)
    }

    @Test func cutReorderedAlteredOrForeignChunksAreRefused() throws {
        let cipher = AttachmentCipher(key: SecretBytes(SecureRandom.bytes(count: 32)), chunkSize: 1024)
        let chunks = try Self.seal(SecureRandom.bytes(count: 3000), cipher)
        // Cut short: chunk 1 is not the last.
        #expect(throws: ChatError.self) { try cipher.open(chunks[1], index: 1, last: true) }
        // Reordered: chunk 0 in place 1.
        #expect(throws: ChatError.self) { try cipher.open(chunks[0], index: 1, last: false) }
        // Altered.
        var altered = chunks[2]
        altered[5] ^= 1
        #expect(throws: ChatError.self) { try cipher.open(altered, index: 2, last: true) }
        // Another file's key.
        let other = AttachmentCipher(key: SecretBytes(SecureRandom.bytes(count: 32)), chunkSize: 1024)
        #expect(throws: ChatError.self) { try other.open(chunks[0], index: 0, last: false) }
        // Another header (chunk size) is other associated data.
        let bigger = AttachmentCipher(key: cipher.key, chunkSize: 2048)
        #expect(throws: ChatError.self) { try bigger.open(chunks[0], index: 0, last: false) }
        #expect(throws: ChatError.self) { try AttachmentCipher.chunkSize(ofHeader: Array("PGA2".utf8) + [0, 0, 4, 0]) }
    }

    @Test func hashingAsTheBytesStreamGivesTheOneShotDigest() {
        let bytes = SecureRandom.bytes(count: 100_000)
        var streaming = StreamingSHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 30_000] {
            streaming.update(Array(bytes[offset..<offset + size]))
            offset += size
        }
        streaming.update(Array(bytes[offset...]))
        #expect(streaming.finish() == HashFunction.sha256.hash(bytes))
        var empty = StreamingSHA256()
        #expect(empty.finish() == HashFunction.sha256.hash([]))
    }
}

/// What polychat says when the blob routes refuse (GATEWAY_SPEC §13's error codes).
@Suite struct BlobRefusalTests {
    static func refusal(_ status: Int, _ body: String) -> String {
        BlobTransfer.refusal(status, Array(body.utf8), what: "the upload").description
    }

    @Test func eachRefusalSaysWhatToDoNext() {
        #expect(
            Self.refusal(507, #"{"error":"disk_full","message":"the server's disk is full: the upload was dropped"}"#)
                == "the server's disk is full, so the upload was dropped: try again later, or tell the server's operator"
        )
        #expect(
            Self.refusal(413, #"{"error":"quota_exceeded","message":"your attachments use 9 of your 10 bytes: delete some"}"#)
                == "your attachments use 9 of your 10 bytes: delete some"
        )
        #expect(Self.refusal(404, #"{"error":"not_found","message":"x"}"#).contains("no longer on the server"))
        #expect(Self.refusal(502, "<html>bad gateway</html>") == "the upload was refused (HTTP 502)")
    }
}
