import ClientTLS
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import SwiftProtobuf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One benchmark run: connections, groups, load, numbers.
final class Run: Sendable {
    let host: String
    let port: Int
    let connections: Int
    let groupSize: Int
    let seconds: Int
    /// Messages a second in all (0: as fast as acknowledged).
    let rate: Double
    let daemon: Int32?
    /// `wss://` with these settings (`GATEWAY_BENCH_CA`), else `ws://`.
    let tls: ClientTLS?
    /// Sealed sessions under this gateway key (`GATEWAY_BENCH_SEALED`, GATEWAY_SPEC §14), else
    /// plain ones.
    let sealedKey: [UInt8]?

    /// Message tags (first byte): set-up traffic, or measured (then 8 bytes of send time follow).
    static let warmUp: UInt8 = 0
    static let measured: UInt8 = 1

    private struct State {
        var connections: [Int: GatewayConnection] = [:]
        var ready = 0
        var warm = 0
        var failures: [String] = []
        var measuring = false
        var window: (start: ContinuousClock.Instant, end: ContinuousClock.Instant)?
        var latencies: [[Double]] = []
        /// Send → `SendResult` (the append is durable when it comes), per sender.
        var acknowledgements: [[Double]] = []
        var inWindow = 0
        var total = 0
    }

    private let state = Mutex(State())

    init(
        host: String,
        port: Int,
        connections: Int,
        groupSize: Int,
        seconds: Int,
        rate: Double,
        daemon: Int32?,
        tls: ClientTLS? = nil,
        sealedKey: [UInt8]? = nil
    ) {
        self.tls = tls
        self.sealedKey = sealedKey
        self.host = host
        self.port = port
        self.connections = connections
        self.groupSize = groupSize
        self.seconds = seconds
        self.rate = rate
        self.daemon = daemon
    }

