import ArgumentParser
import Daemon
import Gateway
import HTTPFront
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `polygated`: the polygate daemon. Parsing only; the work is in the `Daemon` library.
@main
struct Polygated: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polygated",
        abstract: "The polygate daemon: Polycentric social API and MLS delivery gateway.",
        discussion: """
            Runs under systemd (Type=notify, socket activation with sockets named 'http' and \
            'control', watchdog, journald) or by hand. See polygated(8) and polygated.conf(5).
            """,
        version: PolygateVersionText.value,
        subcommands: [Serve.self, Migrate.self, CheckConfig.self, DefaultConfig.self, ShowKey.self, RotateKeys.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Configuration file.", valueName: "path"))
    var config: String = DaemonConfiguration.defaultPath

    /// Loads the file or exits with status 78 (EX_CONFIG) and the error on stderr.
    func load() throws -> DaemonConfiguration {
        do {
            return try DaemonConfiguration.load(path: self.config)
        } catch {
            printError("polygated: \(error)")
            throw ExitCode(78)
        }
    }

    /// Loads the TLS certificate and key the file names, or exits with status 78.
    func tls(_ configuration: DaemonConfiguration) throws -> ServerTLS? {
        do {
            return try Daemon.tls(configuration: configuration)
        } catch {
            let key = error.code == .certificate ? "http.tls_certificate" : "http.tls_private_key"
            printError("polygated: \(self.config): \(key): \(error)")
            throw ExitCode(78)
        }
    }

    /// The sealed-session key file (created when missing); exits with status 78 when it
    /// cannot be used.
    func keys(_ configuration: DaemonConfiguration, logger: Logger) throws -> GatewayKeyStore {
        do {
            return try Daemon.keys(configuration: configuration, logger: logger)
        } catch {
            printError("polygated: daemon.state_directory: \(error)")
            throw ExitCode(78)
        }
    }
}

extension Polygated {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the daemon in the foreground (the default).",
            discussion: "Stops gracefully on SIGTERM or SIGINT. Exit status 78 means a configuration error."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let configuration = try self.options.load()
            let tls = try self.options.tls(configuration)
            let registry = Daemon.bootstrap(logLevel: configuration.daemon.logLevel)
            var logger = Logger(label: "polygated")
            logger[metadataKey: "polygate.gateway_id"] = "\(configuration.daemon.gatewayID)"
            let keys = try self.options.keys(configuration, logger: logger)
            do {
                try await Daemon.serve(configuration: configuration, tls: tls, keys: keys, registry: registry, logger: logger)
            } catch {
                logger.critical("polygated failed", metadata: ["error": "\(error)"])
                throw ExitCode.failure
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending database migrations and exit.",
            discussion: "Safe to run while daemons are running: migrations are serialised by an advisory lock."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(name: .long, help: "Only list applied and pending migrations.")
        var status = false

        func run() async throws {
            let configuration = try self.options.load()
            _ = Daemon.bootstrap(logLevel: .warning)
            do {
                print(
                    try await Daemon.migrate(
                        configuration: configuration,
                        statusOnly: self.status,
                        logger: Logger(label: "polygated")
                    )
                )
            } catch {
                printError("polygated: migration failed: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate the configuration file and print the effective settings (secrets masked).",
            discussion: """
                Exit status 0 when valid, 78 with the file, line and key of the first problem \
                otherwise. Files the daemon can start without (the web client's) only draw a warning.
                """
        )

        @OptionGroup var options: ConfigOptions

        @Flag(name: .shortAndLong, help: "Print nothing when the file is valid.")
        var quiet = false

        func run() throws {
            let configuration = try self.options.load()
            // The certificate and key are read as the daemon would (run this as its user).
            _ = try self.options.tls(configuration)
            // The daemon starts without the web client's files (it answers 503 there): a warning.
            if configuration.web.enabled {
                do {
                    _ = try WebAssets(directory: configuration.web.root)
                } catch {
                    printError(
                        "polygated: warning: \(self.options.config): web.root: \(error.message); the web client would answer 503 (set [web] root, or [web] enabled = false)"
                    )
                }
            }
            if !self.quiet {
                print("# \(self.options.config): OK")
                print(configuration, terminator: "")
            }
        }
    }
}

extension Polygated {
    struct DefaultConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "default-config",
            abstract: "Print a configuration file with every key commented out at its default.",
            discussion: """
                The text of the shipped /etc/polygate/polygated.conf: each key with its description, \
                commented out, at its default value. Redirect it to a file, uncomment what you change, \
                and check it with 'polygated check-config'.
                """
        )

        func run() {
            print(DaemonConfiguration.defaultFile, terminator: "")
        }
    }
}

extension Polygated {
    struct ShowKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show-key",
            abstract: "Print the gateway's sealed-session public keys (for clients to pin).",
            discussion: """
                The keys in force, newest first: the current one and any replaced by rotate-keys that is \
                still accepted. Clients pin a key with 'polychat init --gateway-key KEY'. Creates the \
                key file when there is none yet (run this as the daemon's user).
                """
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: "One JSON object: {\"protocol\", \"keys\": [{\"key\", \"created_ms\", \"retires_ms\"}]}.")
        var json = false

        func run() throws {
            let configuration = try self.options.load()
            _ = Daemon.bootstrap(logLevel: .warning)
            let store = try self.options.keys(configuration, logger: Logger(label: "polygated"))
            print(Daemon.describeKeys(store.current, json: self.json), terminator: "")
        }
    }

    struct RotateKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-keys",
            abstract: "Add a new sealed-session key; the current one stays accepted for the overlap.",
            discussion: """
                Writes the key file, records gateway.key_rotated in the audit ledger, and prints the keys. \
                Running daemons take the new key on reload (systemctl reload polygated, or SIGHUP); clients \
                that connect during the overlap ([gateway] sealed_key_overlap, default 7 days) learn it \
                over a channel the old key authenticates. Daemons sharing a database need the new file too.
                """
        )

        @OptionGroup var options: ConfigOptions

        @Option(help: ArgumentHelp("How long the replaced key stays accepted (e.g. 7d, 12h).", valueName: "duration"))
        var overlap: String?

        func run() async throws {
            let configuration = try self.options.load()
            _ = Daemon.bootstrap(logLevel: .warning)
            let logger = Logger(label: "polygated")
            let store = try self.options.keys(configuration, logger: logger)
            var overlap = configuration.gateway.sealedKeyOverlap
            if let text = self.overlap {
                guard let parsed = DaemonConfiguration.duration(text) else {
                    printError("polygated: --overlap: '\(text)' is not a duration (like 7d, 12h, 30m)")
                    throw ExitCode(64)
                }
                overlap = parsed
            }
            do {
                let ring = try await Daemon.rotateKeys(
                    store: store,
                    overlap: overlap,
                    configuration: configuration,
                    logger: logger
                )
                print(Daemon.describeKeys(ring, json: false), terminator: "")
                print("Reload running daemons so that they accept the new key: systemctl reload polygated")
            } catch {
                printError("polygated: rotate-keys: \(error)")
                throw ExitCode.failure
            }
        }
    }
}

enum PolygateVersionText {
    /// "polygated VERSION", as gwctl and polychat name themselves.
    static let value = "polygated \(Daemon.version)"
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
