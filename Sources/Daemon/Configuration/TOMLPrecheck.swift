/// Refuses, before parsing, the text that makes the TOML parser under TOMLKit abort instead of
/// reporting an error (found by `fuzz-config`: an assertion, with a core dump, in release
/// builds too): a table header or key that does not start with a bare-key character or a
/// quote — `[`daemon]`, `[ü]`, `{ ?a = 1 }` —, a '}' inside an array — `a = [}` — and, since
/// polygated's names are all ASCII, any character outside ASCII that is not inside a string or a
/// comment.
enum TOMLPrecheck {
    /// The first such problem: its 1-based line and what is wrong; nil when there is none.
    static func problem(in text: String) -> (line: Int, message: String)? {
        enum Place { case bare, comment, basic, literal, multilineBasic, multilineLiteral }
        let scalars = Array(text.unicodeScalars)
        var place = Place.bare
        var line = 1
        var index = 0
        var lineStart = true
        var expectKey = false
        var inKey = false
        var header = false
        var nesting: [Unicode.Scalar] = []
        func starts(_ quote: String, at position: Int) -> Bool {
            let needle = Array(quote.unicodeScalars)
            return position + needle.count <= scalars.count && Array(scalars[position..<position + needle.count]) == needle
        }
        func isBareKey(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
                    || scalar == "-")
        }
        func shown(_ scalar: Unicode.Scalar) -> String {
            scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F
                ? "'\(scalar)'" : "U+\(String(scalar.value, radix: 16, uppercase: true))"
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                line += 1
                if place == .comment || place == .basic || place == .literal { place = .bare }
                if place == .bare, expectKey || (header && inKey) {
                    return (line - 1, "the line ends inside a \(header ? "table name" : "key")")
                }
                if place == .bare, nesting.isEmpty {
                    lineStart = true
                    inKey = false
                    header = false
                    expectKey = false
                }
                index += 1
                continue
            }
            switch place {
            case .bare:
                if scalar == " " || scalar == "\t" { break }
                if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" { break }
                if lineStart {
                    lineStart = false
                    if scalar == "#" {
                        place = .comment
                        break
                    }
                    if scalar == "[" {
                        header = true
                        inKey = true
                        expectKey = true
                        if index + 1 < scalars.count, scalars[index + 1] == "[" { index += 1 }
                        break
                    }
                    inKey = true
                    expectKey = true
                }
                if expectKey {
                    expectKey = false
                    if scalar == "}", nesting.last == "{" {
                        nesting.removeLast()
                        inKey = false
                        break
                    }
                    guard isBareKey(scalar) || scalar == "\"" || scalar == "'" else {
                        return (
                            line,
                            "\(shown(scalar)) cannot start a \(header ? "table name" : "key"); names are ASCII letters, digits, '_' and '-', or quoted"
                        )
                    }
                }
                if !scalar.isASCII {
                    return (line, "\(shown(scalar)) outside a quoted string; names are ASCII letters, digits, '_' and '-'")
                }
                if starts("\"\"\"", at: index) {
                    place = .multilineBasic
                    index += 3
                    continue
                }
                if starts("'''", at: index) {
                    place = .multilineLiteral
                    index += 3
                    continue
                }
                switch scalar {
                case "#": place = .comment
                case "\"": place = .basic
                case "'": place = .literal
                case "." where inKey: expectKey = true
                case "=" where inKey && !header: inKey = false
                case "]" where inKey && header: inKey = false
                case "[" where !inKey: nesting.append("[")
                case "{" where !inKey:
                    nesting.append("{")
                    inKey = true
                    expectKey = true
                case "," where !inKey && nesting.last == "{":
                    inKey = true
                    expectKey = true
                case "}" where !inKey && nesting.last == "[":
                    // The parser takes a '}' where an array's next value goes for the start of
                    // that value, and asserts that it is not: `a = [}`, `a = [1, }`.
                    return (line, "'}' inside an array; an array ends with ']'")
                case "]" where !inKey, "}" where !inKey:
                    if !nesting.isEmpty { nesting.removeLast() }
                default: break
                }
            case .comment:
                break
            case .basic:
                if scalar == "\\" {
                    index += 2
                    continue
                }
                if scalar == "\"" { place = .bare }
            case .literal:
                if scalar == "'" { place = .bare }
            case .multilineBasic:
                if scalar == "\\" {
                    if index + 1 < scalars.count, scalars[index + 1] == "\n" { line += 1 }
                    index += 2
                    continue
                }
                if starts("\"\"\"", at: index) {
                    place = .bare
                    index += 3
                    continue
                }
            case .multilineLiteral:
                if starts("'''", at: index) {
                    place = .bare
                    index += 3
                    continue
                }
            }
            index += 1
        }
        return nil
    }
}
