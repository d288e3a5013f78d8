/// A table fitted to a terminal's width: columns as wide as their widest cell, the widest
/// shrunk first (cells cut with "…") until the table fits; headers in capitals, bold with
/// colour. A value; `render` does no I/O.
package struct ControlTable: Sendable, Hashable {
    package var columns: [String]
    package var rows: [[String]]

    package init(columns: [String], rows: [[String]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The narrowest a column gets.
    static let minimumWidth = 6

    package func render(width: Int, color: Bool) -> String {
        guard !self.columns.isEmpty else { return "" }
        let headers = self.columns.map { $0.uppercased() }
        var widths = headers.map(\.count)
        for row in self.rows {
            for (index, cell) in row.prefix(widths.count).enumerated() {
                widths[index] = max(widths[index], Self.clean(cell).count)
            }
        }
        let gaps = 2 * (widths.count - 1)
        while widths.reduce(0, +) + gaps > width {
            guard let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > Self.minimumWidth else {
                break
            }
            widths[widest] -= 1
        }
        var lines: [String] = []
        let header = Self.line(headers, widths)
        lines.append(color ? "\u{1b}[1m\(header)\u{1b}[0m" : header)
        for row in self.rows { lines.append(Self.line(row.map(Self.clean), widths)) }
        return lines.joined(separator: "\n")
    }

    static func line(_ cells: [String], _ widths: [Int]) -> String {
        var parts: [String] = []
        for (index, width) in widths.enumerated() {
            let cell = index < cells.count ? cells[index] : ""
            let fitted = cell.count > width ? String(cell.prefix(max(0, width - 1))) + "…" : cell
            parts.append(index == widths.count - 1 ? fitted : fitted + String(repeating: " ", count: width - fitted.count))
        }
        var text = parts.joined(separator: "  ")
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    /// Control characters (from names users chose) never reach the terminal.
    package static func clean(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\u{FFFD}" : $0 }))
    }
}
