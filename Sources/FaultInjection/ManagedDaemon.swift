import Synchronization
package import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A `polygated` child process that a fault run kills and starts again, on the same port and
/// configuration.
package final class ManagedDaemon: Sendable {
    package let harness: DaemonHarness
    private let process: Mutex<TestProcess?> = Mutex(nil)

    package init(harness: DaemonHarness) {
        self.harness = harness
    }

    package var port: Int { self.harness.port }

    /// The running process (the last one started).
    package var current: TestProcess? { self.process.withLock { $0 } }

    /// Starts the daemon and waits until `/readyz` answers 200; how long that took.
    @discardableResult
    package func start(readyWithin timeout: Duration = .seconds(60)) async throws -> Duration {
        let started = ContinuousClock.now
        let process = try self.harness.start()
        self.process.withLock { $0 = process }
        try await HTTPTestClient.waitFor(port: self.harness.port, "/readyz", timeout: timeout) { $0.status == 200 }
        return ContinuousClock.now - started
    }

    /// SIGKILL: no drain, no goodbye.
    package func kill9() {
        self.process.withLock { $0?.kill9() }
    }

    /// Whether the process has exited (and with what status).
    package var exitedStatus: Int32? { self.process.withLock { $0?.exitedStatus } }

    /// The standard error of the running process.
    package var stderr: String { self.process.withLock { $0?.stderr ?? "" } }
}

extension ManagedDaemon {
    /// On a fresh durable cluster, `count` ready daemons (gateway ids `prefix0`, `prefix1` …)
    /// with `configuration` added to their files; `body` runs with them, and every daemon is
    /// killed and the cluster destroyed after, whatever happens.
    package static func withDaemons<T: Sendable>(
        _ count: Int,
        configuration: String,
        gatewayIDPrefix prefix: String,
        _ body: ([ManagedDaemon], PostgresCluster) async throws -> T
    ) async throws -> T {
        try await PostgresCluster.with(durable: true) { cluster in
            var daemons: [ManagedDaemon] = []
            defer { for daemon in daemons { daemon.kill9() } }
            for index in 0..<count {
                let harness = try DaemonHarness(
                    databaseURL: cluster.url(),
                    extra: "\n" + configuration,
                    gatewayID: "\(prefix)\(index)"
                )
                let daemon = ManagedDaemon(harness: harness)
                daemons.append(daemon)
                try await daemon.start()
            }
            return try await body(daemons, cluster)
        }
    }
}
