import BuildInfo
import ArgumentParser

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
            at rest. Users are named by their id (64 hex characters, as 'polychat whoami' prints). \
            Exit status: 0 done, 1 failed (the message says why), 3 a server cannot be reached, \
            4 no identity yet, 5 the state directory is in use, 64 bad usage. See polychat(1).
            """,
        version: "polychat \(PolygateVersion.string)",
        subcommands: [
            Initialize.self, Whoami.self, Identity.self, Servers.self,
            Sync.self, Post.self, Reply.self, Follow.self, Unfollow.self, Feed.self, Profile.self,
            Rooms.self, Room.self, DirectMessage.self, Send.self, Read.self, Chat.self,
            Contacts.self, Presence.self,
        ],
        defaultSubcommand: Chat.self
    )
}
