import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A user of the real `polychat` binary: its own state directory (and key file beside it),
/// pointed at a test daemon. Every command is a child process.
struct PolychatUser: Sendable {
    let name: String
    let home: String
    let server: String
    var extraEnvironment: [String: String]
    /// The user id (`polychat whoami`).
    private(set) var id = ""

    static var binary: String { TestEnvironment.product("polychat") }

    /// A state directory for a device not initialised yet (`init --link` makes it).
    static func uninitialized(_ name: String, port: Int) -> PolychatUser {
        PolychatUser(
            name: name,
            home: TestEnvironment.makeDirectory("polychat-\(name)") + "/state",
            server: "http://127.0.0.1:\(port)",
            extraEnvironment: [:]
        )
    }

    /// Runs `polychat init` for a new user (or, with `importing`, a new device of one), at
    /// `http://127.0.0.1:port` unless `server` says otherwise.
    static func create(
        _ name: String,
        port: Int,
        importing export: String? = nil,
        environment: [String: String] = [:],
        server: String? = nil,
        initArguments: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> PolychatUser {
        var user = PolychatUser(
            name: name,
            home: TestEnvironment.makeDirectory("polychat-\(name)") + "/state",
            server: server ?? "http://127.0.0.1:\(port)",
            extraEnvironment: environment
        )
        var arguments = ["init", "--server", user.server, "--device-name", name] + initArguments
        if environment["POLYCHAT_PASSPHRASE"] != nil { arguments.append("--passphrase") }
        if let export {
            arguments += ["--import", export]
        } else if !initArguments.contains("--link") {
            arguments += ["--name", name]
        }
        let created = try await user.ok(arguments, sourceLocation: sourceLocation)
        #expect(created.contains("registered with"), "init did not register: \(created)", sourceLocation: sourceLocation)
        let whoami: [String: String] = try await user.json(["whoami", "--json"])
        user.id = whoami["user"] ?? ""
        #expect(user.id.count == 64, sourceLocation: sourceLocation)
        return user
    }

    var environment: [String: String] {
        var environment = TestEnvironment.baseEnvironment
        environment["POLYCHAT_HOME"] = self.home
        environment["TZ"] = "UTC"
        for (name, value) in self.extraEnvironment { environment[name] = value }
        return environment
    }

    /// Runs a command to its end (in `directory`, when given, through a shell's `cd`).
    func run(
        _ arguments: [String],
        input: String = "/dev/null",
        timeout: Duration = .seconds(60),
        directory: String? = nil
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let quoted = ([Self.binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let process = try TestProcess(
            executable: directory == nil ? Self.binary : "/bin/sh",
            arguments: directory.map { ["-c", "cd '\($0)' && exec " + quoted.joined(separator: " ")] } ?? arguments,
            environment: self.environment,
            standardInput: input,
            outputDirectory: TestEnvironment.scratchDirectory
        )
        let status = try await process.waitForExit(timeout: timeout)
        let result = (status, process.stdout, process.stderr)
        unlink(process.stdoutPath)
        unlink(process.stderrPath)
        return result
    }

    /// Starts `polychat chat --listen` (a live session that prints what arrives); kill it after.
    func listen() throws -> TestProcess {
        try TestProcess(
            executable: Self.binary,
            arguments: ["chat", "--listen"],
            environment: self.environment,
            outputDirectory: TestEnvironment.scratchDirectory
        )
    }

    /// Runs a command that must succeed; its standard output.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let (status, stdout, stderr) = try await self.run(arguments)
        guard status == 0 else {
            throw TestFailure("\(self.name): polychat \(arguments.joined(separator: " ")) exited \(status): \(stderr)\(stdout)")
        }
        return stdout
    }

    /// Runs a command that must fail with `status`; its standard error.
    @discardableResult
    func fails(
        _ arguments: [String],
        status expected: Int32,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let (status, stdout, stderr) = try await self.run(arguments)
        #expect(
            status == expected,
            "\(self.name): polychat \(arguments.joined(separator: " ")) exited \(status): \(stderr)\(stdout)",
            sourceLocation: sourceLocation
        )
        return stderr
    }

    /// Runs a `--json` command and decodes its output.
    func json<T: Decodable>(_ arguments: [String], as type: T.Type = T.self) async throws -> T {
        let out = try await self.ok(arguments)
        do {
            return try JSONDecoder().decode(T.self, from: Data(out.utf8))
        } catch {
            throw TestFailure("\(self.name): polychat \(arguments.joined(separator: " ")) printed no \(T.self): \(out)")
        }
    }

    // MARK: The JSON polychat prints

    struct Conversation: Decodable {
        var id, name, kind: String
        var peer: String?
        var members: [String]
        var unread: Int
        var left: Bool
    }

    struct Message: Decodable {
        var seq: UInt64
        var sender: String
        var senderName: String?
        var text: String
        var own: Bool
        var notice: Bool
    }

    struct Messages: Decodable {
        var id, name: String
        var left: Bool
        var messages: [Message]
    }

    func rooms() async throws -> [Conversation] { try await self.json(["rooms", "--json"]) }

    /// The messages (texts, notices excluded) of a conversation after fetching.
    func read(_ conv: String) async throws -> Messages { try await self.json(["read", conv, "--json"]) }

    func texts(_ conv: String) async throws -> [String] { try await self.read(conv).messages.filter { !$0.notice }.map(\.text) }

    /// The conversation named `name` (exactly one).
    func conversation(named name: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Conversation {
        let matches = try await self.rooms().filter { $0.name == name }
        guard matches.count == 1 else { throw TestFailure("\(self.name) has \(matches.count) conversations named \(name)") }
        return matches[0]
    }
}
