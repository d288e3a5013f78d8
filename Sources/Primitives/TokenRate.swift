/// A token bucket's shape: `rate` tokens per `per`, holding at most `burst` — every rate limit
/// of the configuration (`"<count>/<period>"` with a burst) is one.
package struct TokenRate: Sendable, Hashable {
    package var rate: Double
    package var per: Duration
    package var burst: Double

    package init(_ rate: Double, per: Duration, burst: Double) {
        self.rate = rate
        self.per = per
        self.burst = burst
    }
}
