/// Base64 (RFC 4648) in the two alphabets polygate uses: standard with `=` padding (Polycentric's
/// canonical ids and cache tags, the gateway's SSE frames), URL-safe without padding in
/// Polycentric query parameters.
package enum Base64 {
    package enum Alphabet: Sendable {
        /// `+/`, padded with `=`.
        case standard
        /// `-_`, no padding.
        case urlSafe
    }

    private static let standardTable = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafeTable = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes `bytes`.
    package static func encode(_ bytes: some Collection<UInt8>, _ alphabet: Alphabet) -> String {
        let table = alphabet == .standard ? Self.standardTable : Self.urlSafeTable
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            index += 3
        }
        let rest = input.count - index
        if rest > 0 {
            let n = UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0)
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)]]
            if rest == 2 { out.append(table[Int(n >> 6 & 63)]) }
            if alphabet == .standard { out += Array(repeating: UInt8(ascii: "="), count: 3 - rest) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes either alphabet, padded or not (as upstream's decoders accept both); nil for any
    /// other character, misplaced padding or an impossible length.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var symbols: [UInt8] = []
        symbols.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let value = Self.value(c) else { return nil }
            symbols.append(value)
        }
        guard symbols.count % 4 != 1, padding == 0 || (symbols.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var index = 0
        while index + 4 <= symbols.count {
            let n =
                UInt32(symbols[index]) << 18 | UInt32(symbols[index + 1]) << 12 | UInt32(symbols[index + 2]) << 6
                | UInt32(symbols[index + 3])
            out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            index += 4
        }
        switch symbols.count - index {
        case 2:
            let n = UInt32(symbols[index]) << 18 | UInt32(symbols[index + 1]) << 12
            guard n & 0xFFFF == 0 else { return nil }  // non-canonical trailing bits
            out.append(UInt8(n >> 16 & 0xFF))
        case 3:
            let n = UInt32(symbols[index]) << 18 | UInt32(symbols[index + 1]) << 12 | UInt32(symbols[index + 2]) << 6
            guard n & 0xFF == 0 else { return nil }
            out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF)]
        default: break
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"), UInt8(ascii: "-"): 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
