public import Primitives

/// Every limit of docs/GATEWAY_SPEC.md §7, with its default (the `[gateway]` configuration
/// section overrides them).
public struct GatewayLimits: Sendable, Hashable {
    /// A token bucket's shape (`TokenRate`, shared with `[presence]`).
    public typealias Rate = TokenRate

    public var maxFrameBytes = 1 << 20
    public var maxMessageBytes = 256 << 10
    public var sendQueueFrames = 1024
    public var sendQueueBytes = 8 << 20
    /// Generous enough that a household or an office behind one address (NAT, a proxy, a CDN
    /// without `trusted_proxies`) never meets it in normal use: every polychat command is a
    /// connection (ADR 0017).
    public var connectPerIP = Rate(300, per: .seconds(60), burst: 300)
    public var sendPerDevice = Rate(50, per: .seconds(1), burst: 200)
    public var claimPerDevice = Rate(30, per: .seconds(60), burst: 60)
    public var authFailuresPerIP = Rate(60, per: .seconds(600), burst: 60)
    /// Rate-limit errors within a minute before the connection is closed with 4029.
    public var penaltyAfterLimits = 5
    public var pingInterval: Duration = .seconds(20)
    public var authTimeout: Duration = .seconds(10)
    /// Sessions (WebSocket and SSE) that may be open at once before they authenticate or
    /// resume; more are refused with 503.
    public var maxUnauthenticated = 1024
    public var resumeTTL: Duration = .seconds(600)
    public var keyPackagesPerUpload = 100
    public var keyPackagesPerDevice = 1000
    public var keyPackagesLow = 10
    /// The longest total lifetime (`not_after - not_before`) an uploaded KeyPackage may have
    /// (RFC 9420 §7.2: a maximum total lifetime is the application's to set).
    public var keyPackageMaxLifetime: Duration = .seconds(90 * 24 * 3600)
    /// Members a conversation may have.
    public var maxMembers = 10_000
    /// Users one Commit may add.
    public var maxAddedPerCommit = 100
    public var pastEpochs: UInt64 = 2
    public var retention: Duration = .seconds(30 * 24 * 3600)

    public init() {}
}
