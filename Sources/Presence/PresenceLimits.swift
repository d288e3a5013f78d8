public import Primitives

/// The `[presence]` section of the configuration (docs/GATEWAY_SPEC.md §10), with defaults.
public struct PresenceLimits: Sendable, Hashable {
    /// `lease_ttl`: a device's lease lasts this long unless renewed (a Ping renews it). Also how
    /// long another daemon's announcements stay valid without its heartbeat.
    public var leaseTTL: Duration = .seconds(60)
    /// `coalesce`: changes of one user within this window make one notification to watchers.
    public var coalesce: Duration = .seconds(1)
    /// `max_watched`: users one connection may watch at once.
    public var maxWatched = 100
    /// `watch_rate` and `watch_burst`: Watch requests per device.
    public var watch = TokenRate(10, per: .seconds(60), burst: 20)

    public init() {}
}
