public import TestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A `polygated` child process that a fault run kills and starts again, on the same port and
/// configuration.
public final class ManagedDaemon: Sendable {
    public let harness: DaemonHarness
    private let process: Mutex<TestProcess?> = Mutex(nil)

    public init(harness: DaemonHarness) {
        self.harness = harness
    }

    public var port: Int { self.harness.port }

    /// The running process (the last one started).
    public var current: TestProcess? { self.process.withLock { $0 } }

    /// Starts the daemon and waits until `/readyz` answers 200; how long that took.
    @discardableResult
    public func start(readyWithin timeout: Duration = .seconds(60)) async throws -> Duration {
        let started = ContinuousClock.now
        let process = try self.harness.start()
        self.process.withLock { $0 = process }
        try await HTTPTestClient.waitFor(port: self.harness.port, "/readyz", timeout: timeout) { $0.status == 200 }
        return ContinuousClock.now - started
    }

    /// SIGKILL: no drain, no goodbye.
    public func kill9() {
        self.process.withLock { $0?.kill9() }
    }

    /// Whether the process has exited (and with what status).
    public var exitedStatus: Int32? { self.process.withLock { $0?.exitedStatus } }

    /// The standard error of the running process.
    public var stderr: String { self.process.withLock { $0?.stderr ?? "" } }
}
