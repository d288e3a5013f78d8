import ArgumentParser
import BuildInfo
import ChatClient
import ChatInstance
import ChatTerminal
import Foundation

/// `polychat`: the user's client for the Polycentric feed and end-to-end-encrypted chat.
/// Parsing and printing only; the work is in `ChatClient` and `ChatTerminal`.
@main
struct Polychat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polychat",
        abstract: "Feed and end-to-end-encrypted chat (MLS) from a terminal.",
        discussion: """
            With no command, opens the terminal UI (see 'polychat chat --help'). State lives in \
            $POLYCHAT_HOME, else $XDG_DATA_HOME/polychat, else ~/.local/share/polychat, encrypted \
            at rest. Users are named by their id (64 hex characters, as 'polychat whoami' prints) \
            or a unique prefix (4 or more characters) of a user you know: a conversation member, \
            contact or followed user. One process holds a state directory: while one runs (the UI, \
            'polychat daemon' or 'polychat listen'), the other commands go through it (polychat(1), \
            ONE RUNNING INSTANCE). Exit status: 0 done, 1 failed (the message says why), 3 a \
            server cannot be reached, 4 no identity yet, 5 the state directory is in use by a \
            polychat this command cannot go through, 6 this device was revoked, 7 rate limited, 8 \
            the gateway did not prove the key pinned for it (see 'polychat servers --help'), 64 \
            bad usage. See \
            polychat(1).
            """,
        version: "polychat \(PolygateVersion.string)",
        subcommands: [
            Initialize.self, Whoami.self, Identity.self, Servers.self,
            Sync.self, Post.self, Reply.self, Follow.self, Unfollow.self, Feed.self, Profile.self,
            Rooms.self, Room.self, DirectMessage.self, Send.self, Read.self, Files.self, Save.self, Chat.self,
            Contacts.self, Presence.self, Devices.self, Daemon.self, Listen.self,
        ],
        defaultSubcommand: Chat.self
    )

    /// The words that may come first: the commands, and `help`.
    static var commandNames: [String] {
        Self.configuration.subcommands.map { $0._commandName } + ["help"]
    }

    /// The first word must be a command (or an option): `polychat frobnicate` is a usage error
    /// with a suggestion, not a conversation named "frobnicate" for the terminal UI (that is
    /// `polychat chat CONV`).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, !first.hasPrefix("-"), !Self.commandNames.contains(first) {
            var message = "polychat: '\(first)' is not a polychat command"
            let near = Suggestion.closest(to: first, among: Self.commandNames)
            if !near.isEmpty { message += "; did you mean \(near.prefix(3).map { "'\($0)'" }.joined(separator: " or "))?" }
            printError(message + " (polychat --help lists the commands; polychat chat CONV opens a conversation)")
            Foundation.exit(64)
        }
        if let status = Self.throughRunningInstance(arguments) { Foundation.exit(status) }
        await Self.main(nil)
    }

    /// A command that may go through a running instance (daemon or UI) in its state directory,
    /// when one runs: sent to it, its output printed here; the exit status. Nil: run here.
    static func throughRunningInstance(_ arguments: [String]) -> Int32? {
        guard let command = try? Self.parseAsRoot(arguments), let routable = command as? any RoutableCommand,
            routable.isRoutable, let client = InstanceClient(directory: routable.state.directory)
        else { return nil }
        do throws(ChatError) {
            let cwd = StateDirectory.absolute(".")
            let result: InstanceProtocol.RunResult = try client.call(.run, InstanceProtocol.RunParams(argv: arguments, cwd: cwd))
            Terminal.write(result.stdout)
            Terminal.write(result.stderr, to: 2)
            return result.status
        } catch {
            printError(
                "polychat: \(error.message); the command may not have run: check (e.g. polychat read), then run it again"
            )
            return 1
        }
    }
}
