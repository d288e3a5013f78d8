package import Primitives

/// A token bucket as a value: `take` at a given instant either spends one token or says how
/// long until one is available. No clock inside; the caller passes time, so tests need none.
package struct TokenBucket: Sendable, Hashable {
    package let shape: GatewayLimits.Rate
    private var tokens: Double
    private var updated: Duration

    /// A full bucket at time `now` (a duration since any fixed origin).
    package init(_ shape: GatewayLimits.Rate, now: Duration) {
        self.shape = shape
        self.tokens = shape.burst
        self.updated = now
    }

    private var perSecond: Double {
        self.shape.rate / (Double(self.shape.per.components.seconds) + Double(self.shape.per.components.attoseconds) / 1e18)
    }

    /// Spends one token at `now`; nil when allowed, else how long to wait for the next token.
    package mutating func take(now: Duration) -> Duration? {
        self.refill(now: now)
        if self.tokens >= 1 {
            self.tokens -= 1
            return nil
        }
        return self.wait
    }

    /// Whether a token is available at `now`, without spending it: nil when one is, else how
    /// long until one is.
    package mutating func check(now: Duration) -> Duration? {
        self.refill(now: now)
        return self.tokens >= 1 ? nil : self.wait
    }

    /// Spends one token even when none is left (the level may go below zero, down to `-burst`):
    /// for events that are counted after the fact, such as failed authentications.
    package mutating func charge(now: Duration) {
        self.refill(now: now)
        self.tokens = max(self.tokens - 1, -self.shape.burst)
    }

    /// Tokens available at `now`.
    package mutating func level(now: Duration) -> Double {
        self.refill(now: now)
        return self.tokens
    }

    /// Whether the bucket is full at `now` (it then carries no state worth keeping).
    package mutating func isFull(now: Duration) -> Bool {
        self.level(now: now) >= self.shape.burst
    }

    private mutating func refill(now: Duration) {
        guard now > self.updated else { return }
        let elapsed = now - self.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        self.tokens = min(self.shape.burst, self.tokens + seconds * self.perSecond)
        self.updated = now
    }

    private var wait: Duration {
        let wait = (1 - self.tokens) / self.perSecond
        return .milliseconds(Int64((wait * 1000).rounded(.up)))
    }
}
