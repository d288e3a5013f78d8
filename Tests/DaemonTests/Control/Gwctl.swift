import Control
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `gwctl` binary, run as a child process against a test daemon's control socket.
enum Gwctl {
    static var binary: String { TestEnvironment.product("gwctl") }

    struct Run: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Standard output as JSON (`--json`).
        func json() throws -> ControlValue {
            try JSONDecoder().decode(ControlValue.self, from: Data(self.stdout.utf8))
        }

        /// The `items` of a JSON list result.
        func items() throws -> [ControlValue] {
            guard let items = try self.json()["items"]?.array else { throw TestFailure("no items in: \(self.stdout)") }
            return items
        }
    }

    /// Runs `gwctl --socket SOCKET ARGUMENTS…` to completion.
    static func run(
        _ arguments: [String],
        socket: String,
        environment: [String: String] = [:],
        standardInput: String = "/dev/null",
        executable: String = Gwctl.binary,
        prefix: [String] = []
    ) async throws -> Run {
        let directory = TestEnvironment.makeDirectory("gwctl")
        let process = try TestProcess(
            executable: prefix.first ?? executable,
            arguments: Array(prefix.dropFirst()) + (prefix.isEmpty ? [] : [executable]) + ["--socket", socket] + arguments,
            environment: TestEnvironment.baseEnvironment.merging(environment) { _, new in new },
            standardInput: standardInput,
            outputDirectory: directory
        )
        let status = try await process.waitForExit(timeout: .seconds(60))
        return Run(status: status, stdout: process.stdout, stderr: process.stderr)
    }

    /// Runs a command that must succeed; its standard output.
    @discardableResult
    static func ok(_ arguments: [String], socket: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Run {
        let run = try await Self.run(arguments, socket: socket)
        guard run.status == 0 else {
            throw TestFailure("gwctl \(arguments.joined(separator: " ")) exited \(run.status): \(run.stderr)\(run.stdout)")
        }
        return run
    }
}
