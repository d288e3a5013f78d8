/// What Tab offers in gwctl's REPL: command words, options, and live ids from the daemon for
/// the parameter being typed (through `ids`). A value-level function; no I/O of its own.
package enum ControlCompletion {
    /// Candidates for `word`, the word being typed, after `before` (the line up to it).
    ///
    /// - Parameter ids: live ids of a kind starting with a prefix (asked only when an id is wanted).
    package static func candidates(
        before: String,
        word: String,
        ids: (ControlCommand.Kind, String) -> [String]
    ) -> [String] {
        guard let tokens = try? ControlCommandLine.tokenize(before) else { return [] }
        // Still naming the command?
        var prefix: [String] = []
        var index = 0
        while index < tokens.count {
            let candidates = ControlCommands.all.filter { $0.words.starts(with: prefix) }
            let next = Set(candidates.compactMap { $0.words.count > prefix.count ? $0.words[prefix.count] : nil })
            let token = tokens[index].lowercased()
            let matches = next.contains(token) ? [token] : next.filter { $0.hasPrefix(token) }
            guard matches.count == 1 else { break }
            prefix.append(matches.first!)
            index += 1
        }
        let candidates = ControlCommands.all.filter { $0.words.starts(with: prefix) }
        let exact = candidates.first { $0.words == prefix }
        let next = Set(candidates.compactMap { $0.words.count > prefix.count ? $0.words[prefix.count] : nil })
        // Every word so far names part of a command, and a longer one can follow: its next word.
        if index == tokens.count, !next.isEmpty {
            return next.filter { $0.hasPrefix(word.lowercased()) }.sorted()
        }
        guard let command = exact else { return [] }
        let rest = Array(tokens[index...])
        // An option's value?
        if let last = rest.last, last.hasPrefix("-"), !last.contains("="),
            let option = command.options.first(where: { "--\($0.name)" == last || $0.short.map { "-\($0)" } == last }),
            option.value != nil
        {
            return Self.values(option.kind, word, ids)
        }
        if word.hasPrefix("-") {
            return command.options.map { "--\($0.name)" }.filter { $0.hasPrefix(word) }.sorted()
        }
        // The next positional parameter.
        var positional = 0
        var skip = false
        for token in rest {
            if skip {
                skip = false
                continue
            }
            if token.hasPrefix("-") {
                let option = command.options.first { "--\($0.name)" == token || $0.short.map { "-\($0)" } == token }
                skip = option?.value != nil
                continue
            }
            positional += 1
        }
        guard positional < command.parameters.count else { return [] }
        return Self.values(command.parameters[positional].kind, word, ids)
    }

    static func values(_ kind: ControlCommand.Kind, _ word: String, _ ids: (ControlCommand.Kind, String) -> [String]) -> [String]
    {
        switch kind {
        case .command:
            return Set(ControlCommands.all.map { $0.words[0] }).filter { $0.hasPrefix(word) }.sorted()
        case .conversation, .user, .device, .session, .deviceOrIP, .sessionOrDevice:
            return ids(kind, word.lowercased()).filter { $0.hasPrefix(word.lowercased()) }.sorted()
        case .count, .text:
            return []
        }
    }
}
