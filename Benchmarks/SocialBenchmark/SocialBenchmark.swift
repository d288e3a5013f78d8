import Polycentric
import PolycentricClient
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `social-benchmark URL [EVENTS] [BATCH] [CONCURRENCY]`: signed posts through `POST /events`
/// of a running server, with signature verification and storage on the server side. The events
/// (from 100 systems) are signed before the clock starts; the numbers are events/s and the
/// latency of one batch.
@main
enum SocialBenchmark {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let url = arguments.first else {
            print("usage: social-benchmark URL [EVENTS=60000] [BATCH=100] [CONCURRENCY=8]")
            exit(64)
        }
        let total = arguments.count > 1 ? Int(arguments[1]) ?? 60000 : 60000
        let batch = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
        let concurrency = arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8
        let server = try PolycentricServer(baseURL: url, userAgent: "social-benchmark")

        var logs = (0..<100).map { _ in ProcessLog(key: .generate()) }
        var batches: [[VerifiedEvent]] = []
        var current: [VerifiedEvent] = []
        for n in 0..<total {
            current.append(
                try logs[n % logs.count].post("benchmark post \(n) with some text to index", at: 1_700_000_000_000 + UInt64(n))
            )
            if current.count == batch {
                batches.append(current)
                current = []
            }
        }
        if !current.isEmpty { batches.append(current) }

        let clock = ContinuousClock()
        // What the server cannot avoid: one Ed25519 verification per event, on one thread.
        let events = batches.joined().map { (signature: $0.signature, bytes: $0.eventBytes, key: $0.systemKey) }
        let verifyStart = clock.now
        for event in events {
            guard SignatureAlgorithm.ed25519.verify(event.signature, message: event.bytes, publicKey: event.key) else {
                print("a benchmark event does not verify")
                exit(1)
            }
        }
        let verify = Self.milliseconds(clock.now - verifyStart) * 1000 / Double(events.count)

        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<concurrency {
                let mine = stride(from: worker, to: batches.count, by: concurrency).map { batches[$0] }
                group.addTask {
                    var samples: [Double] = []
                    for events in mine {
                        let sent = clock.now
                        try await server.post(events)
                        samples.append(Self.milliseconds(clock.now - sent))
                    }
                    return samples
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        let seconds = Self.milliseconds(clock.now - start) / 1000
        let rate = Double(total) / seconds
        print("events  batch  concurrency  seconds  events/s  batch p50 ms  batch p99 ms")
        print(
            "\(total)  \(batch)  \(concurrency)  \(Self.fixed(seconds, 2))  \(Int(rate))  "
                + "\(Self.fixed(latencies[latencies.count / 2], 2))  \(Self.fixed(latencies[min(latencies.count - 1, latencies.count * 99 / 100)], 2))"
        )
        print("verifying the signatures alone: \(Self.fixed(verify, 1)) µs per event (one thread)")
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}
