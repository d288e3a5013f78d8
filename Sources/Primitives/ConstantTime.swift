import CSodium

/// Comparisons whose timing does not depend on where inputs differ.
package enum ConstantTime {
    /// Whether `a` and `b` are equal; different lengths are unequal (the length is not secret).
    package static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    /// Whether `a` and `b` are equal.
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in Self.equal(x, y) } }
    }
}
