import ArgumentParser
import ChatClient
import ChatInstance
import ChatTerminal
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT and SIGTERM while an instance runs: the loop ends, saves and removes its socket.
let stopRequested = Atomic<Bool>(false)

/// SIGINT and SIGTERM end the instance cleanly instead of killing it.
func catchStopSignals() {
    signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
}

/// Starts serving the instance socket for `engine` (the caller holds the state lock).
func instanceService(_ engine: ChatEngine) throws(ChatError) -> InstanceService {
    try InstanceService(engine: engine) { params in await CommandHost.run(params.argv, cwd: params.cwd, engine: engine) }
}

struct Daemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one instance that holds the connection and serves other polychat commands and scripts.",
        discussion: """
            Holds the state directory and the gateway connection, and serves the Unix socket \
            polychat.sock in the state directory (mode 0600) with a line-delimited JSON-RPC 2.0 \
            protocol (polychat(1), INSTANCE SOCKET). While it runs, post, reply, follow, feed, \
            profile, rooms, room, dm, send, read, contacts, presence, devices and whoami from \
            other terminals go through it (same output and exit status); init, identity, servers \
            and chat need it stopped. The terminal UI serves the same socket while it runs. \
            Ends on SIGTERM or SIGINT (exit 0); exit 6 when this device is revoked.
            """
    )

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await perform {
            let engine = try self.state.open()
            let service = try instanceService(engine)
            defer { service.close() }
            catchStopSignals()
            printError("polychat: serving \(service.path) for \(Listing.user(engine.userID, name: await engine.username))")
            let gateway = await engine.identity.gatewayURL
            try await InstanceLoop(engine: engine, service: service).run {
                stopRequested.load(ordering: .relaxed)
            } report: { report in
                switch report {
                case .connected: printError("polychat: connected to \(gateway)")
                case .disconnected(let reason, let delay):
                    printError("polychat: \(reason); retrying in \(Int((delay / .seconds(1)).rounded(.up)))s")
                }
            }
            try await engine.save()
        }
    }
}

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print messages as they arrive, for scripts (through the running instance, or as one).",
        discussion: """
            One line per event until interrupted: "[conversation] time who: text" for a \
            message, "* text" for a notice; with --json, each event as the JSON-RPC \
            notification the instance socket sends ({"jsonrpc":"2.0","method":"message",\
            "params":{...}}). When a polychat instance (daemon or UI) runs in the state \
            directory, listen subscribes to it; otherwise it runs as the instance itself, \
            serving other commands while it listens.
            """
    )

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await perform {
            if let client = InstanceClient(directory: self.state.directory) {
                let _: InstanceProtocol.Subscribed = try client.call(.subscribe, [String: String]())
                let status: InstanceProtocol.Status = try client.call(.status, [String: String]())
                printError("polychat: listening through the running polychat (pid \(status.pid))")
                while true { self.show(try client.readLine()) }
            }
            let engine = try self.state.open()
            let service = try instanceService(engine)
            defer { service.close() }
            service.observer = { line in self.show(line) }
            catchStopSignals()
            printError("polychat: listening, and serving \(service.path) for other polychat commands")
            try await InstanceLoop(engine: engine, service: service).run {
                stopRequested.load(ordering: .relaxed)
            } report: { report in
                if case .disconnected(let reason, let delay) = report {
                    printError("polychat: \(reason); retrying in \(Int((delay / .seconds(1)).rounded(.up)))s")
                }
            }
            try await engine.save()
        }
    }

    func show(_ line: [UInt8]) {
        if self.output.json {
            say(String(decoding: line.last == 0x0A ? line.dropLast() : line[...], as: UTF8.self))
            return
        }
        switch InstanceProtocol.event(line) {
        case .message(let event)?: say("[\(event.conversationName)] \(Listing.message(event.message))")
        case .notice(let event)?: say("* \(event.text)")
        case nil: break
        }
    }
}
