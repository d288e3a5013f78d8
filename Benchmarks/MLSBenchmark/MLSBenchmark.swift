import MLS
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `mls-benchmark [SIZES…]`: commit create/process and Welcome join for groups of the given
/// sizes (default 16 64 128 1000 10000), cipher suite 1. The group is built as mls-rs's fixtures
/// are: the creator adds everyone in one commit, so the tree is sparse (no member has updated).
///
/// `mls-benchmark --compare SIZES…` (for scripts/bench-mls-compare.sh): one line per size,
/// `polygate SIZE CREATE_MS PROCESS_MS CREATE_CPU_MS`, medians of `RUNS` (default 10) — the
/// figures the independent stack's script prints for the same fixtures.
///
/// `mls-benchmark --profile create|process|join SIZE COUNT`: one operation in a loop, for perf.
@main
enum MLSBenchmark {
    static let suite = CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519

    static func main() throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--compare" {
            arguments.removeFirst()
            let runs = getenv("RUNS").flatMap { Int(String(cString: $0)) } ?? 10
            for size in arguments.compactMap({ Int($0) }) { try Self.compare(size: size, runs: runs) }
            return
        }
        if arguments.first == "--profile", arguments.count == 4, let size = Int(arguments[2]), let count = Int(arguments[3]) {
            try Self.profile(arguments[1], size: size, count: count)
            return
        }
        let sizes = arguments.compactMap { Int($0) }
        print("members   setup s   commit create ms   commit process ms   welcome join ms   state KiB   peak RSS MiB")
        for size in sizes.isEmpty ? [16, 64, 128, 1000, 10000] : sizes {
            try Self.run(size: size)
        }
    }

    static func credential(_ n: Int) -> Credential { .basic(identity: Array("member-\(n)".utf8)) }

    /// Create (wall and CPU time: path secrets are encrypted on all cores) and process, as
    /// mlsrs_bench.py measures them: each run's commit is applied by the creator and by the
    /// last member before the next one.
    static func compare(size: Int, runs: Int) throws {
        let clock = ContinuousClock()
        var (creator, add, last) = try Self.fixture(size: size)
        var member = try MLSGroup(welcome: add.welcome!, keyPackage: last)
        var create: [Double] = []
        var cpu: [Double] = []
        var process: [Double] = []
        for _ in 0..<runs {
            let (start, startCPU) = (clock.now, cpuSeconds())
            let commit = try creator.update()
            create.append(seconds(clock.now - start))
            cpu.append(cpuSeconds() - startCPU)
            _ = try creator.process(commit.commit)
            let applied = clock.now
            _ = try member.process(commit.commit)
            process.append(seconds(clock.now - applied))
        }
        func median(_ samples: [Double]) -> String { fixed(samples.sorted()[samples.count / 2] * 1000, 2) }
        print("polygate \(size) \(median(create)) \(median(process)) \(median(cpu))")
    }

    /// `mls-benchmark --profile create|process|join SIZE COUNT`: one operation COUNT times in a
    /// loop and nothing else, for `perf record` (docs/BENCHMARKS.md's profiles).
    static func profile(_ operation: String, size: Int, count: Int) throws {
        guard ["create", "process", "join"].contains(operation) else {
            print("usage: mls-benchmark --profile create|process|join SIZE COUNT (not '\(operation)')")
            exit(64)
        }
        let (creator, add, last) = try Self.fixture(size: size)
        let member = try MLSGroup(welcome: add.welcome!, keyPackage: last)
        var copy = creator
        let commit = try copy.update()
        for _ in 0..<count {
            switch operation {
            case "create":
                var group = creator
                _ = try group.update()
            case "process":
                var group = member
                _ = try group.process(commit.commit)
            default:  // join
                _ = try MLSGroup(welcome: add.welcome!, keyPackage: last)
            }
        }
    }

    /// The creator's group after adding `size - 1` members in one commit, that commit, and the
    /// last member's KeyPackage.
    static func fixture(size: Int) throws -> (MLSGroup, CommitResult, KeyPackageSecrets) {
        let creatorKey = suite.signature.generatePrivateKey()
        var creator = try MLSGroup.create(
            cipherSuite: suite,
            leafNode: try LeafNode.template(credential: credential(0), signingKey: creatorKey, cipherSuite: suite),
            signingKey: creatorKey
        )
        var packages: [KeyPackageSecrets] = []
        for n in 1..<size {
            packages.append(
                try KeyPackage.make(
                    cipherSuite: suite,
                    credential: credential(n),
                    signingKey: suite.signature.generatePrivateKey()
                )
            )
        }
        let add = try creator.addMembers(packages.map(\.keyPackage))
        _ = try creator.process(add.commit)
        return (creator, add, packages.last!)
    }

    /// CPU time of the whole process (every thread), in seconds.
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func run(size: Int) throws {
        let clock = ContinuousClock()
        let setupStart = clock.now
        let (creator, add, last) = try Self.fixture(size: size)
        let setup = seconds(clock.now - setupStart)

        // Welcome join of the last member (tree in the Welcome, full validation).
        let iterations = size >= 10000 ? 5 : 10
        // Every joined group is kept until after the timing: replacing the previous one inside
        // the timed block would time its deallocation too (tens of ms at 10,000 members).
        var joined: [MLSGroup] = []
        let join = try median(iterations, clock) {
            joined.append(try MLSGroup(welcome: add.welcome!, keyPackage: last))
        }
        let member = joined.removeLast()
        joined.removeAll()

        // Commit create: an empty commit with a path (the expensive kind in a sparse tree).
        var commit: CommitResult?
        let create = try median(iterations, clock) {
            var copy = creator
            commit = try copy.update()
        }
        // Commit process: the member applies that commit.
        let process = try median(iterations, clock) {
            var copy = member
            _ = try copy.process(commit!.commit)
        }
        let stateSize = member.serialized().count
        print(
            pad(String(size), 7) + pad(fixed(setup, 1), 10) + pad(fixed(create * 1000, 2), 19) + pad(fixed(process * 1000, 2), 20)
                + pad(fixed(join * 1000, 2), 18) + pad(String(stateSize / 1024), 12) + pad(String(peakRSS()), 15)
        )
    }

    static func median(_ n: Int, _ clock: ContinuousClock, _ body: () throws -> Void) throws -> Double {
        var samples: [Double] = []
        for _ in 0..<n {
            let start = clock.now
            try body()
            samples.append(seconds(clock.now - start))
        }
        return samples.sorted()[samples.count / 2]
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let whole = Int((value * scale).rounded())
        let integer = String(whole / Int(scale))
        let fraction = String(whole % Int(scale))
        return decimals == 0 ? integer : integer + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss / 1024
    }
}
