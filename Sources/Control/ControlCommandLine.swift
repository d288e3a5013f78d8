/// A command line as typed (in gwctl's REPL or as its arguments), parsed against the
/// registry: words may be abbreviated to unique prefixes (`dev l` is `device list`), options are
/// `--name value`, `--name=value`, `-n value` or flags, `--` ends them. A value type; no I/O.
package struct ParsedCommand: Sendable, Hashable {
    package var command: ControlCommand
    package var arguments: [String]
    package var options: [String: String]

    package init(command: ControlCommand, arguments: [String], options: [String: String]) {
        self.command = command
        self.arguments = arguments
        self.options = options
    }

    package func request(id: Int64) -> ControlProtocol.Request {
        ControlProtocol.Request(id: id, command: self.command.name, arguments: self.arguments, options: self.options)
    }

    package var flag: (String) -> Bool { { self.options[$0] == "true" } }
}

package enum ControlCommandLine {
    /// Splits a line into words: blanks separate, single and double quotes group, a backslash
    /// escapes the next character.
    ///
    /// - Throws: ``ControlError`` `bad_arguments` for an unterminated quote.
    package static func tokenize(_ line: String) throws(ControlError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                inWord = true
            } else if character == "\\" && quote != "'" {
                escaped = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { throw ControlError(.badArguments, "unterminated quote or trailing backslash") }
        if inWord { words.append(current) }
        return words
    }

    /// The command the leading words name (abbreviations resolved) and the words after it.
    ///
    /// - Throws: ``ControlError`` `unknown_command` (with what would be accepted there).
    package static func resolve(_ tokens: [String]) throws(ControlError) -> (command: ControlCommand, rest: [String]) {
        var prefix: [String] = []
        var index = 0
        while true {
            let candidates = ControlCommands.all.filter { $0.words.starts(with: prefix) }
            let exact = candidates.first { $0.words == prefix }
            let next = Set(candidates.compactMap { $0.words.count > prefix.count ? $0.words[prefix.count] : nil })
            guard index < tokens.count else {
                if let exact { return (exact, []) }
                if prefix.isEmpty { throw ControlError(.unknownCommand, "no command given (try help)") }
                throw ControlError(
                    .unknownCommand,
                    "\(prefix.joined(separator: " ")) what? (\(next.sorted().joined(separator: ", ")))"
                )
            }
            let token = tokens[index].lowercased()
            let matches = next.contains(token) ? [token] : next.filter { $0.hasPrefix(token) }.sorted()
            if matches.count == 1 {
                prefix.append(matches[0])
                index += 1
                continue
            }
            if let exact { return (exact, Array(tokens[index...])) }
            if matches.isEmpty {
                if prefix.isEmpty { throw ControlError(.unknownCommand, "unknown command '\(tokens[index])' (try help)") }
                throw ControlError(
                    .unknownCommand,
                    "\(prefix.joined(separator: " ")) has no '\(tokens[index])' (\(next.sorted().joined(separator: ", ")))"
                )
            }
            throw ControlError(.unknownCommand, "'\(tokens[index])' is ambiguous: \(matches.joined(separator: ", "))")
        }
    }

    /// Parses a line.
    package static func parse(line: String) throws(ControlError) -> ParsedCommand {
        try Self.parse(try Self.tokenize(line))
    }

    /// Parses words (gwctl's own arguments after its options).
    package static func parse(_ tokens: [String]) throws(ControlError) -> ParsedCommand {
        let (command, rest) = try Self.resolve(tokens)
        var arguments: [String] = []
        var options: [String: String] = [:]
        var index = 0
        var optionsEnded = false
        while index < rest.count {
            let token = rest[index]
            index += 1
            guard !optionsEnded, token.hasPrefix("-"), token.count > 1 else {
                arguments.append(token)
                continue
            }
            if token == "--" {
                optionsEnded = true
                continue
            }
            var name: String
            var inline: String?
            if token.hasPrefix("--") {
                name = String(token.dropFirst(2))
                if let equals = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: equals)...])
                    name = String(name[..<equals])
                }
            } else {
                name = String(token.dropFirst())
            }
            guard let option = command.options.first(where: { $0.name == name || ($0.short.map(String.init) == name) }) else {
                throw ControlError(.badArguments, "\(command.name) has no option \(token) (usage: \(command.usage))")
            }
            if option.value == nil {
                guard inline == nil else { throw ControlError(.badArguments, "--\(option.name) takes no value") }
                options[option.name] = "true"
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard index < rest.count else {
                    throw ControlError(.badArguments, "--\(option.name) needs \(option.value ?? "a value")")
                }
                value = rest[index]
                index += 1
            }
            try Self.check(value, option.kind, "--\(option.name)")
            options[option.name] = value
        }
        let required = command.parameters.filter { !$0.optional }.count
        guard arguments.count >= required else {
            let missing = command.parameters[arguments.count].name
            throw ControlError(.badArguments, "\(command.name) needs \(missing) (usage: \(command.usage))")
        }
        guard arguments.count <= command.parameters.count else {
            throw ControlError(
                .badArguments,
                "\(command.name) takes \(command.parameters.count) argument(s) (usage: \(command.usage))"
            )
        }
        for (argument, parameter) in zip(arguments, command.parameters) {
            try Self.check(argument, parameter.kind, parameter.name)
        }
        return ParsedCommand(command: command, arguments: arguments, options: options)
    }

    /// Checks a value's form (ids are hex, prefixes allowed; counts are positive).
    static func check(_ value: String, _ kind: ControlCommand.Kind, _ what: String) throws(ControlError) {
        func isHex(_ text: String) -> Bool { !text.isEmpty && text.count <= 64 && text.allSatisfy(\.isHexDigit) }
        switch kind {
        case .conversation, .user, .device:
            guard isHex(value) else {
                throw ControlError(.badArguments, "\(what): '\(value)' is not a hex id (or a prefix of one)")
            }
        case .session:
            guard UInt64(value) != nil else { throw ControlError(.badArguments, "\(what): '\(value)' is not a session number") }
        case .sessionOrDevice:
            guard UInt64(value) != nil || isHex(value) else {
                throw ControlError(.badArguments, "\(what): '\(value)' is neither a session number nor a device id")
            }
        case .deviceOrIP:
            guard isHex(value) || value.contains(".") || value.contains(":") else {
                throw ControlError(.badArguments, "\(what): '\(value)' is neither a device id nor an IP address")
            }
        case .count:
            guard let count = Int(value), count > 0 else {
                throw ControlError(.badArguments, "\(what): '\(value)' is not a positive number")
            }
        case .command, .text:
            break
        }
    }

    /// Whether a session-or-device value names a session.
    package static func isSession(_ value: String) -> Bool { value.count <= 20 && UInt64(value) != nil }
}

