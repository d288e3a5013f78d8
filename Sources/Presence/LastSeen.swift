/// Coarse last-seen (docs/GATEWAY_SPEC.md §10): a bucket, never a timestamp.
package enum LastSeenBucket: Int, Sendable, Hashable, CaseIterable {
    case now = 1
    case withinHour = 2
    case withinDay = 3
    case withinWeek = 4
    case longer = 5

    /// The bucket of a user who is `online`, or was last seen at `lastSeenMs` (nil: never).
    package static func of(online: Bool, lastSeenMs: UInt64?, nowMs: UInt64) -> LastSeenBucket {
        if online { return .now }
        guard let lastSeenMs else { return .longer }
        let ago = nowMs > lastSeenMs ? nowMs - lastSeenMs : 0
        switch ago {
        case ..<3_600_000: return .withinHour
        case ..<86_400_000: return .withinDay
        case ..<604_800_000: return .withinWeek
        default: return .longer
        }
    }
}
