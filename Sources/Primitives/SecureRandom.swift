import CSodium

/// The system's cryptographically secure random number generator (libsodium `randombytes_buf`,
/// which reads `getrandom(2)`).
package enum SecureRandom {
    /// `count` random bytes.
    package static func bytes(count: Int) -> [UInt8] {
        Primitives.initialize()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }
}
