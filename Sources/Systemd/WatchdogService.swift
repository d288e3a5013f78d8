import CSystemd
public import Logging
public import ServiceLifecycle

/// Sends `WATCHDOG=1` at half the interval systemd asked for (`WatchdogSec=` in the unit, seen
/// as `WATCHDOG_USEC`), until graceful shutdown. When the watchdog is not enabled for this
/// process, ``run()`` just waits for shutdown.
///
/// The pings come from a task on the shared concurrency pool, so a wedged pool (every thread
/// blocked) stops them and systemd restarts the service.
public struct WatchdogService: Service, CustomStringConvertible {
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let interval: Duration?

    /// - Parameter interval: overrides the interval read from the environment (for tests).
    public init(notifier: SystemdNotifier = SystemdNotifier(), interval: Duration? = nil, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
        self.interval = interval ?? Self.intervalFromEnvironment()
    }

    /// Half of `WATCHDOG_USEC`, or `nil` when the watchdog is off for this process.
    public static func intervalFromEnvironment() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    public var description: String { "WatchdogService" }

    public func run() async throws {
        guard let interval = self.interval else {
            try? await gracefulShutdown()
            return
        }
        self.logger.info("systemd watchdog enabled", metadata: ["systemd.watchdog.interval": "\(interval)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.notifier.notify(.watchdog)
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }
}
