/// A public key as a set element hashed in one call over its bytes (`[UInt8]`'s own Hashable
/// feeds the hasher a byte at a time: a third of the key-uniqueness pass of a large join).
struct KeyBytes: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        self.bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
