package import Logging
import Store
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The database server that ordinary integration tests share, and fresh databases on it.
///
/// `make test` starts a throwaway server and exports `POLYGATE_TEST_DATABASE_URL` (a superuser
/// URL); without it, the first test that needs a database starts a cluster of its own, which is
/// stopped when the test process exits.
package enum TestPostgres {
    private static let shared = Mutex<Task<String, any Error>?>(nil)
    private static let ownedCluster = Mutex<String?>(nil)

    /// The superuser URL of the shared server.
    package static func adminURL() async throws -> String {
        if let url = TestEnvironment.get("POLYGATE_TEST_DATABASE_URL") { return url }
        let task = Self.shared.withLock { task in
            if let task { return task }
            let started = Task<String, any Error> {
                let cluster = try await PostgresCluster.start()
                Self.ownedCluster.withLock { $0 = cluster.dataDirectory }
                atexit { TestPostgres.stopOwnedCluster() }
                return cluster.url()
            }
            task = started
            return started
        }
        return try await task.value
    }

    /// Creates an empty database, passes its URL to `body`, and drops it afterwards.
    package static func withDatabase<R>(_ body: (String) async throws -> R) async throws -> R {
        let admin = try await Self.adminURL()
        let name = "t_\(UInt64.random(in: 0...UInt64.max))"
        let client = PostgresClient(configuration: .init(conninfo: admin, maxConnections: 1), logger: Logger.quiet)
        defer { client.shutdown() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        let url = replacingDatabase(in: admin, with: name)
        do {
            let result = try await body(url)
            _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            return result
        } catch {
            _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            throw error
        }
    }

    /// `postgresql://user@host:port/old?x` → `postgresql://user@host:port/new?x`.
    package static func replacingDatabase(in url: String, with database: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return url + "/" + database }
        let query = rest[slash...].firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(url[..<slash]) + "/" + database + query
    }

    /// atexit hook: stops a cluster this process started (synchronously, best effort).
    static func stopOwnedCluster() {
        guard let data = Self.ownedCluster.withLock({ $0 }) else { return }
        let pgctl = "\(TestEnvironment.postgresBinDirectory)/pg_ctl"
        let argv =
            TestEnvironment.isRoot
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", pgctl, "-D", data, "-m", "immediate", "-w", "stop"]
            : [pgctl, "-D", data, "-m", "immediate", "-w", "stop"]
        runSynchronously(argv)
        // The cluster's files (tens of megabytes) go too; the scratch logs stay for inspection.
        runSynchronously(["/bin/rm", "-rf", String(data.dropLast("/data".count))])
    }

    private static func runSynchronously(_ argv: [String]) {
        var pid: pid_t = 0
        let rc = withCStrings(argv) { args in
            withCStrings(["PATH=/usr/bin:/bin"]) { env in posix_spawn(&pid, argv[0], nil, nil, args, env) }
        }
        if rc == 0 {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

extension Logger {
    /// A logger that prints only errors, for test plumbing.
    package static var quiet: Logger {
        var logger = Logger(label: "polygate.test")
        logger.logLevel = .error
        return logger
    }
}

extension String {
    fileprivate func range(of needle: String) -> Range<String.Index>? {
        var index = self.startIndex
        while index < self.endIndex {
            if self[index...].hasPrefix(needle) {
                return index..<self.index(index, offsetBy: needle.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
