import Foundation
package import Primitives

/// An id of the gateway protocol: bytes on the wire, a type of its own in code. A user id, a
/// device id, a conversation id and a message id are all byte strings, and a call that swaps
/// two of them must not compile: each is an `Identifier` of its own kind.
package struct Identifier<Tag: IdentifierTag>: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The id's bytes, as the wire and the database carry them.
    package var bytes: [UInt8]

    package init(_ bytes: some Sequence<UInt8>) {
        self.bytes = Array(bytes)
    }

    /// Byte order (as PostgreSQL orders `bytea`): batches lock conversations in this order.
    package static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The bytes in lowercase hex (ids are not secret; this is how logs and gwctl show them).
    package var hex: String { Hex.encode(self.bytes) }

    package var description: String { self.hex }

    package var isEmpty: Bool { self.bytes.isEmpty }

    package var count: Int { self.bytes.count }
}

/// What an ``Identifier`` identifies (an empty enum per kind of id: a type, never a value).
package protocol IdentifierTag: Sendable {}

package enum UserTag: IdentifierTag {}
package enum DeviceTag: IdentifierTag {}
package enum ConversationTag: IdentifierTag {}
package enum MessageTag: IdentifierTag {}

/// A user: the 32-byte Ed25519 key of a Polycentric system.
package typealias UserID = Identifier<UserTag>
/// A device: its 32-byte Ed25519 key, certified by its user.
package typealias DeviceID = Identifier<DeviceTag>
/// A conversation: 16 bytes chosen by its creator.
package typealias ConversationID = Identifier<ConversationTag>
/// A message: 16 bytes chosen by its sender, unique per conversation (idempotency key).
package typealias MessageID = Identifier<MessageTag>

extension Hex {
    /// An id in lowercase hex.
    package static func encode<Tag>(_ id: Identifier<Tag>) -> String { Hex.encode(id.bytes) }
}

extension Data {
    /// An id as a protobuf `bytes` field.
    package init<Tag>(_ id: Identifier<Tag>) { self.init(id.bytes) }
}
