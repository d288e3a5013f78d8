/// A key the terminal UI acts on.
package enum Key: Sendable, Hashable {
    case text(String)
    case enter
    case backspace
    case tab
    case up, down, pageUp, pageDown
    /// Ctrl-C, or Ctrl-D on an empty line.
    case interrupt
    case endOfInput
    /// Ctrl-U: clear the input line.
    case clearLine
    /// Ctrl-L: repaint.
    case redraw
    /// Ctrl-S: save the newest file shown (``ChatScreen/fileInView``).
    case saveFile
}

/// Turns the bytes a terminal in raw mode sends into ``Key``s: UTF-8 text, control keys and
/// the common escape sequences (arrows, page up/down in both VT and xterm forms). A value:
/// bytes may arrive split anywhere; the rest waits for more.
package struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    package init() {}

    /// Keys for `bytes` appended to what is pending.
    package mutating func feed(_ bytes: [UInt8]) -> [Key] {
        self.pending += bytes
        var keys: [Key] = []
        var index = 0
        let bytes = self.pending
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x0d, 0x0a:
                keys.append(.enter)
                index += 1
            case 0x7f, 0x08:
                keys.append(.backspace)
                index += 1
            case 0x09:
                keys.append(.tab)
                index += 1
            case 0x03:
                keys.append(.interrupt)
                index += 1
            case 0x04:
                keys.append(.endOfInput)
                index += 1
            case 0x15:
                keys.append(.clearLine)
                index += 1
            case 0x0c:
                keys.append(.redraw)
                index += 1
            case 0x13:  // Ctrl-S (raw mode turns flow control off: it reaches us)
                keys.append(.saveFile)
                index += 1
            case 0x0e:  // Ctrl-N
                keys.append(.down)
                index += 1
            case 0x10:  // Ctrl-P
                keys.append(.up)
                index += 1
            case 0x1b:
                guard let (key, length) = Self.escape(bytes[index...]) else {
                    self.pending = Array(bytes[index...])
                    return keys
                }
                if let key { keys.append(key) }
                index += length
            case 0x00..<0x20:
                index += 1  // other control characters: ignored
            default:
                let length = Self.utf8Length(byte)
                guard index + length <= bytes.count else {
                    self.pending = Array(bytes[index...])
                    return keys
                }
                let text = String(decoding: bytes[index..<(index + length)], as: UTF8.self)
                if case .text(let previous)? = keys.last {
                    keys[keys.count - 1] = .text(previous + text)
                } else {
                    keys.append(.text(text))
                }
                index += length
            }
        }
        self.pending = []
        return keys
    }

    /// An escape sequence at the start of `bytes`: the key (nil: one we ignore) and its length,
    /// or nil when it is incomplete.
    static func escape(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let start = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        let second = bytes[start + 1]
        guard second == UInt8(ascii: "[") || second == UInt8(ascii: "O") else {
            return (nil, 1)  // a lone Escape (or Alt-something): ignored
        }
        // CSI: parameters (digits, ';') then one final byte in 0x40...0x7e.
        var index = start + 2
        while index < bytes.endIndex, (0x30...0x3f).contains(bytes[index]) { index += 1 }
        guard index < bytes.endIndex else { return nil }
        let final = bytes[index]
        let parameters = String(decoding: bytes[(start + 2)..<index], as: UTF8.self)
        let length = index - start + 1
        switch (final, parameters) {
        case (UInt8(ascii: "A"), _): return (.up, length)
        case (UInt8(ascii: "B"), _): return (.down, length)
        case (UInt8(ascii: "~"), "5"): return (.pageUp, length)
        case (UInt8(ascii: "~"), "6"): return (.pageDown, length)
        default: return (nil, length)
        }
    }

    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xc0..<0xe0: 2
        case 0xe0..<0xf0: 3
        case 0xf0..<0xf8: 4
        default: 1
        }
    }
}
