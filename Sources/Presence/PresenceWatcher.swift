package import NIOCore

/// What presence needs of a connection that watches users: its id, whether it closed, and a
/// way to hand it a serialized `Presence` frame.
package protocol PresenceWatcher: AnyObject, Sendable {
    /// The session id (unique on this daemon).
    var id: UInt64 { get }

    /// Whether the connection is closed or closing.
    var isClosed: Bool { get }

    /// Queues a serialized frame; false when the queue overflowed and closed the connection.
    @discardableResult
    func push(buffer: ByteBuffer) -> Bool
}
