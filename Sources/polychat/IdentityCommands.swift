import ArgumentParser
import ChatClient
import ChatTerminal
import GatewayWire

#if canImport(Glibc)
import Glibc
#endif

struct Initialize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an identity and this device (or import an identity for a second device).",
        discussion: """
            Creates the state directory (mode 0700) with a new Polycentric identity, a device key \
            and its certificate, then registers the device with the gateway and uploads its \
            KeyPackages (so others can add it to conversations). The state is encrypted with a \
            key file kept outside the state directory, or with --passphrase a key derived from a \
            passphrase ($POLYCHAT_PASSPHRASE, else asked). --import reads an export made by \
            'polychat identity export' on another device ($POLYCHAT_EXPORT_PASSPHRASE, else asked); \
            --link takes a pairing code that 'polychat devices link' shows on another device of \
            yours instead (both show the same verification string; the identity travels \
            end-to-end encrypted, and the server never sees the code's second half). \
            When the gateway offers sealed sessions, polychat pins its key (--gateway-key, else \
            the one its /v1/info lists; a linked or imported device takes the pins of the device \
            it came from) and seals every connection under it from then on, so that a proxy or \
            CDN in between reads nothing; it refuses a gateway that cannot prove that key.
            """
    )

    @OptionGroup var state: StateOptions

    @Option(help: ArgumentHelp("The Polycentric (social) server.", valueName: "url"))
    var server = "http://127.0.0.1:8080"

    @Option(
        help: ArgumentHelp(
            "The gateway, when it is not the social server (ws://host:port/v1/gateway or http://host:port).",
            valueName: "url"
        )
    )
    var gateway: String?

    @Option(help: ArgumentHelp("Your name on the feed and in chats (a new identity only).", valueName: "name"))
    var name: String?

    @Option(
        name: .customLong("device-name"),
        help: ArgumentHelp("This device's name (default: the host name).", valueName: "name")
    )
    var deviceName: String?

    @Flag(help: "Encrypt the state with a passphrase instead of a key file.")
    var passphrase = false

    @Option(
        name: .customLong("import"),
        help: ArgumentHelp("An identity export to use instead of a new identity.", valueName: "file")
    )
    var importFile: String?

    @Option(
        name: .customLong("link"),
        help: ArgumentHelp(
            "A pairing code from 'polychat devices link' on another device of yours: this device gets that identity.",
            valueName: "code"
        )
    )
    var linkCode: String?

    @Option(help: ArgumentHelp("Messages kept per conversation (0: none are stored).", valueName: "n"))
    var history = 1000

    @Option(
        name: .customLong("gateway-key"),
        help: ArgumentHelp(
            "The gateway's sealed-session key to pin, as its administrator gives it ('polygated show-key'); default: the one its /v1/info lists.",
            valueName: "hex"
        )
    )
    var gatewayKey: String?

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "A private certificate authority (PEM) to trust for the servers, besides the system's; copied into the state directory.",
            valueName: "file"
        )
    )
    var caFile: String?

    func validate() throws {
        guard self.history >= 0 else { throw ValidationError("--history cannot be negative") }
        if self.importFile != nil || self.linkCode != nil, self.name != nil {
            throw ValidationError("--name is for a new identity; an imported or linked one keeps its name")
        }
        if self.importFile != nil, self.linkCode != nil { throw ValidationError("give --import or --link, not both") }
    }

    func run() async throws {
        try await perform {
            let environment = self.state.environment
            let pinned = try self.gatewayKey.map(GatewayPins.parse)
            var export: ChatEngine.IdentityExport?
            if let importFile {
                guard let bytes = try StateDirectory.readFile(importFile) else {
                    throw ChatError(.badArgument, "\(importFile) does not exist")
                }
                let secret = try Secrets.passphrase(environment, "POLYCHAT_EXPORT_PASSPHRASE", prompt: "export passphrase: ")
                export = try ChatEngine.readExport(bytes, passphrase: secret)
            }
            if let linkCode {
                let code: PairingCode
                do {
                    code = try PairingCode(parsing: linkCode)
                } catch {
                    throw ChatError(.badArgument, "\(error)")
                }
                guard !self.state.directory.exists("identity.json") else {
                    throw ChatError(
                        .identityExists,
                        "\(self.state.directory.path) already holds an identity (polychat whoami shows it)"
                    )
                }
                let caFiles = [self.caFile, try ConnectionSettings(environment: environment).caFile].compactMap { $0 }
                export = try await PairingClient.receive(code, gatewayURL: self.gateway ?? self.server, caFiles: caFiles) {
                    verification in
                    say("verification: \(verification) — your other device shows the same; if it does not, stop it there")
                }
                say("received your identity from your other device")
            }
            let secret =
                self.passphrase
                ? try Secrets.passphrase(environment, "POLYCHAT_PASSPHRASE", prompt: "new polychat passphrase: ", confirm: true)
                : nil
            let engine = try await ChatEngine.initialize(
                directory: self.state.directory,
                deviceName: self.deviceName ?? Self.hostName(),
                socialURL: self.server,
                gatewayURL: self.gateway ?? self.server,
                passphrase: secret,
                history: self.history,
                importing: export,
                caFile: self.caFile,
                gatewayKey: pinned,
                environment: environment
            )
            say("user   \(engine.userID)")
            say("device \(engine.deviceID)")
            do {
                if let name { try await engine.setProfile(name: name, description: nil) } else { try await engine.sync() }
                try await engine.withSession { _ in }
                say("registered with \(await engine.identity.gatewayURL)")
                if let key = await engine.identity.gatewayKeys?.first {
                    say("sealed under the gateway key \(key) (pinned; 'polygated show-key' prints it on the server)")
                } else {
                    say("the gateway offers no sealed sessions: connections are plain until it does")
                }
            } catch let error as ChatError where error.code == .unreachable {
                printError("polychat: created, but \(error); it registers the next time it connects")
            }
        }
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "device" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this identity, device and servers.")

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    struct Shown: Encodable {
        var user, device, deviceName, social, gateway, stateDirectory, encryption: String
        var name: String?
    }

    func run() async throws {
        try await perform {
            let engine = try self.state.open(readOnly: true)
            let identity = await engine.identity
            let shown = Shown(
                user: engine.userID,
                device: engine.deviceID,
                deviceName: identity.deviceName,
                social: identity.socialURL,
                gateway: identity.gatewayURL,
                stateDirectory: engine.statePath,
                encryption: engine.vaultMode == .passphrase ? "passphrase" : "key file",
                name: await engine.username
            )
            if self.output.json {
                say(Listing.json(shown))
            } else {
                say(
                    """
                    user        \(shown.user)
                    name        \(shown.name ?? "(none; polychat profile set --name NAME)")
                    device      \(shown.device) (\(shown.deviceName))
                    social      \(shown.social)
                    gateway     \(shown.gateway)
                    state       \(shown.stateDirectory) (encrypted with a \(shown.encryption))
                    """
                )
            }
        }
    }
}

