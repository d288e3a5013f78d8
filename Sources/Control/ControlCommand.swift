/// One command of the control protocol, as both sides know it: its words, parameters and
/// options (for parsing, completion and help), whether it changes anything (refused on the
/// read-only socket, recorded in the audit ledger), and how its result is laid out.
package struct ControlCommand: Sendable, Hashable {
    /// What a parameter names: decides completion (live ids) and checks.
    package enum Kind: String, Sendable, Hashable {
        case conversation, user, device, session
        /// A device id or an IP address (`ratelimit`).
        case deviceOrIP = "device-or-ip"
        /// A session id or a device id (`conn kick`).
        case sessionOrDevice = "session-or-device"
        /// A command name (`help`).
        case command
        case count
        case text
    }

    package struct Parameter: Sendable, Hashable {
        package var name: String
        package var kind: Kind
        package var optional: Bool
    }

    package struct Option: Sendable, Hashable {
        package var name: String
        package var short: Character?
        /// The value's placeholder; nil for a flag.
        package var value: String?
        package var kind: Kind
        package var help: String
    }

    /// A table inside a record result (`conv show`'s members).
    package struct Table: Sendable, Hashable {
        package var field: String
        package var columns: [String]
    }

    /// "conv show".
    package var name: String
    package var summary: String
    package var details: String
    package var parameters: [Parameter]
    package var options: [Option]
    package var mutating: Bool
    /// Sends events until cancelled (`ledger tail --follow`).
    package var streams: Bool
    /// List results: `{"items": [...]}` shown with these columns, in this order.
    package var columns: [String]
    /// Record results: these fields first, in this order, then the tables.
    package var fields: [String]
    package var tables: [Table]

    package var words: [String] { self.name.split(separator: " ").map(String.init) }

    /// "conv show CONV [--member USER]".
    package var usage: String {
        var parts = [self.name]
        for parameter in self.parameters {
            parts.append(parameter.optional ? "[\(parameter.name)]" : parameter.name)
        }
        for option in self.options {
            let flag = option.short.map { "-\($0)|--\(option.name)" } ?? "--\(option.name)"
            parts.append("[\(flag)\(option.value.map { " \($0)" } ?? "")]")
        }
        return parts.joined(separator: " ")
    }

    /// What `help COMMAND` prints.
    package var help: String {
        var lines = ["usage: \(self.usage)", "", self.summary]
        if !self.details.isEmpty { lines += ["", self.details] }
        if !self.options.isEmpty {
            lines.append("")
            for option in self.options {
                let flag =
                    (option.short.map { "-\($0), " } ?? "    ") + "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
                lines.append("  " + flag.padding(to: 24) + option.help)
            }
        }
        if self.mutating { lines += ["", "Changes state: refused on the read-only socket, recorded in the audit ledger."] }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(to width: Int) -> String {
        self.count >= width ? self + " " : self + String(repeating: " ", count: width - self.count)
    }
}
