/// HKDF (RFC 5869) over a SHA-2 hash.
package struct HKDF: Sendable, Hashable {
    package let hash: HashFunction

    package init(hash: HashFunction) {
        self.hash = hash
    }

    /// `HKDF-Extract(salt, ikm)`; an empty salt means `Nh` zero bytes (HMAC pads keys with zeros,
    /// so the two are the same).
    package func extract(salt: [UInt8], ikm: [UInt8]) -> [UInt8] {
        self.hash.hmac(key: salt, message: ikm)
    }

    /// `HKDF-Expand(prk, info, length)`.
    ///
    /// - Throws: ``PrimitivesError`` when `length` exceeds 255 × Nh.
    package func expand(prk: [UInt8], info: [UInt8], length: Int) throws(PrimitivesError) -> [UInt8] {
        let n = self.hash.outputSize
        guard length >= 0, length <= 255 * n else {
            throw PrimitivesError(.invalidLength, "HKDF-Expand of \(length) bytes")
        }
        var output: [UInt8] = []
        output.reserveCapacity(length + n)
        var block: [UInt8] = []
        var counter: UInt8 = 1
        prk.withUnsafeBytes { key in
            while output.count < length {
                block = self.hash.hmac(key: key, block, info, [counter])
                output += block
                counter &+= 1
            }
        }
        return Array(output.prefix(length))
    }
}
