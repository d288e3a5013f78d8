import Foundation
import GatewayClient
import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `gateway-benchmark presence …`: presence fan-out. USERS devices (one user each) connect;
/// every user is a mutual contact of WATCHERS others (the consent rows are written straight
/// into PostgreSQL: setting up is not what is measured) and each connection watches its
/// WATCHERS contacts. For SECONDS, RATE users a second toggle invisibility; each toggle is a
/// presence change for WATCHERS watchers. Prints updates received per second, toggle→update
/// latency (coalescing included) and the daemon's memory per lease and per watch.
final class PresenceRun: Sendable {
    let host: String
    let port: Int
    let databaseURL: String
    let users: Int
    let watchers: Int
    let seconds: Int
    let rate: Double
    let daemon: Int32?

    private struct State {
        var connections: [Int: GatewayConnection] = [:]
        var ready = 0
        var failures: [String] = []
        /// When each user last toggled.
        var toggled: [[UInt8]: ContinuousClock.Instant] = [:]
        var latencies: [[Double]] = []
        var received = 0
        var inWindow = 0
        var window: (start: ContinuousClock.Instant, end: ContinuousClock.Instant)?
    }

    private let state = Mutex(State())

    init(host: String, port: Int, databaseURL: String, users: Int, watchers: Int, seconds: Int, rate: Double, daemon: Int32?) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.users = users
        self.watchers = watchers
        self.seconds = seconds
        self.rate = rate
        self.daemon = daemon
    }

    func start() async throws {
        let clock = GatewayBenchmark.clock
        print(
            "presence benchmark: \(self.users) leases, \(self.watchers) watchers each, \(Int(self.rate)) changes/s for \(self.seconds) s"
        )
        let devices = try (0..<self.users).map { index in
            try DeviceCredentials.make(
                systemKey: SignatureAlgorithm.ed25519.generatePrivateKey(),
                deviceName: "p\(index)",
                nowMs: Run.wallMs()
            )
        }
        let ids = devices.map(\.userID)
        // Contacts: user i and i+k (k = 1 … WATCHERS/2) grant each other, so everyone has
        // WATCHERS mutual contacts.
        let half = max(1, self.watchers / 2)
        var granters: [[UInt8]] = []
        var grantees: [[UInt8]] = []
        for i in 0..<self.users {
            for k in 1...half {
                let j = (i + k) % self.users
                granters += [ids[i].bytes, ids[j].bytes]
                grantees += [ids[j].bytes, ids[i].bytes]
            }
        }
        var quiet = Logger(label: "presence-benchmark")
        quiet.logLevel = .error
        let database = PostgresClient(configuration: .init(conninfo: self.databaseURL, maxConnections: 2), logger: quiet)
        defer { database.shutdown() }
        for start in stride(from: 0, to: granters.count, by: 20_000) {
            let end = min(start + 20_000, granters.count)
            try await database.query(
                """
                INSERT INTO gw_presence_grants (granter, grantee)
                SELECT * FROM unnest(\(PostgresArray(Array(granters[start..<end]))), \(PostgresArray(Array(grantees[start..<end]))))
                ON CONFLICT DO NOTHING
                """
            )
        }
        let contacts: [[[UInt8]]] = (0..<self.users).map { i in
            (1...half).flatMap { k -> [[UInt8]] in
                let (after, before) = (ids[(i + k) % self.users], ids[(i - k + self.users) % self.users])
                return [after.bytes, before.bytes]
            }
        }

        let before = self.daemon.flatMap(GatewayBenchmark.memory(of:))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for wave in stride(from: 0, to: self.users, by: 200) {
                for index in wave..<min(wave + 200, self.users) {
                    group.addTask { try await self.hold(index, devices[index]) }
                }
                try await self.wait(timeout: .seconds(120)) { $0.ready + $0.failures.count >= min(wave + 200, self.users) }
            }
            if let failure = self.state.withLock({ $0.failures.first }) { throw BenchmarkFailure(failure) }
            try await Task.sleep(for: .seconds(1))
            let leased = self.daemon.flatMap(GatewayBenchmark.memory(of:))
            // Everyone watches its contacts.
            let watchStart = clock.now
            try await GatewayBenchmark.forEach(0..<self.users, concurrency: 200) { index in
                let connection = try self.connection(index)
                try await connection.call(.watch(.with { $0.userIds = contacts[index].map { .init($0) } }))
            }
            let watchSeconds = GatewayBenchmark.milliseconds(clock.now - watchStart) / 1000
            try await Task.sleep(for: .seconds(2))
            let watched = self.daemon.flatMap(GatewayBenchmark.memory(of:))
            if let before, let leased, let watched {
                let perLease = Double(leased.rss - before.rss) / Double(self.users)
                let perWatch = Double(watched.rss - leased.rss) * 1024 / Double(self.users * contacts[0].count)
                print(
                    "memory: polygated RSS \(before.rss / 1024) → \(leased.rss / 1024) MiB with \(self.users) connections and leases "
                        + "(\(GatewayBenchmark.format(perLease)) KiB each) → \(watched.rss / 1024) MiB with \(self.users * contacts[0].count) watches "
                        + "(\(GatewayBenchmark.format(perWatch, 0)) bytes each); \(self.users) Watch requests in \(GatewayBenchmark.format(watchSeconds, 2)) s"
                )
            }

            // Load: RATE toggles a second, each user in turn.
            let cpuBefore = self.daemon.flatMap(GatewayBenchmark.cpuSeconds(of:))
            let start = clock.now
            let end = start + .seconds(self.seconds)
            self.state.withLock { $0.window = (start, end) }
            let interval = Duration.nanoseconds(Int64(1e9 / max(self.rate, 1)))
            var toggles = 0
            var invisible = [Bool](repeating: false, count: self.users)
            var next = start
            try await withThrowingTaskGroup(of: Void.self) { senders in
                var user = 0
                while clock.now < end {
                    if next > clock.now { try await Task.sleep(until: next, clock: clock) }
                    next += interval
                    let index = user % self.users
                    user += 1
                    invisible[index].toggle()
                    let flag = invisible[index]
                    toggles += 1
                    self.state.withLock { $0.toggled[ids[index].bytes] = clock.now }
                    let connection = try self.connection(index)
                    senders.addTask { try await connection.call(.setPresence(.with { $0.invisible = flag })) }
                    if toggles % 200 == 0 { try await senders.next() }
                }
                try await senders.waitForAll()
            }
            let cpuAfter = self.daemon.flatMap(GatewayBenchmark.cpuSeconds(of:))
            try await Task.sleep(for: .seconds(3))
            let open = self.state.withLock { Array($0.connections.values) }
            try await GatewayBenchmark.forEach(0..<open.count, concurrency: 500) { await open[$0].close() }
            try await group.waitForAll()

            let (latencies, received, inWindow) = self.state.withLock {
                ($0.latencies.flatMap { $0 }.sorted(), $0.received, $0.inWindow)
            }
            let window = Double(self.seconds)
            print(
                "changes \(toggles) (\(GatewayBenchmark.format(Double(toggles) / window, 0))/s): updates received \(received) "
                    + "(expected \(toggles * contacts[0].count)), \(GatewayBenchmark.format(Double(inWindow) / window, 0)) updates/s within the window"
            )
            print(
                "change→update latency (coalescing included): p50 \(GatewayBenchmark.format(GatewayBenchmark.percentile(latencies, 0.5), 1)) ms, "
                    + "p99 \(GatewayBenchmark.format(GatewayBenchmark.percentile(latencies, 0.99), 1)) ms"
            )
            if let cpuBefore, let cpuAfter, inWindow > 0 {
                print(
                    "polygated CPU over the window: \(GatewayBenchmark.format((cpuAfter - cpuBefore) / window, 2)) cores, "
                        + "\(GatewayBenchmark.format((cpuAfter - cpuBefore) / Double(inWindow) * 1e6)) µs per update"
                )
            }
            if let pid = self.daemon, let memory = GatewayBenchmark.memory(of: pid) {
                print("polygated RSS at the end \(memory.rss / 1024) MiB, peak \(memory.peak / 1024) MiB")
            }
        }
    }

    private func hold(_ index: Int, _ device: DeviceCredentials) async throws {
        do {
            try await GatewayConnection.withWebSocket(host: self.host, port: self.port) { connection in
                try await connection.authenticate(device, register: true)
                self.state.withLock {
                    $0.connections[index] = connection
                    $0.ready += 1
                }
                var samples: [Double] = []
                var received = 0
                var inWindow = 0
                while let frame = await connection.nextEvent() {
                    guard case .presence(let presence) = frame.body, presence.status != .unavailable else { continue }
                    let now = GatewayBenchmark.clock.now
                    let (toggled, window) = self.state.withLock { ($0.toggled[[UInt8](presence.userID)], $0.window) }
                    guard let window, let toggled, toggled >= window.start else { continue }
                    received += 1
                    samples.append(GatewayBenchmark.milliseconds(now - toggled))
                    if now <= window.end { inWindow += 1 }
                }
                self.state.withLock {
                    $0.latencies.append(samples)
                    $0.received += received
                    $0.inWindow += inWindow
                }
            }
        } catch {
            self.state.withLock { $0.failures.append("\(error)") }
        }
    }

    private func connection(_ index: Int) throws -> GatewayConnection {
        guard let connection = self.state.withLock({ $0.connections[index] }) else {
            throw BenchmarkFailure("connection \(index) is not up")
        }
        return connection
    }

    private func wait(timeout: Duration, until done: (borrowing State) -> Bool) async throws {
        let deadline = GatewayBenchmark.clock.now + timeout
        while !self.state.withLock({ done($0) }) {
            guard GatewayBenchmark.clock.now < deadline else { throw BenchmarkFailure("timed out") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
