/// Reconnect delays: exponential from `base` to `cap`, with full jitter in the upper half
/// (so a gateway restart does not bring every client back in the same second). A value.
public struct Backoff: Sendable {
    public let base: Duration
    public let cap: Duration
    private(set) var attempt = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before the next try; each call doubles the ceiling.
    public mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let ceiling = min(self.cap, self.base * (1 << min(self.attempt, 20)))
        self.attempt += 1
        let milliseconds = Int(ceiling / .milliseconds(1))
        return .milliseconds(Int.random(in: (milliseconds / 2)...max(milliseconds / 2, milliseconds), using: &random))
    }

    public mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return self.next(using: &random)
    }

    /// After a connection that worked.
    public mutating func reset() { self.attempt = 0 }
}
