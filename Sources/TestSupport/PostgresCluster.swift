#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster on loopback, made with `initdb` in a scratch directory.
///
/// When the tests run as root, the server runs as the `postgres` user (PostgreSQL refuses root).
/// Tests that stop or restart the server use a cluster of their own; the rest share one database
/// server through ``TestPostgres``.
package final class PostgresCluster: Sendable {
    package let directory: String
    package let port: Int
    /// `fsync`, `synchronous_commit` and `full_page_writes` on, as a deployment runs (crash and
    /// failover tests: with them off a crash test proves nothing about the disk path).
    package let durable: Bool
    /// More `-c name=value` settings for the server.
    package let settings: [String]

    package var dataDirectory: String { "\(self.directory)/data" }
    package var logPath: String { "\(self.directory)/server.log" }

    private init(directory: String, port: Int, durable: Bool, settings: [String]) {
        self.directory = directory
        self.port = port
        self.durable = durable
        self.settings = settings
    }

    /// The connection URL for `database` as the `postgres` superuser (trust authentication).
    package func url(database: String = "postgres") -> String {
        "postgresql://postgres@127.0.0.1:\(self.port)/\(database)"
    }

    /// Creates and starts a new cluster.
    package static func start(durable: Bool = false, settings: [String] = []) async throws -> PostgresCluster {
        let directory = TestEnvironment.makeDirectory("pg")
        try handToPostgresUser(directory)
        let cluster = PostgresCluster(
            directory: directory,
            port: TestEnvironment.freePort(),
            durable: durable,
            settings: settings
        )
        let initdb = try await runAsPostgres(
            "initdb",
            ["-D", cluster.dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]
        )
        guard initdb.status == 0 else { throw TestFailure("initdb failed (\(initdb.status)):\n\(initdb.output)") }
        try await cluster.startServer()
        return cluster
    }

    /// Starts a cluster, runs `body`, and destroys the cluster whatever happens.
    package static func with<R>(
        durable: Bool = false,
        settings: [String] = [],
        _ body: (PostgresCluster) async throws -> R
    ) async throws -> R {
        let cluster = try await PostgresCluster.start(durable: durable, settings: settings)
        do {
            let result = try await body(cluster)
            await cluster.destroy()
            return result
        } catch {
            await cluster.destroy()
            throw error
        }
    }

    /// A hot standby of this running cluster, streaming its WAL (`pg_basebackup -R -X stream`),
    /// started on a port of its own with the same settings. Destroy it too.
    package func startStandby() async throws -> PostgresCluster {
        let directory = TestEnvironment.makeDirectory("pg-standby")
        try Self.handToPostgresUser(directory)
        let standby = PostgresCluster(
            directory: directory,
            port: TestEnvironment.freePort(),
            durable: self.durable,
            settings: self.settings
        )
        let backup = try await Self.runAsPostgres(
            "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(self.port)", "-U", "postgres", "-D", standby.dataDirectory, "-R", "-X", "stream",
                "--no-sync",
            ]
        )
        guard backup.status == 0 else { throw TestFailure("pg_basebackup failed (\(backup.status)):\n\(backup.output)") }
        try await standby.startServer()
        return standby
    }

    /// `pg_ctl promote`: a standby becomes a primary (waits until it accepts writes).
    package func promote() async throws {
        let result = try await Self.runAsPostgres("pg_ctl", ["-D", self.dataDirectory, "-w", "-t", "60", "promote"])
        guard result.status == 0 else { throw TestFailure("pg_ctl promote failed (\(result.status)):\n\(result.output)") }
    }

    /// Starts the server (after ``stop()``).
    package func startServer() async throws {
        let durability =
            self.durable
            ? ["-c fsync=on", "-c synchronous_commit=on", "-c full_page_writes=on"]
            : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        let options =
            (["-c listen_addresses=127.0.0.1", "-p \(self.port)", "-k \(self.directory)", "-c max_connections=300"]
            + durability + self.settings.map { "-c \($0)" }).joined(separator: " ")
        let result = try await Self.runAsPostgres(
            "pg_ctl",
            ["-D", self.dataDirectory, "-l", self.logPath, "-w", "-t", "60", "-o", options, "start"]
        )
        guard result.status == 0 else {
            throw TestFailure("pg_ctl start failed (\(result.status)):\n\(result.output)\n\(readFile(self.logPath))")
        }
    }

    /// How `pg_ctl` stops the server.
    package enum StopMode: String, Sendable {
        /// Sessions are terminated, a checkpoint is written.
        case fast
        /// Like a crash (or a power cut with durable settings): no checkpoint, recovery on start.
        case immediate
    }

    /// Stops the server (`fast` mode by default: sessions are terminated, as in a restart).
    package func stop(mode: StopMode = .fast) async throws {
        let result = try await Self.runAsPostgres(
            "pg_ctl",
            ["-D", self.dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "stop"]
        )
        guard result.status == 0 else { throw TestFailure("pg_ctl stop failed (\(result.status)):\n\(result.output)") }
    }

    /// `pg_ctl restart`: every open connection is terminated.
    package func restart(mode: StopMode = .fast) async throws {
        try await self.stop(mode: mode)
        try await self.startServer()
    }

    /// Stops the server if it runs and deletes the cluster's files.
    package func destroy() async {
        _ = try? await Self.runAsPostgres("pg_ctl", ["-D", self.dataDirectory, "-m", "immediate", "-w", "stop"])
        _ = try? await TestProcess.run("/bin/rm", ["-rf", self.directory])
    }

    /// Runs a PostgreSQL binary, as the `postgres` user when we are root.
    static func runAsPostgres(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let binary = "\(TestEnvironment.postgresBinDirectory)/\(tool)"
        if TestEnvironment.isRoot {
            return try await TestProcess.run("/usr/sbin/runuser", ["-u", "postgres", "--", binary] + arguments)
        }
        return try await TestProcess.run(binary, arguments)
    }

    private static func handToPostgresUser(_ directory: String) throws {
        guard TestEnvironment.isRoot else { return }
        guard let user = getpwnam("postgres") else {
            throw TestFailure("running as root needs the 'postgres' user (apt install postgresql)")
        }
        guard chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
            throw TestFailure("chown \(directory) failed: errno \(errno)")
        }
    }
}
