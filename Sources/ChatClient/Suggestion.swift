/// "Did you mean …?" for mistyped words: the candidates closest to a word by edit distance
/// (insertions, deletions, substitutions and swaps of neighbours each count 1).
package enum Suggestion {
    /// The candidates nearest to `word`, if within `limit` edits (in the given order).
    package static func closest(to word: String, among candidates: [String], limit: Int = 2) -> [String] {
        let scored = candidates.map { ($0, Self.distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.map(\.1).min(), best <= limit else { return [] }
        return scored.filter { $0.1 == best }.map(\.0)
    }

    /// The optimal-string-alignment distance between two words.
    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
