import ArgumentParser
import ChatClient
import GatewayWire

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exchange this identity's events with the social server (the other commands sync too)."
    )

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await perform {
            let sent = try await self.state.open().sync()
            say("synced: \(sent) event\(sent == 1 ? "" : "s") uploaded")
        }
    }
}

struct Post: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Post to your feed (public, signed, synced to the social server).")

    @OptionGroup var state: StateOptions

    @Argument(help: "The text.")
    var text: String

    func validate() throws {
        guard !self.text.isEmpty else { throw ValidationError("the post is empty") }
    }

    func run() async throws {
        try await perform {
            let post = try await self.state.open().post(self.text)
            say("posted \(post.short)  \(post.id)")
        }
    }
}

struct Reply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reply to a post: its short id as 'polychat feed' prints it (or a unique prefix), or its whole id."
    )

    @OptionGroup var state: StateOptions

    @Argument(
        help: ArgumentHelp(
            "The post: its short id (8 hex characters, as the feed prints it), or its whole id.",
            valueName: "post"
        )
    )
    var post: String

    @Argument(help: "The text.")
    var text: String

    func validate() throws {
        guard !self.text.isEmpty else { throw ValidationError("the reply is empty") }
    }

    func run() async throws {
        try await perform {
            let reply = try await self.state.open().post(self.text, replyTo: self.post)
            say("replied \(reply.short)  \(reply.id)")
        }
    }
}

struct Follow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow a user: their posts appear in 'polychat feed'.")

    @OptionGroup var target: UserArguments

    func run() async throws { try await self.target.follow(true, "following") }
}

struct Unfollow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop following a user.")

    @OptionGroup var target: UserArguments

    func run() async throws { try await self.target.follow(false, "no longer following") }
}

/// One user, for `follow` and `unfollow`.
struct UserArguments: ParsableArguments {
    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
    var user: String

    func follow(_ follow: Bool, _ done: String) async throws {
        try await perform {
            let engine = try self.state.open()
            let id = try await engine.resolveUser(self.user)
            try await engine.follow(id, follow)
            say("\(done) \(await engine.label(id.hex))")
            for notice in await engine.takeNotices() { printError("polychat: \(notice)") }
        }
    }
}

struct Feed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Posts of the users you follow, newest first.")

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("At most this many posts.", valueName: "n"))
    var limit = 20

    func validate() throws {
        guard (1...500).contains(self.limit) else { throw ValidationError("--limit must be 1…500") }
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            let posts = try await engine.feed(limit: self.limit)
            if self.output.json {
                say(Listing.json(posts))
            } else if posts.isEmpty {
                let following = await engine.following.count
                say(
                    following == 0
                        ? "nothing yet: follow someone (polychat follow USER)" : "no posts yet from the \(following) you follow"
                )
            } else {
                say(posts.map(Listing.post).joined(separator: "\n"), terminator: "")
            }
        }
    }
}

struct Profile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or set a profile.",
        subcommands: [Show.self, Change.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user's profile (yours without USER).")

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp(Contacts.userHelp, valueName: "user"))
        var user: String?

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                var id = try ChatEngine.user(engine.userID)
                if let user = self.user { id = try await engine.resolveUser(user) }
                let profile = try await engine.profile(of: id)
                if self.output.json {
                    say(Listing.json(profile))
                } else {
                    say("user        \(profile.user)")
                    say("name        \(profile.name.map(Listing.clean) ?? "(none)")")
                    say("description \(profile.description.map(Listing.clean) ?? "(none)")")
                }
            }
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set your name and description (signed, synced)."
        )

        @OptionGroup var state: StateOptions

        @Option(help: "Your name.")
        var name: String?

        @Option(help: "A line or two about you.")
        var description: String?

        func validate() throws {
            guard self.name != nil || self.description != nil else { throw ValidationError("give --name, --description or both") }
        }

        func run() async throws {
            try await perform {
                try await self.state.open().setProfile(name: self.name, description: self.description)
                say("profile updated")
            }
        }
    }
}
