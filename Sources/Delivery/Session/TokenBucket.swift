/// A token bucket as a value: `take` at a given instant either spends one token or says how
/// long until one is available. No clock inside; the caller passes time, so tests need none.
public struct TokenBucket: Sendable, Hashable {
    public let shape: GatewayLimits.Rate
    private var tokens: Double
    private var updated: Duration

    /// A full bucket at time `now` (a duration since any fixed origin).
    public init(_ shape: GatewayLimits.Rate, now: Duration) {
        self.shape = shape
        self.tokens = shape.burst
        self.updated = now
    }

    private var perSecond: Double {
        self.shape.rate / (Double(self.shape.per.components.seconds) + Double(self.shape.per.components.attoseconds) / 1e18)
    }

    /// Spends one token at `now`; nil when allowed, else how long to wait for the next token.
    public mutating func take(now: Duration) -> Duration? {
        if now > self.updated {
            let elapsed = now - self.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            self.tokens = min(self.shape.burst, self.tokens + seconds * self.perSecond)
            self.updated = now
        }
        if self.tokens >= 1 {
            self.tokens -= 1
            return nil
        }
        let wait = (1 - self.tokens) / self.perSecond
        return .milliseconds(Int64((wait * 1000).rounded(.up)))
    }
}