struct Identity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move the identity to another device.",
        subcommands: [Export.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the identity, sealed with a passphrase, for 'polychat init --import' on another device.",
            discussion: """
                The file holds the identity's secret key: anyone with it and the passphrase \
                ($POLYCHAT_EXPORT_PASSPHRASE, else asked twice) is you. Conversations are not in it: \
                the new device joins them itself. The file is created with mode 0600 and is never \
                overwritten. With --web it is a polygate-identity file for the web client (JSON; \
                PBKDF2-SHA256 and AES-256-GCM, which browsers have); 'polychat init --import' reads \
                both formats, so an identity made in the browser moves to polychat the same way.
                """
        )

        @OptionGroup var state: StateOptions

        @Flag(
            help: ArgumentHelp(
                "Write the web client's format instead (a polygate-identity JSON file, PBKDF2 + AES-GCM): open it at /app/ on your server."
            )
        )
        var web = false

        @Argument(help: ArgumentHelp("Where to write the export.", valueName: "file"))
        var file: String

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let secret = try Secrets.passphrase(
                    self.state.environment,
                    "POLYCHAT_EXPORT_PASSPHRASE",
                    prompt: "passphrase for the export: ",
                    confirm: true
                )
                let bytes =
                    self.web
                    ? try await engine.exportWebIdentity(passphrase: secret)
                    : try await engine.exportIdentity(passphrase: secret)
                let fd = open(self.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    throw ChatError(.io, "cannot create \(self.file): \(String(cString: strerror(errno)))")
                }
                defer { close(fd) }
                guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
                    throw ChatError(.io, "cannot write \(self.file): \(String(cString: strerror(errno)))")
                }
                say(
                    self.web
                        ? "wrote \(self.file); in the web client (/app/ on your server) choose 'Use an identity you already have' and this file"
                        : "wrote \(self.file); on the other device: polychat init --import \(self.file)"
                )
            }
        }
    }
}

