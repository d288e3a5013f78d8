import GatewayWire
package import Primitives

/// Every limit of docs/GATEWAY_SPEC.md §7, with its default (the `[gateway]` configuration
/// section overrides them).
package struct GatewayLimits: Sendable, Hashable {
    /// A token bucket's shape (`TokenRate`, shared with `[presence]`).
    package typealias Rate = TokenRate

    package var maxFrameBytes = 1 << 20
    package var maxMessageBytes = 256 << 10
    package var sendQueueFrames = 1024
    package var sendQueueBytes = 8 << 20
    /// Generous enough that a household or an office behind one address (NAT, a proxy, a CDN
    /// without `trusted_proxies`) never meets it in normal use: every polychat command is a
    /// connection (ADR 0017).
    package var connectPerIP = Rate(300, per: .seconds(60), burst: 300)
    package var sendPerDevice = Rate(50, per: .seconds(1), burst: 200)
    package var claimPerDevice = Rate(30, per: .seconds(60), burst: 60)
    package var authFailuresPerIP = Rate(60, per: .seconds(600), burst: 60)
    /// How long a pairing code works (docs/GATEWAY_SPEC.md §12).
    package var pairingTTL: Duration = .seconds(300)
    /// Pairings one user may start.
    package var pairingsPerUser = Rate(5, per: .seconds(600), burst: 5)
    /// Pairing reads and claims from one client IP (every guess at a code is one).
    package var pairingAttemptsPerIP = Rate(20, per: .seconds(600), burst: 20)
    /// Rate-limit errors within a minute before the connection is closed with 4029.
    package var penaltyAfterLimits = 5
    package var pingInterval: Duration = .seconds(20)
    package var authTimeout: Duration = .seconds(10)
    /// Sessions (WebSocket and SSE) that may be open at once before they authenticate or
    /// resume; more are refused with 503.
    package var maxUnauthenticated = 1024
    package var resumeTTL: Duration = .seconds(600)
    package var keyPackagesPerUpload = 100
    package var keyPackagesPerDevice = 1000
    package var keyPackagesLow = 10
    /// The longest total lifetime (`not_after - not_before`) an uploaded KeyPackage may have
    /// (RFC 9420 §7.2: a maximum total lifetime is the application's to set).
    package var keyPackageMaxLifetime: Duration = .seconds(90 * 24 * 3600)
    /// Members a conversation may have.
    package var maxMembers = 10_000
    /// Users one Commit may add.
    package var maxAddedPerCommit = 100
    package var pastEpochs: UInt64 = 2
    package var retention: Duration = .seconds(30 * 24 * 3600)
    /// Sealed sessions (ADR 0025): required, optional or off.
    package var sealed = SealedPolicy.optional
    /// The sizes the gateway pads its sealed frames to (§14.3), increasing.
    package var sealedPadding = SealedChannel.defaultBuckets
    /// How long a key replaced by `polygated rotate-keys` stays accepted.
    package var sealedKeyOverlap: Duration = .seconds(7 * 24 * 3600)

    package init() {}
}
