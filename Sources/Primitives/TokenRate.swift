/// A token bucket's shape: `rate` tokens per `per`, holding at most `burst` — every rate limit
/// of the configuration (`"<count>/<period>"` with a burst) is one.
public struct TokenRate: Sendable, Hashable {
    public var rate: Double
    public var per: Duration
    public var burst: Double

    public init(_ rate: Double, per: Duration, burst: Double) {
        self.rate = rate
        self.per = per
        self.burst = burst
    }
}
