import MLS
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `mls-benchmark [SIZES…]`: commit create/process and Welcome join for groups of the given
/// sizes (default 16 64 128 1000 10000), cipher suite 1. The group is built as mls-rs's fixtures
/// are: the creator adds everyone in one commit, so the tree is sparse (no member has updated).
@main
enum MLSBenchmark {
    static let suite = CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519

    static func main() throws {
        let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }
        print("members   setup s   commit create ms   commit process ms   welcome join ms   state KiB   peak RSS MiB")
        for size in sizes.isEmpty ? [16, 64, 128, 1000, 10000] : sizes {
            try Self.run(size: size)
        }
    }

    static func credential(_ n: Int) -> Credential { .basic(identity: Array("member-\(n)".utf8)) }

    static func run(size: Int) throws {
        let clock = ContinuousClock()
        let setupStart = clock.now
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
        let setup = seconds(clock.now - setupStart)

        // Welcome join of the last member (tree in the Welcome, full validation).
        let iterations = size >= 10000 ? 2 : size >= 1000 ? 4 : 10
        var member: MLSGroup?
        let join = try median(iterations, clock) {
            member = try MLSGroup(welcome: add.welcome!, keyPackage: packages.last!)
        }

        // Commit create: an empty commit with a path (the expensive kind in a sparse tree).
        var commit: CommitResult?
        let create = try median(iterations, clock) {
            var copy = creator
            commit = try copy.update()
        }
        // Commit process: the member applies that commit.
        let process = try median(iterations, clock) {
            var copy = member!
            _ = try copy.process(commit!.commit)
        }
        let stateSize = member!.serialized().count
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
