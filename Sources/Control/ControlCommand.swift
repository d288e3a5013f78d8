/// One command of the control protocol, as both sides know it: its words, parameters and
/// options (for parsing, completion and help), whether it changes anything (refused on the
/// read-only socket, recorded in the audit ledger), and how its result is laid out.
public struct ControlCommand: Sendable, Hashable {
    /// What a parameter names: decides completion (live ids) and checks.
    public enum Kind: String, Sendable, Hashable {
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

    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var kind: Kind
        public var optional: Bool
    }

    public struct Option: Sendable, Hashable {
        public var name: String
        public var short: Character?
        /// The value's placeholder; nil for a flag.
        public var value: String?
        public var kind: Kind
        public var help: String
    }

    /// A table inside a record result (`conv show`'s members).
    public struct Table: Sendable, Hashable {
        public var field: String
        public var columns: [String]
    }

    /// "conv show".
    public var name: String
    public var summary: String
    public var details: String
    public var parameters: [Parameter]
    public var options: [Option]
    public var mutating: Bool
    /// Sends events until cancelled (`ledger tail --follow`).
    public var streams: Bool
    /// List results: `{"items": [...]}` shown with these columns, in this order.
    public var columns: [String]
    /// Record results: these fields first, in this order, then the tables.
    public var fields: [String]
    public var tables: [Table]

    public var words: [String] { self.name.split(separator: " ").map(String.init) }

    /// "conv show CONV [--member USER]".
    public var usage: String {
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
    public var help: String {
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
