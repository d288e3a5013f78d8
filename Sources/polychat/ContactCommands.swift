import ArgumentParser
import ChatClient
import GatewayWire

struct Contacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Contacts by mutual consent: only mutual contacts see each other's presence.",
        subcommands: [
            List.self, Change.self, Change.Accept.self, Change.Revoke.self, Change.Block.self, Change.Unblock.self, Name.self,
        ],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List contacts and requests, with presence of mutual contacts.")

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let contacts = try await engine.withSession { session in try await engine.contacts(session: session) }
                if self.output.json {
                    say(Listing.json(contacts))
                } else if contacts.isEmpty {
                    say("no contacts yet: polychat contacts request USER")
                } else {
                    for contact in contacts { say(Self.line(contact)) }
                }
            }
        }

        /// A contact: `name (c9f4…)` when it has a name, else its whole id (to copy).
        static func line(_ contact: ChatEngine.Contact) -> String {
            let who = contact.name == nil ? contact.user : contact.label
            switch contact.state {
            case "mutual":
                let presence = contact.presence == "online" ? "online" : "offline, last seen \(contact.lastSeen ?? "unknown")"
                return "\(who)  contact  \(presence)"
            case "outgoing": return "\(who)  requested by you"
            default: return "\(who)  asks to be your contact (polychat contacts accept \(Listing.short(contact.user)))"
            }
        }
    }

    /// `request` and its siblings: one user, one action.
    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "request", abstract: "Ask a user to be mutual contacts.")

        @OptionGroup var state: StateOptions

        @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
        var user: String

        func run() async throws { try await Self.apply(.request, self.user, self.state) }

        static func apply(_ action: ChatEngine.ContactAction, _ user: String, _ state: StateOptions) async throws {
            try await perform {
                let engine = try state.open()
                let id = try await engine.resolveUser(user)
                try await engine.withSession { session in try await engine.contact(action, id, session: session) }
                let done: String =
                    switch action {
                    case .request: "asked"
                    case .accept: "accepted"
                    case .revoke: "revoked"
                    case .block: "blocked"
                    case .unblock: "unblocked"
                    }
                say("\(done) \(await engine.label(id.hex))")
            }
        }

        struct Accept: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Accept a contact request (or make one that they accept).")
            @OptionGroup var state: StateOptions
            @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
            var user: String
            func run() async throws { try await Change.apply(.accept, self.user, self.state) }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "End a contact (or withdraw a request): presence stops at once, both ways."
            )
            @OptionGroup var state: StateOptions
            @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
            var user: String
            func run() async throws { try await Change.apply(.revoke, self.user, self.state) }
        }

        struct Block: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Block a user: revokes the contact, and they cannot DM you, add you or see you."
            )
            @OptionGroup var state: StateOptions
            @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
            var user: String
            func run() async throws { try await Change.apply(.block, self.user, self.state) }
        }

        struct Unblock: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Unblock a user (the contact is not restored).")
            @OptionGroup var state: StateOptions
            @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
            var user: String
            func run() async throws { try await Change.apply(.unblock, self.user, self.state) }
        }
    }
}

extension Contacts {
    static let userHelp = "The user: @name, a name, a unique id prefix of one you know, or the whole id."

    /// `contacts name USER NAME`: a petname, kept on this device only.
    struct Name: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a user a name of your own (kept on this device only), or show or clear it.",
            discussion: """
                The name then stands for the user in every command (@NAME or NAME) and in listings, \
                shown as 'NAME (c9f4…)'. A name is 1 to 32 letters, digits, '-', '_' or '.', and \
                names one user.
                """
        )

        @OptionGroup var state: StateOptions

        @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
        var user: String

        @Argument(help: ArgumentHelp("The name to give (none: show the user's name).", valueName: "name"))
        var name: String?

        @Flag(help: "Take the user's name away.")
        var clear = false

        func validate() throws {
            if self.clear, self.name != nil { throw ValidationError("give a name or --clear, not both") }
        }

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let id = try await engine.resolveUser(self.user)
                if self.clear || self.name != nil {
                    try await engine.setPetname(self.clear ? nil : self.name, for: id)
                    try await engine.save()
                }
                say("\(id.hex)  \(await engine.name(of: id.hex).map { Listing.clean($0) } ?? "(no name)")")
            }
        }
    }
}

struct Presence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your presence: visible to mutual contacts, or invisible (you look offline, last seen frozen).",
        subcommands: [Show.self, Invisible.self, Visible.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show your setting and your contacts' presence.")

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        struct Shown: Encodable {
            var invisible: Bool
            var contacts: [ChatEngine.Contact]
        }

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let contacts = try await engine.withSession { session in try await engine.contacts(session: session) }
                let invisible = await engine.identity.invisible ?? false
                if self.output.json {
                    say(Listing.json(Shown(invisible: invisible, contacts: contacts.filter { $0.state == "mutual" })))
                } else {
                    say("you are \(invisible ? "invisible (you look offline to everyone)" : "visible to your contacts")")
                    for contact in contacts where contact.state == "mutual" { say(Contacts.List.line(contact)) }
                }
            }
        }
    }

    struct Invisible: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Look offline to everyone while staying connected.")
        @OptionGroup var state: StateOptions
        func run() async throws { try await Self.set(true, self.state) }

        static func set(_ invisible: Bool, _ state: StateOptions) async throws {
            try await perform {
                let engine = try state.open()
                try await engine.withSession { session in try await engine.setInvisible(invisible, session: session) }
                say(invisible ? "you are invisible" : "you are visible to your contacts")
            }
        }
    }

    struct Visible: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Be seen by your mutual contacts again.")
        @OptionGroup var state: StateOptions
        func run() async throws { try await Invisible.set(false, self.state) }
    }
}