struct Servers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or change the social server, the gateway and the gateway key pinned for it.",
        discussion: """
            A gateway key is pinned at init, or when the gateway first offers sealed sessions; \
            rotations the gateway announces are taken by themselves. When polychat refuses the \
            gateway because it did not prove the pinned key, ask its administrator for the key \
            ('polygated show-key' on the server) over a channel you trust, and pin it with \
            --gateway-key. Another --gateway forgets the keys pinned for the old one.
            """
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("A new social server.", valueName: "url"))
    var social: String?

    @Option(help: ArgumentHelp("A new gateway.", valueName: "url"))
    var gateway: String?

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "A private certificate authority (PEM) to trust for the servers, besides the system's (\"\" to trust only the system's again).",
            valueName: "file"
        )
    )
    var caFile: String?

    @Option(
        name: .customLong("gateway-key"),
        help: ArgumentHelp(
            "Pin this gateway key (64 hex digits, from 'polygated show-key' on the server) in place of those pinned.",
            valueName: "hex"
        )
    )
    var gatewayKey: String?

    @Flag(
        name: .customLong("forget-gateway-key"),
        help: "Forget the pinned gateway keys: the next connection pins those the gateway's /v1/info lists then."
    )
    var forgetGatewayKey = false

    func validate() throws {
        if self.gatewayKey != nil, self.forgetGatewayKey {
            throw ValidationError("give --gateway-key or --forget-gateway-key, not both")
        }
    }

    func run() async throws {
        try await perform {
            let pins: ChatEngine.PinChange? =
                if let gatewayKey { .pin(try GatewayPins.parse(gatewayKey)) } else { self.forgetGatewayKey ? .forget : nil }
            let engine = try self.state.open()
            if self.social != nil || self.gateway != nil || self.caFile != nil || pins != nil {
                try await engine.setServers(social: self.social, gateway: self.gateway, caFile: self.caFile, pins: pins)
            }
            let identity = await engine.identity
            let authorities = engine.caFiles
            let keys = identity.gatewayKeys ?? []
            if self.output.json {
                say(
                    Listing.json([
                        "social": identity.socialURL, "gateway": identity.gatewayURL,
                        "ca_files": authorities.joined(separator: ","),
                        "gateway_keys": keys.joined(separator: ","),
                    ])
                )
            } else {
                say("social  \(identity.socialURL)\ngateway \(identity.gatewayURL)")
                say("trusts  the system's certificate authorities\(authorities.map { " and \($0)" }.joined())")
                if let current = keys.first {
                    let older = keys.count > 1 ? " (and \(keys.count - 1) older, in a rotation's overlap)" : ""
                    say("key     \(current)\(older): connections are sealed")
                } else {
                    say("key     none pinned: connections are plain until the gateway offers sealed sessions")
                }
            }
        }
    }
}

/// `devices`: this user's devices; `devices revoke DEVICE`.
struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your devices: list them, link a new one by pairing code, or revoke one (a lost or retired device).",
        subcommands: [List.self, Link.self, Revoke.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List your devices: id, name, registered, last seen (or connected now), revoked, this one."
        )

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let devices = try await engine.withSession { session in try await engine.devices(session: session) }
                if self.output.json {
                    say(Listing.json(devices))
                } else {
                    for device in devices {
                        let state = device.revokedMs.map { "revoked \(Listing.time($0))" } ?? "active"
                        let seen =
                            device.connected
                            ? "connected now" : device.lastSeenMs.map { "last seen \(Listing.time($0))" } ?? "never seen"
                        let this = device.this ? "  (this device)" : ""
                        say(
                            "\(Listing.short(device.id))  \(Listing.clean(device.name))  registered \(Listing.time(device.registeredMs))  \(seen)  \(state)\(this)"
                        )
                    }
                }
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a new device of yours: shows a pairing code to type there ('polychat init --link CODE'), and waits.",
            discussion: """
                The code works once, for a few minutes (the gateway's pairing_ttl). Its second half \
                never reaches the server: it authenticates a key exchange (CPace) between the two \
                devices, so the server relays only ciphertext and cannot take your identity. Both \
                devices show the same verification string; on a terminal you are asked to compare \
                them before your identity is sent (--yes, or standard input not a terminal: sent \
                at once). A wrong code typed on the new device ends the pairing with nothing sent.
                """
        )

        @OptionGroup var state: StateOptions

        @Flag(help: "Send without asking to compare the verification strings (compare them anyway).")
        var yes = false

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let server = await engine.identity.gatewayURL
                let ask = !self.yes && Terminal.isTerminal(0)
                let linked = try await engine.withSession { session in
                    try await engine.linkDevice(session: session) { code, expiresMs in
                        say("pairing code: \(code.text)")
                        say("on the new device: polychat init --link \(code.text) --server \(server)")
                        say("it works once, until \(Listing.time(expiresMs)); waiting for the new device…")
                    } confirm: { verification in
                        say("verification: \(verification)")
                        guard ask else { return true }
                        Terminal.write("does the new device show \(verification)? [y/N] ")
                        return readLine()?.lowercased().hasPrefix("y") == true
                    }
                }
                say("linked (verification \(linked.verification)): the new device has your identity and joins your conversations")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke one of your devices: it is disconnected, cannot connect again, and leaves your conversations.",
            discussion: """
                Signed with your identity's key, which every device of yours holds. Revoking this \
                device itself is allowed: it stops working at once.
                """
        )

        @OptionGroup var state: StateOptions

        @Argument(
            help: ArgumentHelp(
                "The device: at least 4 hex characters of its id, as 'polychat devices' prints.",
                valueName: "device"
            )
        )
        var device: String

        func run() async throws {
            try await perform {
                let engine = try self.state.open()
                let revoked = try await engine.withSession { session in
                    try await engine.revokeDevice(self.device, session: session)
                }
                say("revoked \(Listing.short(revoked.id))  \(Listing.clean(revoked.name))")
            }
        }
    }
}
