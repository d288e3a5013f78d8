#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `polygated` binary as a child process.
package struct DaemonHarness: Sendable {
    package let directory: String
    package let port: Int
    package let configPath: String
    /// The read-write control socket (gwctl's).
    package let controlPath: String

    /// Writes a configuration for `databaseURL` with the HTTP listener on a free port and the
    /// control socket in the harness's directory; `control` adds lines to `[control]`, `http` to
    /// `[http]`.
    package init(
        databaseURL: String,
        extra: String = "",
        control: String = "",
        http: String = "",
        port: Int? = nil,
        gatewayID: String = "gw_test",
        connectTimeout: String = "2s"
    ) throws {
        self.directory = TestEnvironment.makeDirectory("daemon")
        self.port = port ?? TestEnvironment.freePort()
        self.configPath = "\(self.directory)/polygated.conf"
        self.controlPath = "\(self.directory)/control.sock"
        try writeFile(
            self.configPath,
            """
            [daemon]
            gateway_id = "\(gatewayID)"
            log_level = "debug"
            drain_timeout = "5s"
            state_directory = "\(self.directory)/state"

            [http]
            listen = "127.0.0.1:\(self.port)"
            \(http)

            [control]
            listen = "\(self.controlPath)"
            \(control.split(separator: "\n").contains { $0.hasPrefix("group") } ? "" : "group = \"\"")
            \(control)

            [database]
            url = "\(databaseURL)"
            connect_timeout = "\(connectTimeout)"
            ready_timeout = "1s"
            \(extra.contains("pool_size") ? "" : "pool_size = 4")
            \(extra)
            \(extra.contains("[blobs]") ? "" : "[blobs]\ndirectory = \"\(self.directory)/blobs\"")
            \(extra.contains("[web]") ? "" : "[web]\nroot = \"\(TestEnvironment.sourceRoot)/web\"")
            """
        )
    }

    package static var binary: String { TestEnvironment.product("polygated") }

    /// Starts `polygated serve` with the given extra environment.
    package func start(environment: [String: String] = [:], passing descriptors: [Int32] = []) throws -> TestProcess {
        try TestProcess(
            executable: Self.binary,
            arguments: ["serve", "--config", self.configPath],
            environment: TestEnvironment.baseEnvironment.merging(environment) { _, new in new },
            passing: descriptors,
            outputDirectory: self.directory
        )
    }

    /// Runs a polygated subcommand to completion.
    package static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try TestProcess(
            executable: Self.binary,
            arguments: arguments,
            environment: TestEnvironment.baseEnvironment,
            outputDirectory: TestEnvironment.scratchDirectory
        )
        let status = try await process.waitForExit(timeout: .seconds(60))
        return (status, process.stdout, process.stderr)
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    package static func stop(_ process: TestProcess) async throws -> Int32 {
        process.signal(SIGTERM)
        return try await process.waitForExit(timeout: .seconds(30))
    }
}
