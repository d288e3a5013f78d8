import Foundation
import GatewayClient
import GatewayWire
import PolycentricClient
import Primitives

/// Files in conversations (docs/CHAT_MESSAGES.md, "Attachments"): encrypted here with a fresh
/// key, uploaded as ciphertext (docs/GATEWAY_SPEC.md §13), and announced in an MLS application
/// message that carries the key; the members download, verify and decrypt.
extension ChatEngine {
    /// Sends the file at `path` (with `caption`, possibly empty) to `conv`.
    package func sendFile(
        _ path: String,
        caption: String,
        to conv: String,
        session: ChatSession,
        progress: BlobTransfer.Progress? = nil
    ) async throws -> ChatMessage {
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }), !self.state.conversations[index].left
        else {
            throw ChatError(.notMember, "you are not in that conversation any more")
        }
        let token = [UInt8](try await session.call(.blobToken(.init())).blobToken.token)
        let name = String(path.split(separator: "/").last ?? "file")
        let attachment = try await BlobTransfer.upload(
            path: path,
            name: name,
            mediaType: Self.mediaType(of: name),
            token: token,
            gatewayURL: self.identity.gatewayURL,
            tls: self.tls,
            progress: progress
        )
        var message = AppMessage(kind: .attachment, text: caption, from: self.social.username, sentAtMs: Self.nowMs())
        message.attachment = attachment
        let seq = try await self.sendApplication(message, to: conv, session: session)
        let stored = ChatMessage(
            seq: seq,
            sender: self.userID,
            senderName: self.social.username,
            text: caption,
            sentAtMs: message.sentAtMs,
            own: true,
            notice: false,
            attachment: attachment
        )
        if let index = self.state.conversations.firstIndex(where: { $0.id == conv }) {
            self.append(stored, to: index, unread: false, arrived: false)
        }
        try self.saveNow()
        return stored
    }

    /// The files sent in `conv` that this device has (oldest first).
    package func attachments(in conv: String) -> [ChatMessage] {
        self.state.conversations.first { $0.id == conv }?.messages.filter { $0.attachment != nil } ?? []
    }

    /// The file in `conv` whose id starts with `prefix` (at least 4 hex characters), or whose
    /// name is `prefix`.
    ///
    /// - Throws: ``ChatError`` `not_found` or `ambiguous`.
    package func attachment(_ prefix: String, in conv: String) throws(ChatError) -> Attachment {
        let files = self.attachments(in: conv).compactMap(\.attachment)
        let lowered = prefix.lowercased()
        var matches = lowered.count >= 4 ? files.filter { $0.blob.hasPrefix(lowered) } : []
        if matches.isEmpty { matches = files.filter { $0.name == prefix } }
        guard let first = matches.first else {
            throw ChatError(.notFound, "no file '\(prefix)' in this conversation (polychat files CONV lists them)")
        }
        guard Set(matches.map(\.blob)).count == 1 else {
            throw ChatError(
                .ambiguous,
                "'\(prefix)' names \(matches.count) files: \(matches.map { "\($0.blob.prefix(8)) \($0.name)" }.joined(separator: ", "))"
            )
        }
        return first
    }

    /// Downloads, verifies and decrypts `attachment` into `path`.
    package func save(_ attachment: Attachment, to path: String, progress: BlobTransfer.Progress? = nil) async throws {
        try await BlobTransfer.download(
            attachment,
            to: path,
            gatewayURL: self.identity.gatewayURL,
            tls: self.tls,
            progress: progress
        )
    }

    /// A media type from a file name's extension (application/octet-stream when unknown).
    static func mediaType(of name: String) -> String {
        let types = [
            "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
            "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "json": "application/json",
            "mp3": "audio/mpeg", "ogg": "audio/ogg", "mp4": "video/mp4", "zip": "application/zip",
        ]
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        return types[name[name.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }

    /// Whether an announced attachment can be used at all: an id, a key, sizes that agree, a
    /// plain file name.
    static func usable(_ attachment: Attachment) -> Bool {
        guard attachment.blob.count == 64, Hex.decode(attachment.blob) != nil, Hex.decode(attachment.key)?.count == 32,
            (1...(16 << 20)).contains(attachment.chunkSize), attachment.size >= 0,
            AttachmentCipher(key: SecretBytes([UInt8](repeating: 0, count: 32)), chunkSize: attachment.chunkSize)
                .ciphertextSize(forPlaintext: attachment.size) == attachment.ciphertextSize,
            !attachment.name.isEmpty, !attachment.name.contains("/"), attachment.name != ".", attachment.name != ".."
        else { return false }
        return true
    }
}
