import ArgumentParser
import ChatClient
import ChatInstance
import ChatTerminal
import GatewayWire

#if canImport(Glibc)
import Glibc
#endif

struct Rooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List conversations (rooms and DMs), newest activity first, after fetching what is new."
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Do not connect: list what this device knows.")
    var offline = false

    struct Shown: Encodable {
        var id, name, kind: String
        var peer: String?
        /// The DM peer's name (petname, else published), when it has one.
        var peerName: String?
        var members: [String]
        var unread: Int
        var left: Bool
        var lastMessageMs: UInt64?
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            if !self.offline { try await engine.withSession { _ in } }
            let conversations = await engine.conversations
            var peerNames: [String: String] = [:]
            for peer in conversations.compactMap(\.peer) { peerNames[peer] = await engine.name(of: peer) }
            if self.output.json {
                say(
                    Listing.json(
                        conversations.map {
                            Shown(
                                id: $0.id,
                                name: $0.name,
                                kind: $0.kind.rawValue,
                                peer: $0.peer,
                                peerName: $0.peer.flatMap { peerNames[$0] },
                                members: $0.members,
                                unread: $0.unread,
                                left: $0.left,
                                lastMessageMs: $0.messages.last?.sentAtMs
                            )
                        }
                    )
                )
            } else if conversations.isEmpty {
                say("no conversations yet: polychat room create NAME, or polychat dm USER TEXT")
            } else {
                for record in conversations {
                    var peer: String? = nil
                    if let id = record.peer { peer = await engine.label(id) }
                    say(Listing.conversation(record, peer: peer))
                }
            }
            for notice in await engine.takeNotices() { printError("polychat: \(notice)") }
        }
    }
}

struct Room: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create rooms and change who is in them (each change is an MLS Commit).",
        subcommands: [Create.self, Invite.self, Remove.self, Leave.self, Members.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a room with you (and your other devices) in it.")

        @OptionGroup var state: StateOptions

        @Argument(help: "The room's name (members see it).")
        var name: String

        func validate() throws {
            guard !self.name.isEmpty, self.name.count <= 100 else { throw ValidationError("a room name is 1…100 characters") }
        }

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let record = try await engine.withSession { session in try await engine.createRoom(self.name, session: session) }
                say("created \(Listing.short(record.id)) \(record.name)")
            }
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user (every device of theirs) to a room.")

        @OptionGroup var member: MemberArguments

        func run() async throws {
            try await self.member.change("added") { engine, user, conv, session in
                try await engine.invite(user, to: conv, session: session)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a user (all their devices) from a room: they cannot read anything sent after."
        )

        @OptionGroup var member: MemberArguments

        func run() async throws {
            try await self.member.change("removed") { engine, user, conv, session in
                try await engine.remove(user, from: conv, session: session)
            }
        }
    }

    /// A conversation and a user, for `room invite` and `room remove`.
    struct MemberArguments: ParsableArguments {
        @OptionGroup var state: StateOptions

        @Argument(
            help: ArgumentHelp("The conversation: an id prefix, its name, or @name for the DM with that user.", valueName: "conv")
        )
        var conversation: String

        @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
        var user: String

        /// Runs `action` (a Commit) in a session, then prints "`done` USER".
        func change(_ done: String, _ action: (ChatEngine, UserID, String, ChatSession) async throws -> Void) async throws {
            try await perform {
                let engine = try self.state.open()
                let id = try await engine.resolveUser(self.user)
                try await engine.withSession { session in
                    try await action(engine, id, try await engine.conversation(named: self.conversation).id, session)
                }
                say("\(done) \(Listing.short(id))")
            }
        }
    }

    struct Leave: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Leave a conversation (the next member online completes it).",
            discussion: "This device stops reading it at once; the other members commit your removal when they next connect."
        )

        @OptionGroup var state: StateOptions

        @Argument(help: ArgumentHelp("The conversation.", valueName: "conv"))
        var conversation: String

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                try await engine.withSession { session in
                    let record = try await engine.conversation(named: self.conversation)
                    try await engine.leave(record.id, session: session)
                }
                say("left \(self.conversation)")
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a conversation's members (as of the last epoch this device saw)."
        )

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("The conversation.", valueName: "conv"))
        var conversation: String

        func run() async throws {
            try await perform {
                let record = try await self.state.open().conversation(named: self.conversation)
                if self.output.json {
                    say(Listing.json(record.members))
                } else {
                    for member in record.members { say(member) }
                }
            }
        }
    }
}

