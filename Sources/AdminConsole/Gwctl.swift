import BuildInfo
import Control

#if canImport(Glibc)
import Glibc
#endif

/// gwctl: one command from its arguments, one per line of standard input, or the console
/// (docs/CONTROL_PROTOCOL.md, gwctl(8)). Exit statuses: 0 ok, 1 the command failed, 2 usage,
/// 3 the daemon cannot be reached.
package enum Gwctl {
    package static let version = "gwctl \(PolygateVersion.string) (control protocol \(ControlProtocol.version))"

    /// Runs gwctl with the arguments after the program name; returns the exit status.
    package static func main(_ arguments: [String], environment: [String: String]) -> Int32 {
        let parsed: GwctlArguments
        do throws(GwctlArguments.Problem) {
            parsed = try GwctlArguments.parse(arguments, environment: environment)
        } catch {
            // --json may be among the arguments that did not parse: a script still gets an object.
            let json = arguments.prefix { $0 != "--" }.contains { $0 == "--json" || $0 == "-j" }
            ConsoleOutput(json: json, color: .automatic, environment: environment).failure("bad_arguments", error.description)
            return CommandRunner.Status.usage
        }
        if parsed.version {
            ConsoleOutput.write(Self.version + "\n")
            return CommandRunner.Status.ok
        }
        let output = ConsoleOutput(json: parsed.json, color: parsed.color, environment: environment)
        let runner = CommandRunner(socket: parsed.socket, output: output)
        if parsed.help {
            guard !parsed.words.isEmpty else {
                ConsoleOutput.write(GwctlArguments.usage + "\n")
                return CommandRunner.Status.ok
            }
            return runner.help(parsed.words.filter { !$0.hasPrefix("-") })
        }
        if !parsed.words.isEmpty {
            SignalPipes.install(resize: false)
            return runner.execute(parsed.words)
        }
        guard isatty(0) == 1 else { return Self.script(runner) }
        let client: ControlClient
        do throws(ControlClient.Failure) {
            client = try runner.connect()
        } catch {
            output.failure("unreachable", error.message)
            return CommandRunner.Status.unreachable
        }
        let hello = client.hello
        let socketKind = hello.readOnly ? "read-only socket" : "socket"
        let banner = """
            \(hello.server), gateway \(hello.gatewayID), on \(socketKind) \(client.path)
            Type help or ?; Tab completes commands and ids; Ctrl-D quits.
            """
        return Console(runner: runner, hello: hello, home: environment["HOME"]).run(banner: banner)
    }

    /// One command per line of standard input (blank lines and `#` comments skipped); the exit
    /// status is the last failure's, 0 when none failed.
    static func script(_ runner: CommandRunner) -> Int32 {
        SignalPipes.install(resize: false)
        var status = CommandRunner.Status.ok
        while let line = readLine() {
            let trimmed = line.trimmingBlanks
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let result = runner.execute(line: trimmed)
            if result != CommandRunner.Status.ok { status = result }
        }
        return status
    }
}
