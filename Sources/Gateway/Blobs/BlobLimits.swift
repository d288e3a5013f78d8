/// The `[blobs]` section (docs/GATEWAY_SPEC.md §13): where encrypted attachments are stored,
/// how large one may be, how much one user may keep, and for how long.
package struct BlobLimits: Sendable, Hashable {
    /// The directory (created mode 0750 when missing; the .deb makes `/var/lib/polygate/blobs`).
    package var directory = "/var/lib/polygate/blobs"
    /// The largest blob, in bytes.
    package var maxSize = 100 << 20
    /// What one user's blobs may add up to, in bytes.
    package var quotaPerUser = 1 << 30
    /// How long a blob is kept after its upload.
    package var retention: Duration = .seconds(30 * 24 * 3600)
    /// How long an upload token (`BlobToken`) works.
    package var tokenTTL: Duration = .seconds(600)

    package init() {}
}