struct DirectMessage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dm",
        abstract: "Send a direct message (starts the DM the first time)."
    )

    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
    var user: String

    @Argument(help: "The text.")
    var text: String

    func validate() throws {
        guard !self.text.isEmpty else { throw ValidationError("the message is empty") }
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            let id = try await engine.resolveUser(self.user)
            let conv = try await engine.withSession { session in
                let record = try await engine.dm(id, session: session)
                try await engine.send(self.text, to: record.id, session: session)
                return record.id
            }
            say("sent to \(await engine.label(id.hex)), conversation \(Listing.short(conv))")
            for notice in await engine.takeNotices() { printError("polychat: \(notice)") }
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a message, or a file, to a conversation.",
        discussion: """
            With --file, the file is encrypted on this device with a fresh key, uploaded as \
            ciphertext, and its key, digest, size, type and name go to the members inside the \
            end-to-end-encrypted message (TEXT, if given, is its caption); a progress bar shows on \
            a terminal. The members list it with 'polychat files' and get it with 'polychat save'.
            """
    )

    @OptionGroup var state: StateOptions

    @Argument(
        help: ArgumentHelp("The conversation: an id prefix, its name, or @name for the DM with that user.", valueName: "conv")
    )
    var conversation: String

    @Argument(help: "The text (with --file: the file's caption, optional).")
    var text: String?

    @Option(help: ArgumentHelp("A file to send (encrypted end to end).", valueName: "path"))
    var file: String?

    func validate() throws {
        if self.file == nil {
            guard let text = self.text, !text.isEmpty else { throw ValidationError("the message is empty") }
        }
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            if let file = self.file {
                let path = CommandHost.absolute(file)
                let progress = ProgressBar(label: "sending \(path.split(separator: "/").last ?? "")")
                let sent = try await engine.withSession { session in
                    let record = try await engine.conversation(named: self.conversation)
                    return try await engine.sendFile(
                        path,
                        caption: self.text ?? "",
                        to: record.id,
                        session: session,
                        progress: progress?.update
                    )
                }
                progress?.finish()
                let attachment = sent.attachment!
                say(
                    "sent \(attachment.name) (\(Listing.size(attachment.size)), file \(attachment.blob.prefix(8))) (#\(sent.seq))"
                )
            } else {
                let seq = try await engine.withSession { session in
                    let record = try await engine.conversation(named: self.conversation)
                    return try await engine.send(self.text ?? "", to: record.id, session: session).seq
                }
                say("sent (#\(seq))")
            }
            for notice in await engine.takeNotices() { printError("polychat: \(notice)") }
        }
    }
}

struct Files: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the files sent in a conversation (after fetching what is new)."
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    @Argument(
        help: ArgumentHelp("The conversation: an id prefix, its name, or @name for the DM with that user.", valueName: "conv")
    )
    var conversation: String

    @Flag(help: "Do not connect: list what this device has.")
    var offline = false

    struct Shown: Encodable {
        var id, name, mediaType, sender: String
        var senderName: String?
        var size: Int
        var sentAtMs: UInt64
        var caption: String
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            if !self.offline { try await engine.withSession { _ in } }
            let record = try await engine.conversation(named: self.conversation)
            let files = await engine.attachments(in: record.id)
            if self.output.json {
                say(
                    Listing.json(
                        files.map {
                            Shown(
                                id: $0.attachment!.blob,
                                name: $0.attachment!.name,
                                mediaType: $0.attachment!.mediaType,
                                sender: $0.sender,
                                senderName: $0.senderName,
                                size: $0.attachment!.size,
                                sentAtMs: $0.sentAtMs,
                                caption: $0.text
                            )
                        }
                    )
                )
            } else if files.isEmpty {
                say("no files in \(ChatScreen.title(record)) (polychat send CONV --file PATH sends one)")
            } else {
                for message in files {
                    let file = message.attachment!
                    let who = message.own ? "you" : Listing.user(message.sender, name: message.senderName)
                    say(
                        "\(file.blob.prefix(8))  \(Listing.clean(file.name))  \(Listing.size(file.size))  \(file.mediaType)  \(who)  \(Listing.time(message.sentAtMs))"
                    )
                }
            }
        }
    }
}

