/// Reconnect delays: exponential from `base` to `cap`, with full jitter in the upper half
/// (so a gateway restart does not bring every client back in the same second). A value.
package struct Backoff: Sendable {
    package let base: Duration
    package let cap: Duration
    private(set) var attempt = 0

    package init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before the next try; each call doubles the ceiling.
    package mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let ceiling = min(self.cap, self.base * (1 << min(self.attempt, 20)))
        self.attempt += 1
        let milliseconds = Int(ceiling / .milliseconds(1))
        return .milliseconds(Int.random(in: (milliseconds / 2)...max(milliseconds / 2, milliseconds), using: &random))
    }

    package mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return self.next(using: &random)
    }

    /// After a connection that worked.
    package mutating func reset() { self.attempt = 0 }
}
