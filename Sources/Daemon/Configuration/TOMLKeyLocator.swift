/// Finds the line on which a table or key is written, for error messages (TOMLKit parses values
/// but does not report where they came from).
///
/// It understands `[table]` headers, `key = value` lines with bare, quoted or dotted keys,
/// comments, and skips the inside of multi-line strings. A key it cannot place yields `nil`,
/// and the message then names the key alone.
struct TOMLKeyLocator {
    private var lines: [String: Int] = [:]

    init(source: String) {
        var table: [String] = []
        var multiline: String?
        for (index, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if let delimiter = multiline {
                if Self.count(delimiter, in: line) % 2 == 1 { multiline = nil }
                continue
            }
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                guard let close = line.firstIndex(of: "]") else { continue }
                table = Self.keyPath(line[line.index(after: line.startIndex)..<close])
                self.record(table, line: number)
                continue
            }
            guard let equals = Self.firstUnquotedEquals(in: line) else { continue }
            let key = Self.keyPath(line[..<equals])
            guard !key.isEmpty else { continue }
            self.record(table + key, line: number)
            let value = line[line.index(after: equals)...]
            for delimiter in ["\"\"\"", "'''"] where Self.count(delimiter, in: value) % 2 == 1 {
                multiline = delimiter
            }
        }
    }

    /// The line of `path` (`["http", "listen"]` or `["http"]` for the table header).
    func line(of path: [String]) -> Int? {
        self.lines[path.joined(separator: "\u{0}")]
    }

    private mutating func record(_ path: [String], line: Int) {
        let key = path.joined(separator: "\u{0}")
        if self.lines[key] == nil { self.lines[key] = line }
    }

    /// `a."b.c".d` → `["a", "b.c", "d"]`.
    private static func keyPath(_ text: Substring) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let q = quote {
                if character == q { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                parts.append(current)
                current = ""
            } else if character != " " && character != "\t" {
                current.append(character)
            }
        }
        parts.append(current)
        return parts.allSatisfy { !$0.isEmpty } ? parts : []
    }

    private static func firstUnquotedEquals(in line: Substring) -> Substring.Index? {
        var quote: Character?
        for index in line.indices {
            let character = line[index]
            if let q = quote {
                if character == q { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return nil
            } else if character == "=" {
                return index
            }
        }
        return nil
    }

    private static func count(_ needle: String, in text: Substring) -> Int {
        var count = 0
        var rest = text[...]
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