struct Save: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a file sent in a conversation, check it and decrypt it.",
        discussion: """
            FILE is the id 'polychat files' prints (8 characters are enough) or the file's name. \
            The download is checked against its digest and every chunk against its key: a file \
            altered on the server is refused and nothing is saved. PATH defaults to the file's \
            name in the current directory; an existing file is not replaced without --force.
            """
    )

    @OptionGroup var state: StateOptions

    @Argument(
        help: ArgumentHelp("The conversation: an id prefix, its name, or @name for the DM with that user.", valueName: "conv")
    )
    var conversation: String

    @Argument(help: ArgumentHelp("The file: its id (or a prefix of 4+ characters) or its name.", valueName: "file"))
    var file: String

    @Argument(help: ArgumentHelp("Where to save it (default: its name, here; a directory: its name there).", valueName: "path"))
    var path: String?

    @Flag(help: "Replace PATH when it exists.")
    var force = false

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            if (try? await engine.conversation(named: self.conversation)) == nil { try await engine.withSession { _ in } }
            let record = try await engine.conversation(named: self.conversation)
            var attachment = try? await engine.attachment(self.file, in: record.id)
            if attachment == nil {
                // Not here yet (sent while away): fetch, then look again.
                try await engine.withSession { _ in }
                attachment = try await engine.attachment(self.file, in: record.id)
            }
            let file = attachment!
            var target = CommandHost.absolute(self.path ?? file.name)
            if Save.isDirectory(target) { target += "/" + file.name }
            if !self.force, access(target, F_OK) == 0 {
                throw ChatError(.badArgument, "\(target) exists: give another PATH, or --force to replace it")
            }
            let progress = ProgressBar(label: "saving \(file.name)")
            try await engine.save(file, to: target, progress: progress?.update)
            progress?.finish()
            say("saved \(target) (\(Listing.size(file.size)), \(file.mediaType))")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }
}

struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch and show a conversation's messages, and mark them read."
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    @Argument(
        help: ArgumentHelp("The conversation: an id prefix, its name, or @name for the DM with that user.", valueName: "conv")
    )
    var conversation: String

    @Option(help: ArgumentHelp("Show at most the last N messages.", valueName: "n"))
    var limit = 50

    @Flag(help: "Do not connect: show what this device has.")
    var offline = false

    struct Shown: Encodable {
        var id, name: String
        var left: Bool
        var messages: [ChatMessage]
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            if !self.offline { try await engine.withSession { _ in } }
            let record = try await engine.conversation(named: self.conversation)
            var messages = await engine.markRead(record.id)
            // Without history, what arrived now is all there is (taken only then: the line mode
            // of a running instance prints the arrivals).
            if (await engine.identity.history) == 0 {
                messages = await engine.takeArrivals().filter { $0.conv == record.id }.map(\.message)
            }
            try await engine.save()
            let shown = Array(messages.suffix(max(0, self.limit)))
            if self.output.json {
                say(Listing.json(Shown(id: record.id, name: record.name, left: record.left, messages: shown)))
            } else {
                if shown.isEmpty { say("no messages in \(ChatScreen.title(record))") }
                for message in shown {
                    // The name you gave the sender, when you gave one.
                    var message = message
                    if let name = await engine.petname(of: message.sender) { message.senderName = name }
                    say(Listing.message(message))
                }
                if record.left { say("[you are no longer in this conversation]") }
            }
            for notice in await engine.takeNotices() { printError("polychat: \(notice)") }
        }
    }
}

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The terminal UI (the default), or the line mode when output is not a terminal.",
        discussion: """
            On a terminal: conversations on the left (unread counts, ● online / ○ offline for \
            DM contacts), messages on the right, the input line at the bottom. Enter sends; \
            Up/Down (Ctrl-P/Ctrl-N) or Tab pick the conversation; PgUp/PgDn scroll; Ctrl-L \
            repaints; Ctrl-C, Ctrl-D on an empty line or /quit quit. The input line takes \
            commands: /dm USER TEXT, /join CONV (a name no conversation has creates a room), \
            /invite USER, /leave, /save FILE [PATH] (a file of the open conversation), \
            /invisible [on|off], /visible, /help. Reconnects by itself and \
            says so in the top line. Needs 40x8 cells; made for 80x24 and up. While it runs, \
            other polychat commands go through it (see 'polychat daemon --help').

            When standard output is not a terminal: prints one line per arriving message \
            ("[room] time who: text") and sends each line of standard input to CONV, until the \
            input ends (--listen: until interrupted).
            """
    )

    @OptionGroup var state: StateOptions

    @Argument(
        help: ArgumentHelp(
            "The conversation to open: an id prefix, its name, or @name for the DM with that user.",
            valueName: "conv"
        )
    )
    var conversation: String?

    @Flag(help: "Line mode: do not read standard input; print messages until interrupted.")
    var listen = false

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            var conv: String?
            if let conversation {
                // Not known here yet (added while away): fetch, then look again.
                if (try? await engine.conversation(named: conversation)) == nil { try await engine.withSession { _ in } }
                conv = try await engine.conversation(named: conversation).id
            }
            // Other polychat commands go through this one while it runs (polychat daemon).
            let service = try instanceService(engine)
            defer { service.close() }
            let tick: (ChatSession?) async -> Bool = { session in await service.serve(session) }
            if Terminal.isTerminal(1), Terminal.isTerminal(0), !self.listen {
                try await TerminalChat(engine: engine, conversation: conv, tick: tick).run()
            } else {
                try await LineChat(engine: engine, conversation: conv, listen: self.listen, tick: tick).run()
            }
        }
    }
}
