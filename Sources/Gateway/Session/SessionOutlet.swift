import NIOCore
import Presence

/// The one narrow interface through which services reach a session: they push frames, entries
/// and signals down to it and never call back into anything else (docs/ARCHITECTURE.md,
/// "The realtime gateway reads one way"). ``GatewaySession`` is the one conforming type; the
/// fan-out and presence hold sessions only as outlets, by id.
protocol SessionOutlet: PresenceWatcher {
    /// A committed entry of a conversation the session reads, with its serialized `Delivery`
    /// frame (offered in seq order per conversation, from any thread).
    func offer(_ entry: LogEntry, frame: ByteBuffer)

    /// A `polygate_session` signal about the session's device or user.
    func signal(_ signal: SessionSignal)
}