    func start() async throws {
        let clock = GatewayBenchmark.clock
        _ = Run.origin  // send times count from here
        let users = (0..<self.connections).map { _ in SignatureAlgorithm.ed25519.generatePrivateKey() }
        let devices = try users.enumerated().map { index, key in
            try DeviceCredentials.make(systemKey: key, deviceName: "bench-\(index)", nowMs: Self.wallMs())
        }
        let before = self.daemon.flatMap(GatewayBenchmark.memory(of:))
        let pace = self.rate > 0 ? "\(Int(self.rate)) messages/s" : "as fast as acknowledged"
        print(
            "gateway-benchmark: \(self.connections) \(self.sealedKey == nil ? "" : "sealed ")\(self.tls == nil ? "WebSocket" : "TLS WebSocket (wss)") connections, groups of \(self.groupSize), \(self.seconds) s of load, \(pace)"
        )

        try await withThrowingTaskGroup(of: Void.self) { group in
            // 1. Connect and authenticate, 200 at a time.
            let connectStart = clock.now
            for wave in stride(from: 0, to: self.connections, by: 200) {
                for index in wave..<min(wave + 200, self.connections) {
                    group.addTask { try await self.hold(index, devices[index]) }
                }
                try await self.wait("connections", timeout: .seconds(120)) {
                    $0.ready + $0.failures.count >= min(wave + 200, self.connections)
                }
            }
            let connectSeconds = GatewayBenchmark.milliseconds(clock.now - connectStart) / 1000
            let failures = self.state.withLock { $0.failures }
            guard failures.isEmpty else {
                throw BenchmarkFailure("\(failures.count) connections failed, first: \(failures[0])")
            }
            try await Task.sleep(for: .seconds(1))
            let after = self.daemon.flatMap(GatewayBenchmark.memory(of:))
            var line =
                "connections held: \(self.connections) (connect + authenticate \(GatewayBenchmark.format(Double(self.connections) / connectSeconds, 0))/s)"
            if let before, let after {
                let perConnection = Double(after.rss - before.rss) / Double(self.connections)
                line +=
                    "; polygated RSS \(before.rss / 1024) → \(after.rss / 1024) MiB = \(GatewayBenchmark.format(perConnection)) KiB per connection"
            }
            print(line)

            // 2. Conversations of `groupSize` members.
            let conversations = self.connections / self.groupSize
            let convs = (0..<conversations).map { _ in SecureRandom.bytes(count: 16) }
            try await self.forEach(0..<conversations, concurrency: 50) { n in
                let members = (n * self.groupSize)..<((n + 1) * self.groupSize)
                let creator = try self.connection(members.lowerBound)
                try await creator.call(
                    .createConversation(
                        .with {
                            $0.convID = .init(convs[n])
                            $0.groupInfo = .init([0xC0])
                        }
                    )
                )
                var add = Polygate_Gateway_V1_Send()
                add.convID = .init(convs[n])
                add.msgID = .init(SecureRandom.bytes(count: 16))
                add.kind = .commit
                add.epoch = 0
                add.message = .init([Self.warmUp] + Array("add".utf8))
                add.addedUsers = members.dropFirst().map { .init(devices[$0].userID) }
                add.groupInfo = .init([0xC1])
                try await creator.call(.send(add))
                try await creator.call(.send(Self.message(convs[n], tag: Self.warmUp)))
            }
            try await self.wait("every member's first message", timeout: .seconds(120)) {
                $0.warm >= conversations * self.groupSize
            }

            // 3. Load: each conversation's first member sends as fast as its sends are acknowledged.
            let cpuBefore = (
                daemon: self.daemon.flatMap(GatewayBenchmark.cpuSeconds(of:)), own: GatewayBenchmark.cpuSeconds(of: getpid())
            )
            let start = clock.now
            let end = start + .seconds(self.seconds)
            self.state.withLock {
                $0.measuring = true
                $0.window = (start, end)
            }
            let appends = try await withThrowingTaskGroup(of: Int.self) { senders in
                for n in 0..<conversations {
                    senders.addTask {
                        let sender = try self.connection(n * self.groupSize)
                        var sent = 0
                        var acknowledged: [Double] = []
                        defer { self.state.withLock { [acknowledged] in $0.acknowledgements.append(acknowledged) } }
                        // Open loop: this conversation's share of the rate, phases spread out.
                        let interval: Duration? =
                            self.rate > 0 ? .nanoseconds(Int64(Double(conversations) / self.rate * 1e9)) : nil
                        var next = start + (interval.map { $0 * Double(n) / Double(conversations) } ?? .zero)
                        while clock.now < end {
                            if let interval {
                                if next > clock.now { try await Task.sleep(until: next, clock: clock) }
                                next += interval
                                if next > end { break }
                            }
                            let before = clock.now
                            try await sender.call(.send(Self.message(convs[n], tag: Self.measured)))
                            acknowledged.append(GatewayBenchmark.milliseconds(clock.now - before))
                            sent += 1
                        }
                        return sent
                    }
                }
                var total = 0
                for try await sent in senders { total += sent }
                return total
            }
            let cpuAfter = (
                daemon: self.daemon.flatMap(GatewayBenchmark.cpuSeconds(of:)), own: GatewayBenchmark.cpuSeconds(of: getpid())
            )
            // Let the last deliveries arrive, then close every connection (which ends its reader).
            try await Task.sleep(for: .seconds(2))
            let open = self.state.withLock { Array($0.connections.values) }
            try await self.forEach(0..<open.count, concurrency: 500) { await open[$0].close() }
            try await group.waitForAll()

            let (latencies, inWindow, total) = self.state.withLock {
                ($0.latencies.flatMap { $0 }.sorted(), $0.inWindow, $0.total)
            }
            let acknowledgements = self.state.withLock { $0.acknowledgements.flatMap { $0 }.sorted() }
            let window = Double(self.seconds)
            print(
                "load: \(conversations) conversations × \(self.groupSize) members; appends \(appends) (\(GatewayBenchmark.format(Double(appends) / window, 0))/s); "
                    + "delivered \(total) (expected \(appends * self.groupSize)), \(GatewayBenchmark.format(Double(inWindow) / window, 0)) msgs/s within the window"
            )
            print(
                "send→receive latency: p50 \(GatewayBenchmark.format(GatewayBenchmark.percentile(latencies, 0.5), 2)) ms, "
                    + "p99 \(GatewayBenchmark.format(GatewayBenchmark.percentile(latencies, 0.99), 2)) ms, "
                    + "max \(GatewayBenchmark.format(latencies.last ?? 0, 2)) ms over \(latencies.count) deliveries"
            )
            print(
                "send→SendResult latency: p50 \(GatewayBenchmark.format(GatewayBenchmark.percentile(acknowledgements, 0.5), 2)) ms, "
                    + "p99 \(GatewayBenchmark.format(GatewayBenchmark.percentile(acknowledgements, 0.99), 2)) ms over \(acknowledgements.count) sends"
            )
            if let before = cpuBefore.daemon, let after = cpuAfter.daemon, inWindow > 0 {
                let used = after - before
                print(
                    "polygated CPU over the window: \(GatewayBenchmark.format(used / window, 2)) cores, "
                        + "\(GatewayBenchmark.format(used / Double(inWindow) * 1e6)) µs per delivery (appends included)"
                )
            }
            if let before = cpuBefore.own, let after = cpuAfter.own, inWindow > 0 {
                print("benchmark client CPU over the window: \(GatewayBenchmark.format((after - before) / window, 2)) cores")
            }
            if let pid = self.daemon, let memory = GatewayBenchmark.memory(of: pid) {
                print("polygated RSS at the end \(memory.rss / 1024) MiB, peak \(memory.peak / 1024) MiB")
            }
            if let own = GatewayBenchmark.memory(of: getpid()) {
                print("benchmark client RSS \(own.rss / 1024) MiB (its \(self.connections) connections)")
            }
        }
    }

