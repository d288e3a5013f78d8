#if canImport(Glibc)
import Glibc
#endif

/// The two times a gateway needs: a monotonic one for deadlines and buckets (a duration since
/// the daemon started) and the wall clock in milliseconds for certificates, tokens and the
/// `accepted_ms` of log entries.
package struct GatewayClock: Sendable {
    private let origin: ContinuousClock.Instant

    package init() { self.origin = ContinuousClock.now }

    /// Monotonic time since this clock was made.
    package var now: Duration { ContinuousClock.now - self.origin }

    /// Milliseconds since the Unix epoch.
    package var wallMs: UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }

    /// Milliseconds since the epoch as `2026-12-05T14:23:00Z`.
    package static func iso8601(ms: Int64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Duration {
    /// Whole milliseconds (rounded down; negative durations give 0).
    package var milliseconds: Int64 {
        let ms = self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
        return max(ms, 0)
    }
}
