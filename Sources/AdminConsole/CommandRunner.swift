import Control

#if canImport(Glibc)
import Glibc
#endif

/// Runs gwctl command lines (one-shot, script lines and console lines alike): `help` and `?`
/// from the registry, everything else over the control connection, which it opens when needed
/// and drops when it breaks (the next command reconnects). Returns exit statuses.
final class CommandRunner {
    enum Status {
        static let ok: Int32 = 0
        static let failed: Int32 = 1
        static let usage: Int32 = 2
        static let unreachable: Int32 = 3
        static let interrupted: Int32 = 130
    }

    let socket: String
    let output: ConsoleOutput
    private(set) var client: ControlClient?

    init(socket: String, output: ConsoleOutput, client: ControlClient? = nil) {
        self.socket = socket
        self.output = output
        self.client = client
    }

    /// The connection, opened if there is none.
    func connect() throws(ControlClient.Failure) -> ControlClient {
        if let client = self.client { return client }
        let client = try ControlClient(path: self.socket)
        self.client = client
        return client
    }

    /// Live ids for completion (nothing when the daemon cannot be reached).
    func ids(_ kind: ControlCommand.Kind, _ prefix: String) -> [String] {
        guard let client = try? self.connect() else { return [] }
        return client.ids(kind, prefix: prefix)
    }

    /// Runs one typed line.
    func execute(line: String) -> Int32 {
        do throws(ControlError) {
            return self.execute(try ControlCommandLine.tokenize(line))
        } catch {
            self.output.failure(error.code.name, error.message)
            return Status.usage
        }
    }

    /// Runs one command given as words.
    func execute(_ words: [String]) -> Int32 {
        guard !words.isEmpty else { return Status.ok }
        if words.last == "?" {
            let before = words.dropLast().joined(separator: " ") + (words.count > 1 ? " " : "")
            ConsoleOutput.write(ControlHelp.context(before: before, width: self.output.width) + "\n")
            return Status.ok
        }
        if let (command, rest) = try? ControlCommandLine.resolve(words), command.name == "help" {
            return self.help(rest)
        }
        let parsed: ParsedCommand
        do throws(ControlError) {
            parsed = try ControlCommandLine.parse(words)
        } catch {
            self.output.failure(error.code.name, error.message)
            return Status.usage
        }
        let client: ControlClient
        do throws(ControlClient.Failure) {
            client = try self.connect()
        } catch {
            self.output.failure("unreachable", error.message)
            return Status.unreachable
        }
        let streamed = parsed.command.streams && parsed.flag("follow")
        var widths: [Int]?
        do throws(ControlClient.Failure) {
            let response = try client.call(parsed, interrupt: SignalPipes.interrupt >= 0 ? SignalPipes.interrupt : nil) { event in
                self.output.event(event, of: parsed.command, widths: &widths)
            }
            // The terminal echoed ^C without a newline.
            if client.lastCallCancelled, isatty(1) == 1 { ConsoleOutput.write("\n") }
            return self.output.show(response, of: parsed.command, streamed: streamed)
        } catch {
            // The answer may still be on its way: this connection is out of step, drop it.
            self.client = nil
            switch error.code {
            case .interrupted:
                self.output.failure("interrupted", "interrupted (\(parsed.command.name) may still complete in the daemon)")
                return Status.interrupted
            default:
                self.output.failure("unreachable", error.message)
                return Status.unreachable
            }
        }
    }

    /// `help [WORDS…]`, from the registry.
    func help(_ words: [String]) -> Int32 {
        if self.output.json {
            let commands = ControlCommands.all.filter { command in
                words.isEmpty || zip(command.words, words.map { $0.lowercased() }).allSatisfy { $0.hasPrefix($1) }
            }
            let items: [ControlValue] = commands.map {
                [
                    "command": .string($0.name), "usage": .string($0.usage), "summary": .string($0.summary),
                    "mutating": .bool($0.mutating),
                ]
            }
            guard !items.isEmpty else {
                self.output.failure("unknown_command", "no command \(words.joined(separator: " ")) (gwctl help lists them)")
                return Status.usage
            }
            ConsoleOutput.write(ControlProtocol.pretty(["items": .array(items)]) + "\n")
            return Status.ok
        }
        do throws(ControlError) {
            ConsoleOutput.write(try ControlHelp.text(for: words, width: self.output.width) + "\n")
            return Status.ok
        } catch {
            self.output.failure(error.code.name, error.message)
            return Status.usage
        }
    }
}