extension ControlCommandLine {
    /// A request as the daemon receives it, checked against the registry like a typed line.
    ///
    /// - Throws: ``ControlError`` `unknown_command` or `bad_arguments`.
    package static func validate(_ request: ControlProtocol.Request) throws(ControlError) -> ParsedCommand {
        guard let name = request.command, let command = ControlCommands.named(name) else {
            throw ControlError(.unknownCommand, "unknown command '\(request.command ?? "")' (try help)")
        }
        let arguments = request.arguments ?? []
        let options = request.options ?? [:]
        guard arguments.count >= command.parameters.filter({ !$0.optional }).count, arguments.count <= command.parameters.count
        else {
            throw ControlError(
                .badArguments,
                "\(command.name) takes \(command.parameters.count) argument(s) (usage: \(command.usage))"
            )
        }
        for (argument, parameter) in zip(arguments, command.parameters) {
            try Self.check(argument, parameter.kind, parameter.name)
        }
        for (name, value) in options {
            guard let option = command.options.first(where: { $0.name == name }) else {
                throw ControlError(.badArguments, "\(command.name) has no option --\(name) (usage: \(command.usage))")
            }
            if option.value == nil {
                guard value == "true" else { throw ControlError(.badArguments, "--\(name) is a flag") }
            } else {
                try Self.check(value, option.kind, "--\(name)")
            }
        }
        return ParsedCommand(command: command, arguments: arguments, options: options)
    }
}