    /// One device's connection for the whole run: authenticate, read every frame, count and time
    /// deliveries, until the run stops.
    private func hold(_ index: Int, _ device: DeviceCredentials) async throws {
        do {
            try await GatewayConnection.withWebSocket(
                host: self.host,
                port: self.port,
                path: self.sealedKey == nil ? "/v1/gateway" : "/v1/sealed",
                tls: self.tls,
                sealedKey: self.sealedKey
            ) { connection in
                try await connection.authenticate(device, register: true)
                self.state.withLock {
                    $0.connections[index] = connection
                    $0.ready += 1
                }
                var samples: [Double] = []
                var warm = false
                var inWindow = 0
                var total = 0
                // Until the run closes the connection.
                while let frame = await connection.nextEvent() {
                    guard case .delivery(let delivery) = frame.body, let tag = delivery.message.first else { continue }
                    if tag == Self.warmUp, delivery.kind == .application, !warm {
                        warm = true
                        self.state.withLock { $0.warm += 1 }
                    } else if tag == Self.measured, delivery.message.count >= 9 {
                        let now = GatewayBenchmark.clock.now
                        let sentNanos = delivery.message.dropFirst().prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                        let sent = Run.origin + .nanoseconds(Int64(sentNanos))
                        samples.append(GatewayBenchmark.milliseconds(now - sent))
                        total += 1
                        if let window = self.state.withLock({ $0.window }), now <= window.end { inWindow += 1 }
                    }
                }
                self.state.withLock {
                    $0.latencies.append(samples)
                    $0.inWindow += inWindow
                    $0.total += total
                }
            }
        } catch {
            self.state.withLock { $0.failures.append("\(error)") }
        }
    }

    static let origin = GatewayBenchmark.clock.now

    /// An application message: the tag, the send time (ns since `origin`), padding to 100 bytes.
    static func message(_ conv: [UInt8], tag: UInt8) -> Polygate_Gateway_V1_Send {
        let nanos = UInt64(max(0, GatewayBenchmark.milliseconds(GatewayBenchmark.clock.now - Self.origin) * 1_000_000))
        var body = Polygate_Gateway_V1_Send()
        body.convID = .init(conv)
        body.msgID = .init(SecureRandom.bytes(count: 16))
        body.kind = .application
        body.epoch = 1
        let stamp: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: nanos >> UInt64(56 - 8 * $0)) }
        let message: [UInt8] = [tag] + stamp + [UInt8](repeating: 0x42, count: 91)
        body.message = .init(message)
        return body
    }

    private func connection(_ index: Int) throws -> GatewayConnection {
        guard let connection = self.state.withLock({ $0.connections[index] }) else {
            throw BenchmarkFailure("connection \(index) is not up")
        }
        return connection
    }

    private func wait(_ what: String, timeout: Duration, until done: (borrowing State) -> Bool) async throws {
        let deadline = GatewayBenchmark.clock.now + timeout
        while !self.state.withLock({ done($0) }) {
            guard GatewayBenchmark.clock.now < deadline else { throw BenchmarkFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func forEach(
        _ range: Range<Int>,
        concurrency: Int,
        _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        try await GatewayBenchmark.forEach(range, concurrency: concurrency, body)
    }

    static func wallMs() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
