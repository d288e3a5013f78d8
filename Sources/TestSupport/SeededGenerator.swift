/// A random number generator from a seed (SplitMix64), so that a randomized test can be
/// replayed: tests print the seed, and `POLYGATE_TEST_SEED=<seed>` runs the same inputs again.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    package let seed: UInt64
    private var state: UInt64

    package init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    /// The seed in `POLYGATE_TEST_SEED`, else a fresh random one.
    package static func fromEnvironment() -> SeededGenerator {
        let given = TestEnvironment.get("POLYGATE_TEST_SEED").flatMap { UInt64($0) }
        return SeededGenerator(seed: given ?? UInt64.random(in: 0...UInt64.max))
    }

    package mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
