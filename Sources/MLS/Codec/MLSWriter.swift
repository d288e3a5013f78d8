/// Writes the TLS presentation language with MLS's variable-length vector headers.
package struct MLSWriter {
    /// The bytes written so far.
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func writeUInt8(_ value: UInt8) { self.bytes.append(value) }

    package mutating func writeUInt16(_ value: UInt16) {
        self.bytes.append(UInt8(value >> 8))
        self.bytes.append(UInt8(value & 0xFF))
    }

    package mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { self.bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    package mutating func writeUInt64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { self.bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }

    /// A variable-length integer in its shortest form.
    package mutating func writeVarint(_ value: Int) {
        precondition(value >= 0 && value < 1 << 30, "MLS vectors are limited to 2^30 - 1 bytes")
        switch value {
        case ..<64:
            self.bytes.append(UInt8(value))
        case ..<16384:
            self.bytes.append(UInt8(0x40 | (value >> 8)))
            self.bytes.append(UInt8(value & 0xFF))
        default:
            self.bytes.append(UInt8(0x80 | (value >> 24)))
            self.bytes.append(UInt8((value >> 16) & 0xFF))
            self.bytes.append(UInt8((value >> 8) & 0xFF))
            self.bytes.append(UInt8(value & 0xFF))
        }
    }

    /// Raw bytes without a length.
    package mutating func writeBytes(_ bytes: [UInt8]) { self.bytes.append(contentsOf: bytes) }

    /// `opaque data<V>`.
    package mutating func writeOpaque(_ bytes: [UInt8]) {
        self.writeVarint(bytes.count)
        self.bytes.append(contentsOf: bytes)
    }

    /// A vector `T items<V>` whose elements `body` writes.
    package mutating func writeVector<C: Collection>(_ items: C, _ body: (inout MLSWriter, C.Element) -> Void) {
        var inner = MLSWriter()
        for item in items { body(&inner, item) }
        self.writeOpaque(inner.bytes)
    }

    /// A vector of ``MLSEncodable`` elements.
    package mutating func writeVector<C: Collection>(_ items: C) where C.Element: MLSEncodable {
        self.writeVector(items) { writer, item in item.encode(to: &writer) }
    }

    /// `optional<T>`.
    package mutating func writeOptional<T>(_ value: T?, _ body: (inout MLSWriter, T) -> Void) {
        if let value {
            self.bytes.append(1)
            body(&self, value)
        } else {
            self.bytes.append(0)
        }
    }

    /// `optional<T>` of an ``MLSEncodable``.
    package mutating func writeOptional<T: MLSEncodable>(_ value: T?) {
        self.writeOptional(value) { writer, value in value.encode(to: &writer) }
    }

    package mutating func write<T: MLSEncodable>(_ value: T) { value.encode(to: &self) }
}
