import Logging
import ServiceLifecycle
import Systemd
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SystemdNotifierRenderingTests {
    @Test func statesRenderAsNotifyProtocolAssignments() {
        let text = SystemdNotifier.render([.ready, .status("serving on 127.0.0.1:8080\nsecond line"), .watchdog])
        #expect(text == "READY=1\nSTATUS=serving on 127.0.0.1:8080 second line\nWATCHDOG=1")
        #expect(
            SystemdNotifier.render([.stopping, .extendTimeout(microseconds: 5_000_000), .errno(5), .reloading])
                == "STOPPING=1\nEXTEND_TIMEOUT_USEC=5000000\nERRNO=5\nRELOADING=1"
        )
    }
}

/// These change `NOTIFY_SOCKET` in this process, so they run one at a time.
@Suite(.serialized) struct SystemdNotifySocketTests {
    func withNotifySocket(_ body: (NotifySocket) async throws -> Void) async throws {
        let socket = try NotifySocket()
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        try await body(socket)
    }

    @Test func notifierDeliversOneDatagramPerCall() async throws {
        try await self.withNotifySocket { socket in
            let notifier = SystemdNotifier()
            #expect(notifier.isEnabled)
            #expect(notifier.notify(.ready, .status("ready")))
            #expect(await socket.receive(timeout: .seconds(5)) == "READY=1\nSTATUS=ready")
            #expect(notifier.notify(.stopping))
            #expect(await socket.receive(timeout: .seconds(5)) == "STOPPING=1")
        }
    }

    @Test func notifierIsSilentWithoutNotifySocket() {
        unsetenv("NOTIFY_SOCKET")
        let notifier = SystemdNotifier()
        #expect(!notifier.isEnabled)
        #expect(!notifier.notify(.ready))
    }

    @Test func watchdogPingsUntilGracefulShutdown() async throws {
        try await self.withNotifySocket { socket in
            let watchdog = WatchdogService(interval: .milliseconds(50), logger: .quiet)
            let group = ServiceGroup(configuration: .init(services: [watchdog], logger: .quiet))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Three pings, however long a loaded machine takes to schedule them (the whole
                // suite on two cores once starved a 5-second window); anything else is a failure.
                for _ in 0..<3 {
                    let received = try await socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(30))
                    #expect(received == ["WATCHDOG=1"], "the watchdog sent something else: \(received)")
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        setenv("WATCHDOG_USEC", "4000000", 1)
        defer { unsetenv("WATCHDOG_USEC") }
        #expect(WatchdogService.intervalFromEnvironment() == .seconds(2))
        setenv("WATCHDOG_PID", "1", 1)  // meant for another process
        defer { unsetenv("WATCHDOG_PID") }
        #expect(WatchdogService.intervalFromEnvironment() == nil)
    }
}
