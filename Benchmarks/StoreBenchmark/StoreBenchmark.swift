import Logging
import Store

#if canImport(Glibc)
import Glibc
#endif

/// `store-benchmark URL [SECONDS]`: throughput and latency of the Store against a real PostgreSQL.
///
/// Scenarios: sequential round trips on one connection; many concurrent tasks sharing a small pool
/// (pipelined once the pool is full); single-row INSERTs one by one versus batched in one pipeline.
@main
enum StoreBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: store-benchmark POSTGRES_URL [SECONDS_PER_SCENARIO]")
            exit(2)
        }
        let url = arguments[1]
        let seconds = arguments.count >= 3 ? Double(arguments[2]) ?? 3 : 3
        var logger = Logger(label: "store-benchmark")
        logger.logLevel = .error

        let setup = PostgresClient(configuration: .init(conninfo: url, maxConnections: 1), logger: logger)
        try await setup.query("DROP TABLE IF EXISTS bench_events")
        try await setup.query(
            "CREATE UNLOGGED TABLE bench_events (id bigserial PRIMARY KEY, conv int NOT NULL, body bytea NOT NULL)"
        )
        setup.shutdown()

        print(pad("scenario", 48) + "     ops/s    p50 ms   p99 ms")
        for (name, pool, tasks) in [
            ("SELECT, 1 task, pool 1", 1, 1), ("SELECT, 64 tasks, pool 1 (pipelined)", 1, 64),
            ("SELECT, 64 tasks, pool 4", 4, 64), ("SELECT, 64 tasks, pool 16", 16, 64),
        ] {
            let client = PostgresClient(
                configuration: .init(conninfo: url, maxConnections: pool, maxPipelineDepth: 64),
                logger: logger
            )
            let result = try await run(tasks: tasks, seconds: seconds) { i in
                _ = try await client.query("SELECT \(i)::int8")
            }
            report(name, result)
            client.shutdown()
        }
        let body = [UInt8](repeating: 0xAB, count: 256)
        for (name, batch) in [
            ("INSERT 256 B, 16 tasks, 1 row per call", 1), ("INSERT 256 B, 16 tasks, 100 rows per pipeline", 100),
        ] {
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 4), logger: logger)
            let result = try await run(tasks: 16, seconds: seconds, perCall: batch) { i in
                let statements = (0..<batch).map { k -> PostgresQuery in
                    "INSERT INTO bench_events (conv, body) VALUES (\(Int32((i + k) % 1000)), \(body))"
                }
                _ = try await client.pipeline(statements)
            }
            report(name, result)
            client.shutdown()
        }
        print("peak RSS: \(peakRSSMegabytes()) MiB")
    }

    struct Result {
        var operations: Int
        var elapsed: Double
        var latencies: [Double]
    }

    /// Runs `operation` from `tasks` tasks for `seconds`; each call counts as `perCall` operations.
    static func run(
        tasks: Int,
        seconds: Double,
        perCall: Int = 1,
        _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        let perTask = try await withThrowingTaskGroup(of: [Double].self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var latencies: [Double] = []
                    var i = t * 1_000_000
                    while clock.now < deadline {
                        let began = clock.now
                        try await operation(i)
                        latencies.append(milliseconds(clock.now - began))
                        i += 1
                    }
                    return latencies
                }
            }
            var all: [[Double]] = []
            for try await latencies in group { all.append(latencies) }
            return all
        }
        let latencies = perTask.flatMap { $0 }.sorted()
        return Result(
            operations: latencies.count * perCall,
            elapsed: milliseconds(clock.now - start) / 1000,
            latencies: latencies
        )
    }

    static func report(_ name: String, _ result: Result) {
        func percentile(_ p: Double) -> Double {
            result.latencies.isEmpty
                ? 0 : result.latencies[min(result.latencies.count - 1, Int(Double(result.latencies.count) * p))]
        }
        let rate = Double(result.operations) / result.elapsed
        print(
            pad(name, 48) + pad(fixed(rate, 0), 10, left: true) + pad(fixed(percentile(0.5), 2), 10, left: true)
                + pad(fixed(percentile(0.99), 2), 9, left: true)
        )
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        let scale = [1.0, 10, 100, 1000][decimals]
        let rounded = (value * scale).rounded() / scale
        var text = decimals == 0 ? String(Int(rounded)) : String(rounded)
        if decimals > 0, let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            text += String(repeating: "0", count: max(0, decimals - have))
        }
        return text
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let space = String(repeating: " ", count: max(0, width - text.count))
        return left ? space + text : text + space
    }

    static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss / 1024
    }
}
