/// Reads the TLS presentation language with MLS's variable-length vector headers
/// (RFC 9420 §2.1) from a byte array. `read…` methods consume; they throw on truncation.
package struct MLSReader {
    private let bytes: [UInt8]
    /// The next byte to read.
    package private(set) var offset: Int
    private let end: Int
    /// The structure being decoded, for error messages.
    private var context: Context

    /// A label, or a type whose name is rendered only when an error is made (rendering it for
    /// every nested read was 5 % of a 10,000-member Welcome join).
    private enum Context {
        case label(String)
        case type(Any.Type)

        var name: String {
            switch self {
            case .label(let label): label
            case .type(let type): String(describing: type)
            }
        }
    }

    package init(_ bytes: [UInt8], context: String = "MLS data") {
        self.init(bytes: bytes, offset: 0, end: bytes.count, context: .label(context))
    }

    /// A reader of `bytes` that names `type` in its errors.
    package init(_ bytes: [UInt8], decoding type: Any.Type) {
        self.init(bytes: bytes, offset: 0, end: bytes.count, context: .type(type))
    }

    private init(bytes: [UInt8], offset: Int, end: Int, context: Context) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
        self.context = context
    }

    /// Bytes left.
    package var remaining: Int { self.end - self.offset }
    package var isAtEnd: Bool { self.offset == self.end }

    func error(_ code: MLSDecodingError.Code, _ detail: String = "") -> MLSDecodingError {
        MLSDecodingError(code, type: self.context.name, offset: self.offset, detail: detail)
    }

    // MARK: Integers

    package mutating func readUInt8() throws(MLSDecodingError) -> UInt8 {
        guard self.offset < self.end else { throw self.error(.truncated, "uint8") }
        defer { self.offset += 1 }
        return self.bytes[self.offset]
    }

    package mutating func readUInt16() throws(MLSDecodingError) -> UInt16 {
        UInt16(try self.readBigEndian(2, "uint16"))
    }

    package mutating func readUInt32() throws(MLSDecodingError) -> UInt32 {
        UInt32(try self.readBigEndian(4, "uint32"))
    }

    package mutating func readUInt64() throws(MLSDecodingError) -> UInt64 {
        try self.readBigEndian(8, "uint64")
    }

    private mutating func readBigEndian(_ size: Int, _ name: String) throws(MLSDecodingError) -> UInt64 {
        guard self.remaining >= size else { throw self.error(.truncated, name) }
        var value: UInt64 = 0
        for index in self.offset..<(self.offset + size) { value = value << 8 | UInt64(self.bytes[index]) }
        self.offset += size
        return value
    }

    /// A variable-length integer (RFC 9420 §2.1.2): 1, 2 or 4 bytes, shortest form only.
    package mutating func readVarint() throws(MLSDecodingError) -> Int {
        let start = self.offset
        let first = try self.readUInt8()
        let prefix = first >> 6
        guard prefix != 3 else {
            self.offset = start
            throw self.error(.invalidVarint, "prefix 0b11")
        }
        let length = 1 << Int(prefix)
        var value = UInt64(first & 0x3F)
        for _ in 1..<length {
            value = value << 8 | UInt64(try self.readUInt8())
        }
        if prefix >= 1 && value < (1 << (8 * UInt64(length / 2) - 2)) {
            self.offset = start
            throw self.error(.nonMinimalVarint, "\(value) in \(length) bytes")
        }
        return Int(value)
    }

    // MARK: Bytes and vectors

    /// Exactly `count` bytes.
    package mutating func readBytes(_ count: Int) throws(MLSDecodingError) -> [UInt8] {
        guard count >= 0, self.remaining >= count else { throw self.error(.truncated, "\(count) bytes") }
        defer { self.offset += count }
        return Array(self.bytes[self.offset..<(self.offset + count)])
    }

    /// `opaque data<V>`.
    package mutating func readOpaque() throws(MLSDecodingError) -> [UInt8] {
        let length = try self.readVarint()
        return try self.readBytes(length)
    }

    /// A vector `T items<V>`: the length header, then elements until exactly that many bytes.
    package mutating func readVector<T>(
        _ element: (inout MLSReader) throws(MLSDecodingError) -> T
    ) throws(MLSDecodingError) -> [T] {
        let length = try self.readVarint()
        guard self.remaining >= length else { throw self.error(.truncated, "vector of \(length) bytes") }
        var inner = MLSReader(bytes: self.bytes, offset: self.offset, end: self.offset + length, context: self.context)
        var items: [T] = []
        while !inner.isAtEnd {
            items.append(try element(&inner))
        }
        self.offset += length
        return items
    }

    /// A vector of ``MLSDecodable`` elements.
    package mutating func readVector<T: MLSDecodable>(of type: T.Type) throws(MLSDecodingError) -> [T] {
        try self.readVector { (reader: inout MLSReader) throws(MLSDecodingError) -> T in try T(from: &reader) }
    }

    /// `optional<T>`: a presence octet 0 or 1, then the value.
    package mutating func readOptional<T>(_ value: (inout MLSReader) throws(MLSDecodingError) -> T) throws(MLSDecodingError) -> T?
    {
        switch try self.readUInt8() {
        case 0: return nil
        case 1: return try value(&self)
        case let other:
            self.offset -= 1
            throw self.error(.invalidOptional, "presence octet \(other)")
        }
    }

    /// `optional<T>` of an ``MLSDecodable``.
    package mutating func readOptional<T: MLSDecodable>(of type: T.Type) throws(MLSDecodingError) -> T? {
        try self.readOptional { (reader: inout MLSReader) throws(MLSDecodingError) -> T in try T(from: &reader) }
    }

    /// Decodes a nested structure, naming it in errors.
    package mutating func read<T: MLSDecodable>(_ type: T.Type) throws(MLSDecodingError) -> T {
        let outer = self.context
        self.context = .type(T.self)
        defer { self.context = outer }
        return try T(from: &self)
    }

    /// The rest of the input (for padding).
    package mutating func readRemaining() -> [UInt8] {
        defer { self.offset = self.end }
        return Array(self.bytes[self.offset..<self.end])
    }
}
