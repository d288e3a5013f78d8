/// A command typed on the terminal UI's input line (a line that starts with `/`). A value: the
/// UI acts on it (``TerminalChat``); parsing is tested without a terminal.
package enum SlashCommand: Equatable, Sendable {
    case quit
    case help
    /// `/dm USER TEXT`: a direct message (starts the DM), and opens it.
    case directMessage(user: String, text: String)
    /// `/join CONV`: opens a conversation; a name no conversation has creates a room.
    case join(String)
    /// `/invite USER`: adds a user to the open room.
    case invite(String)
    /// `/leave`: leaves the open conversation.
    case leave
    /// `/invisible` (or `/invisible on|off`) and `/visible`.
    case invisible(Bool)
    /// `/save FILE [PATH]`: saves a file of the open conversation (its id prefix or name).
    case save(file: String, path: String?)

    /// What `/help` shows (in the notice line, which wraps it).
    package static let helpText =
        "/dm USER TEXT  /join CONV  /invite USER  /leave  /save FILE [PATH]  /invisible [on|off]  /visible  /quit  "
        + "(Ctrl-S saves the newest file on screen)"

    /// Parses a line that starts with `/`; the error says what is wrong and what to type.
    package static func parse(_ line: String) -> Result<SlashCommand, Problem> {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = words.first?.dropFirst().lowercased(), !name.isEmpty else {
            return .failure(Problem("type a command after /"))
        }
        let rest = Array(words.dropFirst())
        switch name {
        case "quit", "q", "exit": return .success(.quit)
        case "help", "h", "?": return .success(.help)
        case "dm", "msg":
            guard rest.count >= 2 else { return .failure(Problem("usage: /dm USER TEXT")) }
            // The text as typed after the user (spaces kept).
            var afterUser = Substring(line)
            for _ in 0..<2 {
                afterUser = afterUser.drop { (character: Character) in character == " " }
                afterUser = afterUser.drop { (character: Character) in character != " " }
            }
            return .success(.directMessage(user: rest[0], text: String(afterUser.dropFirst())))
        case "join", "j", "open":
            guard rest.count == 1 else { return .failure(Problem("usage: /join CONV (a room's name, an id prefix or @user)")) }
            return .success(.join(rest[0]))
        case "invite", "add":
            guard rest.count == 1 else { return .failure(Problem("usage: /invite USER (to the open room)")) }
            return .success(.invite(rest[0]))
        case "leave", "part":
            guard rest.isEmpty else { return .failure(Problem("usage: /leave (leaves the open conversation)")) }
            return .success(.leave)
        case "invisible":
            switch rest.first?.lowercased() {
            case nil, "on": return .success(.invisible(true))
            case "off": return .success(.invisible(false))
            default: return .failure(Problem("usage: /invisible [on|off]"))
            }
        case "visible":
            return .success(.invisible(false))
        case "save":
            guard (1...2).contains(rest.count) else {
                return .failure(Problem("usage: /save FILE [PATH] (a file of the open conversation)"))
            }
            return .success(.save(file: rest[0], path: rest.count == 2 ? rest[1] : nil))
        default:
            return .failure(Problem("no command /\(name): /help lists them"))
        }
    }

    /// Why a line is not a command.
    package struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }
}
