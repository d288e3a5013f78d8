package import Noise

/// Sealed sessions (docs/GATEWAY_SPEC.md §14, ADR 0025): the Noise protocol, the prologue, and
/// the framing of gateway frames inside the channel — a frame's length (4 bytes, big-endian)
/// and bytes, zero-padded to the next size bucket, then cut into Noise transport messages of
/// at most 65,535 bytes, all but the last full.
package enum SealedChannel {
    package static let protocolName = "Noise_NK_25519_ChaChaPoly_SHA256"
    package static let noise = try! NoiseProtocol(name: SealedChannel.protocolName)
    /// Mixed into the handshake: both sides must agree on it.
    package static let prologue = Array("polygate sealed v1".utf8)
    /// The padded sizes of sealed frames (length prefix included); past the last, a multiple
    /// of it.
    package static let defaultBuckets = [256, 1024, 4096, 16_384, 65_536]

    /// The plaintext a Noise transport message carries at most.
    static let chunk = NoiseHandshake.maximumMessageLength - NoiseCipher.tagLength

    /// The padded size of a frame of `count` bytes.
    package static func paddedSize(_ count: Int, buckets: [Int] = Self.defaultBuckets) -> Int {
        let needed = count + 4
        if let bucket = buckets.first(where: { $0 >= needed }) { return bucket }
        let largest = max(buckets.last ?? 1, 1)
        return (needed + largest - 1) / largest * largest
    }

    /// `frame` padded and sealed with `cipher` (which moves on by one nonce per 65,519 bytes).
    package static func seal(
        _ frame: [UInt8],
        with cipher: inout NoiseCipherState,
        buckets: [Int] = Self.defaultBuckets
    ) throws(NoiseError) -> [UInt8] {
        var cipherState = cipher
        defer { cipher = cipherState }
        let sealed = frame.withUnsafeBytes { bytes in
            Result { () throws(NoiseError) -> [UInt8] in try Self.seal(bytes, with: &cipherState, buckets: buckets) }
        }
        return try sealed.get()
    }

    /// `frame` padded and sealed with `cipher`, read where it lies (a server's frame buffer).
    package static func seal(
        _ frame: UnsafeRawBufferPointer,
        with cipher: inout NoiseCipherState,
        buckets: [Int] = Self.defaultBuckets
    ) throws(NoiseError) -> [UInt8] {
        let size = Self.paddedSize(frame.count, buckets: buckets)
        // The length, the frame and the zeros, written once.
        let plaintext = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let count = UInt32(frame.count)
            buffer[0] = UInt8(count >> 24)
            buffer[1] = UInt8(truncatingIfNeeded: count >> 16)
            buffer[2] = UInt8(truncatingIfNeeded: count >> 8)
            buffer[3] = UInt8(truncatingIfNeeded: count)
            UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[4..<(4 + frame.count)]))
                .copyMemory(from: frame)
            buffer[(4 + frame.count)..<size].initialize(repeating: 0)
            initialized = size
        }
        // Nearly every frame fits one Noise message: sealed as it is, without copying pieces.
        if plaintext.count <= Self.chunk { return try cipher.encrypt(plaintext) }
        var sealed = [UInt8]()
        sealed.reserveCapacity(size + (size / Self.chunk + 1) * NoiseCipher.tagLength)
        var offset = 0
        while offset < plaintext.count {
            let end = min(plaintext.count, offset + Self.chunk)
            sealed += try cipher.encrypt(Array(plaintext[offset..<end]))
            offset = end
        }
        return sealed
    }

    /// The frame in one sealed message.
    ///
    /// - Throws: ``NoiseError`` `decrypt_failed` for a message altered, replayed, reordered or
    ///   sealed under another key; `truncated` for one whose length prefix passes its end.
    package static func open(_ message: [UInt8], with cipher: inout NoiseCipherState) throws(NoiseError) -> [UInt8] {
        guard !message.isEmpty else { throw NoiseError(.truncated, "an empty sealed message") }
        var plaintext = [UInt8]()
        if message.count <= NoiseHandshake.maximumMessageLength {
            plaintext = try cipher.decrypt(message)
        } else {
            plaintext.reserveCapacity(message.count)
            var offset = 0
            while offset < message.count {
                let end = min(message.count, offset + NoiseHandshake.maximumMessageLength)
                plaintext += try cipher.decrypt(Array(message[offset..<end]))
                offset = end
            }
        }
        guard plaintext.count >= 4 else { throw NoiseError(.truncated, "a sealed message without its length") }
        let count = Int(plaintext[0]) << 24 | Int(plaintext[1]) << 16 | Int(plaintext[2]) << 8 | Int(plaintext[3])
        guard count <= plaintext.count - 4 else { throw NoiseError(.truncated, "a sealed frame longer than its message") }
        return Array(plaintext[4..<(4 + count)])
    }

    /// The gateway's side of the handshake: the client's first message, opened with the first
    /// of `keys` it was sealed to.
    ///
    /// - Returns: the handshake, ready to write the second message, and the key that opened it.
    /// - Throws: ``NoiseError`` when no key opens it.
    package static func accept(_ first: [UInt8], keys: [NoiseKeyPair]) throws(NoiseError) -> (NoiseHandshake, NoiseKeyPair) {
        var last = NoiseError(.decryptFailed, "no key of this gateway opens the handshake")
        for key in keys {
            do {
                var handshake = try NoiseHandshake(Self.noise, initiator: false, prologue: Self.prologue, staticKey: key)
                _ = try handshake.readMessage(first)
                return (handshake, key)
            } catch {
                last = error
            }
        }
        throw last
    }
}
