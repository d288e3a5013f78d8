/// How gwctl shows a command's result: lists as tables, records as aligned fields followed by
/// their tables, `config show` as sections. The same for every command, driven by the
/// registry's `columns`, `fields` and `tables`.
package enum ControlRendering {
    package static func render(_ result: ControlValue, of command: ControlCommand, width: Int, color: Bool) -> String {
        if let items = result["items"]?.array {
            guard !items.isEmpty else { return "(none)" }
            let columns = command.columns.isEmpty ? Self.keys(items) : command.columns
            return ControlTable(columns: columns, rows: items.map { item in columns.map { item[$0]?.text ?? "" } })
                .render(width: width, color: color)
        }
        guard case .object(let object) = result else { return result.text }
        if command.fields.isEmpty, command.tables.isEmpty,
            object.values.allSatisfy({ if case .object = $0 { true } else { false } })
        {
            return Self.sections(object)
        }
        let tableFields = Set(command.tables.map(\.field))
        let order =
            command.fields.filter { object[$0] != nil }
            + object.keys.filter { !command.fields.contains($0) && !tableFields.contains($0) }.sorted()
        let labelWidth = (order.map(\.count).max() ?? 0) + 2
        var lines = order.map { key in
            let label = key + ":"
            return label + String(repeating: " ", count: max(1, labelWidth - label.count)) + ControlTable.clean(object[key]!.text)
        }
        for table in command.tables {
            guard let items = object[table.field]?.array else { continue }
            lines.append("")
            lines.append(color ? "\u{1b}[1m\(table.field):\u{1b}[0m" : "\(table.field):")
            if items.isEmpty {
                lines.append("  (none)")
            } else {
                let rendered = ControlTable(
                    columns: table.columns,
                    rows: items.map { item in table.columns.map { item[$0]?.text ?? "" } }
                )
                .render(width: width - 2, color: false)
                lines += rendered.split(separator: "\n").map { "  " + $0 }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Cells separated by two spaces, each but the last padded to its width (cells may be wider).
    package static func padded(_ cells: [String], _ widths: [Int]) -> String {
        var text = ""
        for (index, cell) in cells.enumerated() {
            if index > 0 { text += "  " }
            text += cell
            if index < cells.count - 1, index < widths.count, cell.count < widths[index] {
                text += String(repeating: " ", count: widths[index] - cell.count)
            }
        }
        return text
    }

    static func keys(_ items: [ControlValue]) -> [String] {
        var keys: [String] = []
        for item in items {
            if case .object(let object) = item { for key in object.keys.sorted() where !keys.contains(key) { keys.append(key) } }
        }
        return keys
    }

    /// `{"daemon": {"gateway_id": "…"}, …}` as `[daemon]` sections of `key = value` lines.
    static func sections(_ object: [String: ControlValue]) -> String {
        var lines: [String] = []
        for section in object.keys.sorted() {
            if !lines.isEmpty { lines.append("") }
            lines.append("[\(section)]")
            guard case .object(let keys) = object[section]! else { continue }
            for key in keys.keys.sorted() {
                let value = keys[key]!
                let shown =
                    switch value {
                    case .string(let text): "\"\(text)\""
                    case .bool(let flag): flag ? "true" : "false"
                    default: value.text
                    }
                lines.append("\(key) = \(shown)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
