/// gwctl's help, from the registry alone (so it works with the daemon down): the overview,
/// `help WORDS…` (a command, or every command of a group such as `conv`), and what `?` shows
/// for a half-typed line. Values in, text out; no I/O.
package enum ControlHelp {
    /// `help` without words: every command with its summary, then how the console works.
    package static func overview(width: Int) -> String {
        let commands = ControlCommands.all.filter { $0.name != "complete" }
        let nameWidth = (commands.map(\.name.count).max() ?? 0) + 2
        var lines = ["Commands (words may be abbreviated to unique prefixes: `dev l` is `device list`):", ""]
        for command in commands {
            lines.append(Self.wrap("  " + command.name.padding(to: nameWidth), command.summary, width: width))
        }
        lines += [
            "",
            "help COMMAND shows a command's usage and options (help conv: every conv command).",
            "In the console: Tab completes commands, options and live ids; ? shows what fits where",
            "the cursor is; Up and Down recall history (~/.gwctl_history); Ctrl-C stops a",
            "command or clears the line; Ctrl-D or quit leaves.",
        ]
        return lines.joined(separator: "\n")
    }

    /// `help WORDS…`: one command's full help, or each of a group's.
    ///
    /// - Throws: ``ControlError`` `not_found` when the words name no command.
    package static func text(for words: [String], width: Int) throws(ControlError) -> String {
        guard !words.isEmpty else { return Self.overview(width: width) }
        let lowered = words.map { $0.lowercased() }
        if let (command, rest) = try? ControlCommandLine.resolve(lowered), rest.isEmpty {
            return Self.fitted(command.help, width: width)
        }
        let group = Self.matching(lowered)
        guard !group.isEmpty else { throw ControlError(.notFound, "no command \(words.joined(separator: " ")) (try help)") }
        return group.map { Self.fitted($0.help, width: width) }.joined(separator: "\n\n")
    }

    /// What `?` shows after `before` (the line up to the cursor): the commands that can follow,
    /// or, once a command is named, its usage and what the next word is.
    package static func context(before: String, width: Int) -> String {
        let tokens = (try? ControlCommandLine.tokenize(before)) ?? []
        let trailingBlank = before.last.map { $0 == " " || $0 == "\t" } ?? true
        var complete = tokens
        var partial = ""
        if !trailingBlank, let last = complete.popLast() { partial = last }
        if !complete.isEmpty, let (command, rest) = try? ControlCommandLine.resolve(complete) {
            return Self.next(for: command, after: rest)
        }
        // Still naming the command: what can come next (or what the partial word can become).
        let lowered = complete.map { $0.lowercased() }
        let candidates = ControlCommands.all.filter { command in
            guard command.name != "complete" else { return false }
            let words = command.words
            guard words.count > lowered.count else { return false }
            for (index, token) in lowered.enumerated() where !words[index].hasPrefix(token) { return false }
            return words[lowered.count].hasPrefix(partial.lowercased())
        }
        guard !candidates.isEmpty else { return "nothing fits here (help lists the commands)" }
        let nameWidth = min(40, (candidates.map(\.usage.count).max() ?? 0) + 2)
        return candidates.map { Self.wrap("  " + $0.usage.padding(to: nameWidth), $0.summary, width: width) }
            .joined(separator: "\n")
    }

    /// The command's usage, and what the next word would be.
    static func next(for command: ControlCommand, after rest: [String]) -> String {
        var lines = ["usage: \(command.usage)", "  \(command.summary)"]
        var positional = 0
        var skip = false
        for token in rest {
            if skip {
                skip = false
            } else if token.hasPrefix("-") {
                skip = command.options.first { "--\($0.name)" == token || $0.short.map { "-\($0)" } == token }?.value != nil
            } else {
                positional += 1
            }
        }
        if positional < command.parameters.count {
            let parameter = command.parameters[positional]
            lines.append("next: \(parameter.name)\(parameter.optional ? " (optional)" : "") — \(Self.describe(parameter.kind))")
        }
        for option in command.options {
            let flag = (option.short.map { "-\($0), " } ?? "") + "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
            lines.append("  \(flag.padding(to: 22))\(option.help)")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ kind: ControlCommand.Kind) -> String {
        switch kind {
        case .conversation: "a conversation id or a unique prefix of 4+ hex characters (Tab completes)"
        case .user: "a user's system key in hex, or a unique prefix of 4+ characters (Tab completes)"
        case .device: "a device id in hex, or a unique prefix of 4+ characters (Tab completes)"
        case .session: "a session number from conn list (Tab completes)"
        case .sessionOrDevice: "a session number from conn list, or a device id (Tab completes)"
        case .deviceOrIP: "a device id (Tab completes) or an IP address"
        case .command: "a command name"
        case .count: "a positive number"
        case .text: "text"
        }
    }

    /// Commands whose leading words start with the given ones (`co` matches every conv command).
    static func matching(_ words: [String]) -> [ControlCommand] {
        ControlCommands.all.filter { command in
            command.name != "complete" && command.words.count >= words.count
                && zip(command.words, words).allSatisfy { $0.hasPrefix($1) }
        }
    }

    /// Text whose long lines are wrapped to `width` (indented lines keep their indentation).
    static func fitted(_ text: String, width: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.count > width else { return String(line) }
            let indent = line.prefix { $0 == " " }
            return Self.wrap(String(indent), String(line.dropFirst(indent.count)), width: width)
        }.joined(separator: "\n")
    }

    /// `label` then `text`, wrapped under itself to `width`.
    static func wrap(_ label: String, _ text: String, width: Int) -> String {
        let room = max(20, width - label.count)
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + 1 + word.count > room {
                lines.append(current)
                current = String(word)
            } else {
                current = current.isEmpty ? String(word) : current + " " + word
            }
        }
        if !current.isEmpty { lines.append(current) }
        let indent = String(repeating: " ", count: label.count)
        return lines.enumerated().map { ($0.offset == 0 ? label : indent) + $0.element }.joined(separator: "\n")
    }
}
