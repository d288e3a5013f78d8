package import Primitives

/// The `[presence]` section of the configuration (docs/GATEWAY_SPEC.md §10), with defaults.
package struct PresenceLimits: Sendable, Hashable {
    /// `lease_ttl`: a device's lease lasts this long unless renewed (a Ping renews it). Also how
    /// long another daemon's announcements stay valid without its heartbeat.
    package var leaseTTL: Duration = .seconds(60)
    /// `coalesce`: changes of one user within this window make one notification to watchers.
    package var coalesce: Duration = .seconds(1)
    /// `max_watched`: users one connection may watch at once.
    package var maxWatched = 100
    /// `watch_rate` and `watch_burst`: Watch requests per device.
    package var watch = TokenRate(10, per: .seconds(60), burst: 20)

    package init() {}
}
