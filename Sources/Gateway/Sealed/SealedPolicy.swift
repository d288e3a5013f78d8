/// `[gateway] sealed`: whether clients must, may or cannot use sealed sessions (ADR 0025).
package enum SealedPolicy: String, Sendable, Hashable, CaseIterable {
    /// Only sealed sessions: the plain WebSocket and SSE routes refuse with 403.
    case required
    /// Both; clients choose.
    case optional
    /// Only plain sessions: no key file, the sealed routes answer 404.
    case off
}
