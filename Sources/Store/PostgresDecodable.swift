/// A Swift type that a result cell can be decoded into, from text or binary format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value.
    static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Self
    /// Decodes NULL. The default throws; `Optional` returns `nil`.
    static func decodeNull(column: PostgresColumn) throws(PostgresError) -> Self
}

extension PostgresDecodable {
    public static func decodeNull(column: PostgresColumn) throws(PostgresError) -> Self {
        throw PostgresError(code: .decoding, message: "column \(column.name) is NULL; decode an Optional")
    }

    static func mismatch(_ column: PostgresColumn, _ why: String = "") -> PostgresError {
        decodingMismatch(Self.self, column, why)
    }
}

// MARK: - Optional

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Self {
        try Wrapped.decode(from: bytes, column: column)
    }

    public static func decodeNull(column: PostgresColumn) throws(PostgresError) -> Self { nil }
}

// MARK: - String

extension String: PostgresDecodable {
    /// Any value in text format; textual types and `jsonb` in binary format.
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> String {
        switch column.format {
        case .text:
            return String(decoding: bytes, as: UTF8.self)
        case .binary:
            if column.dataType.isTextual {
                return String(decoding: bytes, as: UTF8.self)
            }
            if column.dataType == .jsonb, bytes.first == 1 {
                return String(decoding: bytes.dropFirst(), as: UTF8.self)
            }
            throw Self.mismatch(column)
        }
    }
}

// MARK: - Integers

extension FixedWidthInteger where Self: SignedInteger {
    static func decodeInteger(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Self {
        switch column.format {
        case .text:
            guard let value = Self(String(decoding: bytes, as: UTF8.self)) else {
                throw decodingMismatch(Self.self, column, "not an integer in range")
            }
            return value
        case .binary:
            let wide: Int64
            switch (column.dataType, bytes.count) {
            case (.int2, 2): wide = Int64(Int16(bitPattern: UInt16(bigEndianBytes: bytes)))
            case (.int4, 4): wide = Int64(Int32(bitPattern: UInt32(bigEndianBytes: bytes)))
            case (.int8, 8): wide = Int64(bitPattern: UInt64(bigEndianBytes: bytes))
            case (.oid, 4): wide = Int64(UInt32(bigEndianBytes: bytes))
            default: throw decodingMismatch(Self.self, column)
            }
            guard let value = Self(exactly: wide) else {
                throw decodingMismatch(Self.self, column, "out of range")
            }
            return value
        }
    }
}

extension Int64: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Int64 {
        try Self.decodeInteger(from: bytes, column: column)
    }
}

extension Int: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Int {
        try Self.decodeInteger(from: bytes, column: column)
    }
}

extension Int32: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Int32 {
        try Self.decodeInteger(from: bytes, column: column)
    }
}

extension Int16: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Int16 {
        try Self.decodeInteger(from: bytes, column: column)
    }
}

// MARK: - Bool

extension Bool: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Bool {
        switch (column.format, Array(bytes)) {
        case (.binary, [0]), (.text, [UInt8(ascii: "f")]): return false
        case (.binary, [1]), (.text, [UInt8(ascii: "t")]): return true
        default: throw Self.mismatch(column)
        }
    }
}

// MARK: - Floating point

extension Double: PostgresDecodable {
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> Double {
        switch (column.format, column.dataType, bytes.count) {
        case (.binary, .float8, 8): return Double(bitPattern: UInt64(bigEndianBytes: bytes))
        case (.binary, .float4, 4): return Double(Float(bitPattern: UInt32(bigEndianBytes: bytes)))
        case (.text, _, _):
            guard let value = Double(String(decoding: bytes, as: UTF8.self)) else { throw Self.mismatch(column) }
            return value
        default: throw Self.mismatch(column)
        }
    }
}

// MARK: - bytea

extension Array: PostgresDecodable where Element == UInt8 {
    /// `bytea` in binary format (raw) or text format (`\x` hex).
    public static func decode(from bytes: ArraySlice<UInt8>, column: PostgresColumn) throws(PostgresError) -> [UInt8] {
        switch column.format {
        case .binary:
            return Array(bytes)
        case .text:
            guard bytes.count >= 2, bytes.first == UInt8(ascii: "\\"), bytes[bytes.startIndex + 1] == UInt8(ascii: "x"),
                bytes.count % 2 == 0
            else {
                throw Self.mismatch(column, "expected \\x hex text")
            }
            var out: [UInt8] = []
            out.reserveCapacity((bytes.count - 2) / 2)
            var index = bytes.startIndex + 2
            while index < bytes.endIndex {
                guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else {
                    throw Self.mismatch(column, "bad hex digit")
                }
                out.append(high << 4 | low)
                index += 2
            }
            return out
        }
    }
}

/// The error for a value that cannot become `type`; names the column, never the value.
func decodingMismatch(_ type: Any.Type, _ column: PostgresColumn, _ why: String = "") -> PostgresError {
    let suffix = why.isEmpty ? "" : ": \(why)"
    return PostgresError(
        code: .decoding,
        message: "cannot decode column \(column.name) (\(column.dataType), \(column.format)) as \(type)\(suffix)"
    )
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

extension FixedWidthInteger where Self: UnsignedInteger {
    /// Reads a big-endian integer from exactly `MemoryLayout<Self>.size` bytes.
    init(bigEndianBytes bytes: ArraySlice<UInt8>) {
        var value: Self = 0
        for byte in bytes { value = value << 8 | Self(byte) }
        self = value
    }
}
