/// gwctl's own command line: its options (anywhere before `--`), and the command words that
/// follow for the daemon. A value; parsing does no I/O.
package struct GwctlArguments: Sendable, Hashable {
    package enum Color: Sendable, Hashable {
        /// Colour when standard output is a terminal and NO_COLOR is unset.
        case automatic
        case always
        case never
    }

    package static let defaultSocket = "/run/polygate/control.sock"

    package var socket: String
    package var json = false
    package var color = Color.automatic
    /// `--help` / `-h`: gwctl's help, or the command's when words are given.
    package var help = false
    package var version = false
    /// The command's words; empty for the console.
    package var words: [String] = []

    /// Usage errors (exit status 2).
    package struct Problem: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// Parses the arguments after the program name; `environment` supplies GWCTL_SOCKET.
    package static func parse(_ arguments: [String], environment: [String: String]) throws(Problem) -> GwctlArguments {
        var parsed = GwctlArguments(socket: environment["GWCTL_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultSocket)
        var index = 0
        var ended = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if ended {
                parsed.words.append(argument)
                continue
            }
            switch argument {
            case "--":
                ended = true
                if !parsed.words.isEmpty { parsed.words.append(argument) }
            case "--json", "-j": parsed.json = true
            case "--color": parsed.color = .always
            case "--no-color": parsed.color = .never
            case "--help", "-h": parsed.help = true
            case "--version", "-V": parsed.version = true
            case "--socket", "-s":
                guard index < arguments.count, !arguments[index].isEmpty else {
                    throw Problem(description: "\(argument) needs a PATH")
                }
                parsed.socket = arguments[index]
                index += 1
            default:
                if argument.hasPrefix("--socket=") {
                    let path = String(argument.dropFirst("--socket=".count))
                    guard !path.isEmpty else { throw Problem(description: "--socket needs a PATH") }
                    parsed.socket = path
                } else if argument.hasPrefix("-") && parsed.words.isEmpty {
                    throw Problem(description: "unknown option \(argument) (gwctl --help)")
                } else {
                    parsed.words.append(argument)
                }
            }
        }
        return parsed
    }

    /// What `gwctl --help` prints.
    package static let usage = """
        usage: gwctl [--socket PATH] [--json] [--color|--no-color] [COMMAND [ARGUMENTS...]]

        The admin console of polygated: inspects conversations, devices, KeyPackage pools,
        presence leases, rate-limit state, connections and the audit ledger, and acts on them,
        through the daemon's control socket. Without a COMMAND it opens the console (readline,
        history in ~/.gwctl_history, Tab completes commands and live ids, ? helps); with
        standard input not a terminal it runs one command per input line.

        options:
          -s, --socket PATH   the control socket (default $GWCTL_SOCKET, else \(defaultSocket))
          -j, --json          print results as JSON (one object per line for streamed entries)
              --color         colour even when standard output is not a terminal
              --no-color      no colour (also when NO_COLOR is set)
          -h, --help          this help; with a COMMAND, that command's help
          -V, --version       gwctl's version

        exit status: 0 ok, 1 the command failed (or check found a failure), 2 usage error,
        3 cannot reach the daemon.

        gwctl help lists the commands; gwctl help COMMAND explains one. See gwctl(8).
        """
}
