/// What polychat keeps in its state directory (each file encrypted by the ``Vault``).

/// `identity.json`: who this is and where it talks to.
package struct IdentityRecord: Codable, Sendable {
    package var version = 1
    /// The Polycentric system key (Ed25519 seed), hex.
    var systemKey: String
    /// This device's Polycentric process id, hex.
    var process: String
    /// The device key (Ed25519 seed), hex.
    var deviceKey: String
    /// The serialized `SignedDeviceCertificate`, hex.
    var certificate: String
    package var deviceName: String
    /// The Polycentric server (`http://host:port`).
    package var socialURL: String
    /// The gateway (`ws://host:port/v1/gateway` or `http://host:port`).
    package var gatewayURL: String
    /// Messages kept per conversation (0: none are stored; `read` then shows only what arrives
    /// while it runs).
    package var history: Int
    /// The presence setting last made from this device (nil: never set, visible).
    package var invisible: Bool?
    /// The gateway said this device is revoked: it no longer connects (the identity stays, for
    /// `polychat identity export`).
    package var revoked: Bool?
    /// The gateway's sealed-session keys this device pinned (hex, newest first; ``GatewayPins``).
    /// Nil or empty: none yet — connections are plain until the gateway offers sealed sessions,
    /// and sealed for good from then on.
    package var gatewayKeys: [String]?
}

/// `chat.json`: conversations, their MLS state and messages, and this device's KeyPackages.
/// Fields added after version 1 are optional, so that older files still read.
struct ChatState: Codable, Sendable {
    var version = 1
    var conversations: [ConversationRecord] = []
    /// Secrets of the KeyPackages this device uploaded and nobody used yet.
    var keyPackages: [StoredKeyPackage] = []
    /// The users this user blocks (hex), as the gateway last said: their messages in rooms are
    /// not shown.
    var blocked: [String]?
    /// Users met as contacts or contact requests (hex), for naming users by a prefix.
    var contacts: [String]?
    /// Conversations this device must join again by itself (external commit): a Welcome it could
    /// not use, or a group state that fell behind the log.
    var rejoin: [String]?
    /// Conversations of this user that this device has not joined yet, from the identity
    /// export it was made with: it joins them by itself, under these names.
    var directory: [ConversationHint]?
    /// Conversations this device gave up on: their Welcome could not be used and their state
    /// cannot be joined (garbage from whoever added this user). What arrives in them is acked
    /// and dropped, until a usable Welcome comes.
    var ignored: [String]?
    /// Names this user gave others (user hex → name), `polychat contacts name`: only here,
    /// never published.
    var petnames: [String: String]?
    /// The names users publish on Polycentric (user hex → username), as last seen in their
    /// messages and profiles.
    var published: [String: String]?
    /// Post ids (share links) polychat showed, the last 1,000: `reply` takes their short form.
    var recentPosts: [String]?
}

/// What an identity export tells the new device about one of its user's conversations.
struct ConversationHint: Codable, Sendable, Hashable {
    /// The MLS group id, hex.
    var id: String
    var name: String
    var kind: ConversationRecord.Kind
    var peer: String?
}

/// One conversation as this device knows it.
package struct ConversationRecord: Codable, Sendable, Hashable {
    package enum Kind: String, Codable, Sendable { case room, dm }

    /// The MLS group id, hex.
    package var id: String
    package var name: String
    package var kind: Kind
    /// For a DM: the other user, hex.
    package var peer: String?
    /// The serialized `MLSGroup`, hex; nil once this device left or was removed.
    var group: String?
    /// The last seq this device processed.
    package var lastSeq: UInt64
    package var messages: [ChatMessage]
    package var unread: Int
    /// Removed or left: no new messages can be read or sent.
    package var left: Bool
    /// Members' user ids, hex (as of the last processed epoch).
    package var members: [String]
}

/// A message as shown to the user (stored only in the encrypted state).
package struct ChatMessage: Codable, Sendable, Hashable {
    package var seq: UInt64
    /// The sender's user id, hex.
    package var sender: String
    /// The name the sender goes by (its own claim, from its Polycentric profile).
    package var senderName: String?
    package var text: String
    package var sentAtMs: UInt64
    package var own: Bool
    /// Not a message but an event ("alice joined"): shown differently.
    package var notice: Bool
    /// A file sent with the message (`text` is then its caption, possibly empty).
    package var attachment: Attachment?
}

/// A file in a message (docs/CHAT_MESSAGES.md, "Attachments"): where its ciphertext is, the key
/// that opens it, and what it is. Travels inside the MLS application message only.
package struct Attachment: Codable, Sendable, Hashable {
    package var v = 1
    /// The blob id: SHA-256 of the ciphertext, hex.
    package var blob: String
    /// The file key, hex (32 bytes).
    package var key: String
    /// The file's size in bytes.
    package var size: Int
    /// The ciphertext's size in bytes.
    package var ciphertextSize: Int
    package var chunkSize: Int
    package var mediaType: String
    /// The file's name (a name only: no directories).
    package var name: String
}

/// A KeyPackage this device uploaded, with the private keys a Welcome to it needs.
struct StoredKeyPackage: Codable, Sendable {
    /// The serialized KeyPackage, hex.
    var keyPackage: String
    var initPrivateKey: String
    var encryptionPrivateKey: String
    var lastResort: Bool
}

/// The plaintext of an MLS application message between polychat clients.
struct AppMessage: Codable, Sendable {
    enum Kind: String, Codable { case text, meta, attachment }
    var v = 1
    var kind: Kind
    var text: String?
    /// The sender's Polycentric username (self-asserted; shown next to its id).
    var from: String?
    /// `meta`: the conversation's name and kind, sent by whoever adds members.
    var name: String?
    var conversation: ConversationRecord.Kind?
    var sentAtMs: UInt64
    /// `attachment`: the file (`text` is its caption).
    var attachment: Attachment?
}
