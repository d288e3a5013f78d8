import ClientTLS
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `gateway-benchmark HOST PORT [CONNECTIONS] [GROUP] [SECONDS] [RATE] [DAEMON_PID]`: load on a
/// running polygated's realtime gateway over real WebSockets (over TLS when `GATEWAY_BENCH_CA`
/// names the authority of the daemon's certificate; sealed sessions when `GATEWAY_BENCH_SEALED`
/// holds the gateway's key, in hex).
///
/// 1. CONNECTIONS devices (one user each) connect and authenticate, 200 at a time; the daemon's
///    RSS is read before and after (with DAEMON_PID) for the memory per connection.
/// 2. They form CONNECTIONS / GROUP conversations of GROUP members (a Commit adds them).
/// 3. For SECONDS, the first member of every conversation sends — as fast as its `SendResult`s
///    come back (RATE 0), or RATE messages a second in all, spread evenly over the
///    conversations (an open loop, for latency below saturation). Every member (the sender too:
///    its echo) receives every message. Each message carries its send time, so every delivery
///    gives a send→receive latency.
@main
enum GatewayBenchmark {
    static let clock = ContinuousClock()

    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "blob-token" {
            // For scripts/bench-blobs.sh: a fresh user's device, registered, and its upload token.
            guard arguments.count == 3, let port = Int(arguments[2]) else {
                print("usage: gateway-benchmark blob-token HOST PORT")
                exit(64)
            }
            let token = try await BlobTokenRun.fetch(host: arguments[1], port: port)
            print(Hex.encode(token))
            return
        }
        if arguments.first == "presence" {
            arguments.removeFirst()
            guard arguments.count >= 3, let port = Int(arguments[1]) else {
                print(
                    "usage: gateway-benchmark presence HOST PORT DATABASE_URL [USERS=10000] [WATCHERS=50] [SECONDS=10] [RATE=1000] [DAEMON_PID]"
                )
                exit(64)
            }
            let number = { (index: Int, fallback: Int) in arguments.count > index ? Int(arguments[index]) ?? fallback : fallback }
            try await PresenceRun(
                host: arguments[0],
                port: port,
                databaseURL: arguments[2],
                users: number(3, 10_000),
                watchers: number(4, 50),
                seconds: number(5, 10),
                rate: Double(number(6, 1000)),
                daemon: arguments.count > 7 ? Int32(arguments[7]) : nil
            ).start()
            return
        }
        guard arguments.count >= 2, let port = Int(arguments[1]) else {
            print("usage: gateway-benchmark HOST PORT [CONNECTIONS=10000] [GROUP=10] [SECONDS=10] [RATE=0] [DAEMON_PID]")
            exit(64)
        }
        let host = arguments[0]
        let connections = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
        let groupSize = max(2, arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10)
        let seconds = arguments.count > 4 ? Int(arguments[4]) ?? 10 : 10
        let rate = arguments.count > 5 ? Double(arguments[5]) ?? 0 : 0
        let daemon = arguments.count > 6 ? Int32(arguments[6]) : nil
        // GATEWAY_BENCH_CA: connect with TLS, trusting this authority (scripts/bench-tls.sh).
        let tls = ProcessInfo.processInfo.environment["GATEWAY_BENCH_CA"].map { ClientTLS(caFiles: [$0]) }
        // GATEWAY_BENCH_SEALED: sealed sessions under this key (make bench-sealed: scripts/bench-tls.sh).
        let sealedKey = ProcessInfo.processInfo.environment["GATEWAY_BENCH_SEALED"].flatMap { $0.isEmpty ? nil : Hex.decode($0) }
        let run = Run(
            host: host,
            port: port,
            connections: connections,
            groupSize: groupSize,
            seconds: seconds,
            rate: rate,
            daemon: daemon,
            tls: tls,
            sealedKey: sealedKey
        )
        try await run.start()
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Resident and peak memory of a process, in KiB, from /proc.
    static func memory(of pid: Int32) -> (rss: Int, peak: Int)? {
        let text = readText("/proc/\(pid)/status")
        func field(_ name: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        guard let rss = field("VmRSS:"), let peak = field("VmHWM:") else { return nil }
        return (rss, peak)
    }

    /// CPU seconds (user + system) a process has used, from /proc.
    static func cpuSeconds(of pid: Int32) -> Double? {
        let text = readText("/proc/\(pid)/stat")
        // Fields after the command name (which is in parentheses and may hold spaces).
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func readText(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Runs `body` for every index of `range`, `concurrency` at a time.
    static func forEach(
        _ range: Range<Int>,
        concurrency: Int,
        _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = range.lowerBound
            for _ in 0..<min(concurrency, range.count) {
                let n = next
                next += 1
                group.addTask { try await body(n) }
            }
            while try await group.next() != nil {
                if next < range.upperBound {
                    let n = next
                    next += 1
                    group.addTask { try await body(n) }
                }
            }
        }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func format(_ value: Double, _ digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}
