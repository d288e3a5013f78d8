package import Primitives

/// The encryption of an attachment (docs/CHAT_MESSAGES.md, "Attachments"): a fresh random key
/// per file, the file cut into chunks of `chunkSize` bytes, each sealed on its own with
/// ChaCha20-Poly1305, so a file of any size is encrypted and decrypted in bounded memory and any
/// chunk can be verified alone. The nonce names the chunk's index and whether it is the last, so
/// chunks cannot be reordered, dropped, or the file cut short or extended.
///
///     ciphertext = header ‖ sealed chunk 0 ‖ … ‖ sealed chunk n−1
///     header     = "PGA1" ‖ chunkSize (u32, big-endian)
///     sealed i   = ChaCha20-Poly1305(key, nonce = last (1 byte: 1 or 0) ‖ 0x000000 ‖ i (u64, big-endian),
///                                    associated data = header, chunk i)
///
/// Every chunk but the last holds exactly `chunkSize` bytes; the last holds 0 to `chunkSize`
/// (an empty file is one empty last chunk).
package struct AttachmentCipher: Sendable {
    package static let magic = Array("PGA1".utf8)
    package static let headerSize = 8
    package static let tagSize = 16
    package static let defaultChunkSize = 64 << 10

    package let key: SecretBytes
    package let chunkSize: Int

    package init(key: SecretBytes, chunkSize: Int = Self.defaultChunkSize) {
        self.key = key
        self.chunkSize = chunkSize
    }

    /// A cipher with a fresh random key.
    package static func random() -> AttachmentCipher {
        AttachmentCipher(key: SecretBytes(SecureRandom.bytes(count: 32)))
    }

    package var header: [UInt8] {
        Self.magic + (0..<4).map { UInt8(truncatingIfNeeded: UInt32(self.chunkSize) >> UInt32(24 - 8 * $0)) }
    }

    /// The ciphertext's size for a file of `size` bytes.
    package func ciphertextSize(forPlaintext size: Int) -> Int {
        let chunks = max(1, (size + self.chunkSize - 1) / self.chunkSize)
        return Self.headerSize + size + chunks * Self.tagSize
    }

    static func nonce(index: UInt64, last: Bool) -> [UInt8] {
        [last ? 1 : 0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: index >> UInt64(56 - 8 * $0)) }
    }

    /// Seals chunk `index` (`last`: the file's last).
    package func seal(_ chunk: [UInt8], index: UInt64, last: Bool) throws(ChatError) -> [UInt8] {
        do {
            return try AEADAlgorithm.chacha20Poly1305.seal(
                key: self.key.bytes,
                nonce: Self.nonce(index: index, last: last),
                associatedData: self.header,
                plaintext: chunk
            )
        } catch {
            throw ChatError(.badState, "cannot encrypt the file: \(error)")
        }
    }

    /// Opens sealed chunk `index`.
    ///
    /// - Throws: ``ChatError`` `refused` when it was altered, moved, or is not the `last` it says.
    package func open(_ sealed: [UInt8], index: UInt64, last: Bool) throws(ChatError) -> [UInt8] {
        do {
            return try AEADAlgorithm.chacha20Poly1305.open(
                key: self.key.bytes,
                nonce: Self.nonce(index: index, last: last),
                associatedData: self.header,
                ciphertext: sealed
            )
        } catch {
            throw ChatError(.refused, "the file was altered (chunk \(index) does not verify): nothing was saved")
        }
    }

    /// Reads a ciphertext's header: the chunk size it was made with.
    ///
    /// - Throws: ``ChatError`` `refused` for a header that is not this format's.
    package static func chunkSize(ofHeader header: [UInt8]) throws(ChatError) -> Int {
        guard header.count == Self.headerSize, Array(header.prefix(4)) == Self.magic else {
            throw ChatError(.refused, "not a polychat attachment (its header is wrong)")
        }
        let size = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        guard (1...(16 << 20)).contains(size) else { throw ChatError(.refused, "not a polychat attachment (chunk size \(size))") }
        return size
    }
}
