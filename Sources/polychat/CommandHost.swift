import ArgumentParser
import ChatClient
import ChatInstance
import ChatTerminal
import Synchronization

/// A command run by a running instance for another process (`run`, polychat-instance(7)): it
/// uses the instance's engine instead of opening the state, and its output is collected for
/// the caller instead of written here. Outside such a run (`current` nil), commands open the
/// state and print, as always.
final class CommandHost: Sendable {
    @TaskLocal static var current: CommandHost?

    let engine: ChatEngine
    /// The caller's working directory, for its relative paths.
    let cwd: String?
    private let output = Mutex<(stdout: String, stderr: String)>(("", ""))

    init(engine: ChatEngine, cwd: String?) {
        self.engine = engine
        self.cwd = cwd
    }

    /// `path` made absolute against the caller's working directory (this process's, outside a
    /// routed command).
    static func absolute(_ path: String) -> String {
        if let cwd = Self.current?.cwd, !path.hasPrefix("/") { return StateDirectory.absolute(cwd + "/" + path) }
        return StateDirectory.absolute(path)
    }

    var stdout: String { self.output.withLock { $0.stdout } }
    var stderr: String { self.output.withLock { $0.stderr } }

    func write(_ text: String, to descriptor: Int32) {
        self.output.withLock {
            if descriptor == 2 { $0.stderr += text } else { $0.stdout += text }
        }
    }

    /// The commands another process may run through an instance: those that need nothing
    /// but the identity and the connection (no files named relative to the caller, no
    /// passphrases, no terminal).
    static func routable(_ command: any ParsableCommand) -> Bool { (command as? any RoutableCommand)?.isRoutable == true }

    /// Runs `argv` as `polychat ARGV` would, with `engine`: the output and exit status.
    static func run(_ argv: [String], cwd: String? = nil, engine: ChatEngine) async -> InstanceProtocol.RunResult {
        let host = CommandHost(engine: engine, cwd: cwd)
        var status: Int32 = 0
        await Self.$current.withValue(host) {
            do {
                var command = try Polychat.parseAsRoot(argv)
                guard Self.routable(command) else {
                    host.write(
                        "polychat: '\(argv.first ?? "")' cannot go through the running polychat (\(Self.refusal)); "
                            + "quit it first, then run the command again\n",
                        to: 2
                    )
                    status = ChatError.Code.busy.exitStatus
                    return
                }
                if var asynchronous = command as? any AsyncParsableCommand {
                    try await asynchronous.run()
                } else {
                    try command.run()
                }
            } catch {
                let message = Polychat.fullMessage(for: error)
                status = Polychat.exitCode(for: error).rawValue
                if !message.isEmpty { host.write(message + "\n", to: status == 0 ? 1 : 2) }
            }
        }
        return InstanceProtocol.RunResult(status: status, stdout: host.stdout, stderr: host.stderr)
    }

    static let refusal = "it needs files, a passphrase or the terminal of this process"
}

/// A command that may run through a running instance (see ``CommandHost/routable(_:)``).
protocol RoutableCommand {
    /// Its state directory: where the instance it goes through would run.
    var state: StateOptions { get }
    /// Whether this command line may go through an instance.
    var isRoutable: Bool { get }
}

extension RoutableCommand {
    var isRoutable: Bool { true }
}

/// Prints a line of a command's output (to the caller of a routed command, if it is one).
func say(_ text: String, terminator: String = "\n") {
    if let host = CommandHost.current {
        host.write(text + terminator, to: 1)
    } else {
        Terminal.write(text + terminator)
    }
}

// MARK: The commands a running instance runs for other processes

extension Whoami: RoutableCommand {}
extension Sync: RoutableCommand {}
extension Post: RoutableCommand {}
extension Reply: RoutableCommand {}
extension Follow: RoutableCommand { var state: StateOptions { self.target.state } }
extension Unfollow: RoutableCommand { var state: StateOptions { self.target.state } }
extension Feed: RoutableCommand {}
extension Profile.Show: RoutableCommand {}
extension Profile.Change: RoutableCommand {}
extension Rooms: RoutableCommand {}
extension Room.Create: RoutableCommand {}
extension Room.Invite: RoutableCommand { var state: StateOptions { self.member.state } }
extension Room.Remove: RoutableCommand { var state: StateOptions { self.member.state } }
extension Room.Leave: RoutableCommand {}
extension Room.Members: RoutableCommand {}
extension DirectMessage: RoutableCommand {}
extension Send: RoutableCommand {}
extension Files: RoutableCommand {}
extension Save: RoutableCommand {}
extension Read: RoutableCommand {}
extension Contacts.List: RoutableCommand {}
extension Contacts.Change: RoutableCommand {}
extension Contacts.Change.Accept: RoutableCommand {}
extension Contacts.Change.Revoke: RoutableCommand {}
extension Contacts.Change.Block: RoutableCommand {}
extension Contacts.Change.Unblock: RoutableCommand {}
extension Contacts.Name: RoutableCommand {}
extension Presence.Show: RoutableCommand {}
extension Presence.Invisible: RoutableCommand {}
extension Presence.Visible: RoutableCommand {}
extension Devices.List: RoutableCommand {}
extension Devices.Revoke: RoutableCommand {}
