import Foundation
package import GatewayWire
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// How polychat prints things: short ids, local times, one line per item, and JSON for
/// scripts (`--json`: one document, keys sorted).
package enum Listing {
    /// The first 12 hex characters of an id: enough to tell people apart in a terminal.
    package static func short(_ id: String) -> String { String(id.prefix(12)) }

    /// The first 12 hex characters of a raw id.
    package static func short(_ id: [UInt8]) -> String { Hex.encode(Array(id.prefix(6))) }

    /// A user's or device's id, shortened the same way.
    package static func short<Tag>(_ id: Identifier<Tag>) -> String { Self.short(id.bytes) }

    /// A user as shown: "name (abcdef012345)" or the short id.
    package static func user(_ id: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return Self.short(id) }
        return "\(Self.clean(name)) (\(Self.short(id)))"
    }

    /// A local time, "2026-12-01 08:05".
    package static func time(_ ms: UInt64) -> String {
        var seconds = time_t(ms / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Text from other people with control characters (escape sequences) replaced, so a message
    /// cannot repaint the terminal.
    package static func clean(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    scalar.properties.generalCategory == .control && scalar != "\n" ? "\u{FFFD}" : scalar
                }
            )
        )
    }

    /// One message line: "08:05 name (id): text" (notices in brackets).
    package static func message(_ message: ChatMessage, withDate: Bool = true) -> String {
        let when = withDate ? Self.time(message.sentAtMs) : String(Self.time(message.sentAtMs).suffix(5))
        if message.notice {
            let who = message.sender.isEmpty ? "" : Self.short(message.sender) + " "
            return "\(when) [\(who)\(message.text)]"
        }
        let who = message.own ? "you" : Self.user(message.sender, name: message.senderName)
        if let file = message.attachment {
            let caption = message.text.isEmpty ? "" : " " + Self.clean(message.text)
            return "\(when) \(who): [file \(Self.clean(file.name)), \(Self.size(file.size)), \(file.blob.prefix(8))]\(caption)"
        }
        return "\(when) \(who): \(Self.clean(message.text))"
    }

    /// A size in bytes as people read it: `512 B`, `1.5 KB`, `50.0 MB`, `1.2 GB`.
    package static func size(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// One conversation line: short id, kind, name, members, unread. A DM is named by its peer:
    /// `peer` is how to show it (`alice (c9f4…)`; default the short id).
    package static func conversation(_ record: ConversationRecord, peer: String? = nil) -> String {
        let state = record.left ? " (left)" : ""
        let unread = record.unread > 0 ? "  \(record.unread) unread" : ""
        let name = record.kind == .dm ? "dm with \(peer ?? record.peer.map(Self.short) ?? "?")" : Self.clean(record.name)
        return
            "\(Self.short(record.id))  \(name)  \(record.members.count) member\(record.members.count == 1 ? "" : "s")\(unread)\(state)"
    }

    /// A post, over lines: author and time, then the text indented.
    package static func post(_ post: ChatEngine.Post) -> String {
        var out = "\(Self.user(post.author, name: post.authorName))  \(Self.time(post.postedAtMs))\n"
        if let replyTo = post.replyTo { out += "  in reply to \(ChatEngine.shortPostID(replyTo))\n" }
        for line in Self.clean(post.text).split(separator: "\n", omittingEmptySubsequences: false) { out += "  \(line)\n" }
        out += "  id: \(post.short)\n"
        return out
    }

    /// JSON for `--json`.
    package static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A conversation as people name it: a room's name, `@name` for a DM (the petname, else the
    /// name the peer goes by, else a short id).
    package static func title(_ record: ConversationRecord, petnames: [String: String] = [:]) -> String {
        guard record.kind == .dm else { return Self.clean(record.name) }
        let peer = record.peer ?? ""
        let name = petnames[peer] ?? record.messages.last { $0.sender == peer && $0.senderName != nil }?.senderName
        return "@" + (name.map(Self.clean) ?? Self.short(peer))
    }
}
