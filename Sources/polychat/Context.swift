import ArgumentParser
import ChatClient
import ChatTerminal

#if canImport(Glibc)
import Glibc
#endif

/// Options every command takes.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The state directory (overrides $POLYCHAT_HOME).", valueName: "dir"))
    var home: String?

    /// The environment, with `--home` as `POLYCHAT_HOME`.
    var environment: [String: String] {
        var environment: [String: String] = [:]
        for (name, value) in ProcessEnvironment.all { environment[name] = value }
        if let home { environment["POLYCHAT_HOME"] = home }
        return environment
    }

    var directory: StateDirectory { StateDirectory.standard(environment: self.environment) }

    /// Opens the identity (asking for the passphrase when the state is sealed with one).
    func open(readOnly: Bool = false) throws(ChatError) -> ChatEngine {
        // Run by a running instance for another process: its engine.
        if let host = CommandHost.current { return host.engine }
        return try ChatEngine.open(directory: self.directory, environment: self.environment, readOnly: readOnly) {
            () throws(ChatError) in
            try Secrets.passphrase(self.environment, "POLYCHAT_PASSPHRASE", prompt: "polychat passphrase: ")
        }
    }
}

/// `--json` for the listing commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (for scripts) instead of text.")
    var json = false
}

/// The process environment as pairs.
enum ProcessEnvironment {
    static var all: [(String, String)] {
        var pairs: [(String, String)] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                pairs.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
            }
            pointer += 1
        }
        return pairs
    }
}

/// Passphrases: from the environment, else asked on the terminal.
enum Secrets {
    static func passphrase(
        _ environment: [String: String],
        _ variable: String,
        prompt: String,
        confirm: Bool = false
    ) throws(ChatError) -> String {
        if let value = environment[variable], !value.isEmpty { return value }
        guard let first = Terminal.readSecret(prompt: prompt) else {
            throw ChatError(.badArgument, "a passphrase is needed: set \(variable) or run polychat on a terminal")
        }
        guard !first.isEmpty else { throw ChatError(.badArgument, "the passphrase is empty") }
        if confirm {
            guard Terminal.readSecret(prompt: "again: ") == first else { throw ChatError(.badArgument, "the passphrases differ") }
        }
        return first
    }
}

/// Runs a command's body; a ``ChatError`` is printed ("polychat: …") and becomes the exit status.
func perform(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ChatError {
        printError("polychat: \(error)")
        throw ExitCode(exitStatus(error.code))
    } catch let error as ExitCode {
        throw error
    } catch let error as RawModeError {
        printError("polychat: \(error); use 'polychat chat' with output redirected for the line mode")
        throw ExitCode(1)
    } catch {
        printError("polychat: \(error)")
        throw ExitCode(1)
    }
}

func exitStatus(_ code: ChatError.Code) -> Int32 { code.exitStatus }

func printError(_ text: String) {
    if let host = CommandHost.current {
        host.write(text + "\n", to: 2)
    } else {
        Terminal.write(text + "\n", to: 2)
    }
}
