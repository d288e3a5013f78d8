import Primitives

/// The SSE framing of gateway frames (docs/GATEWAY_SPEC.md §2.2): each `ServerFrame` is one
/// event `id: <n>`, `event: frame`, `data: <standard base64>`; `: ping` comment lines keep the
/// stream alive.
package enum ServerSentEvents {
    /// The text of one frame's event.
    package static func event(id: UInt64, frame: some Collection<UInt8>) -> String {
        "id: \(id)\nevent: frame\ndata: \(Base64.encode(frame, .standard))\n\n"
    }

    /// A sealed stream's first event (§14): the handshake's answer, `event: handshake`.
    package static func handshake(_ message: [UInt8]) -> String {
        "event: handshake\ndata: \(Base64.encode(message, .standard))\n\n"
    }

    /// The keep-alive comment.
    package static let keepAlive = ": ping\n\n"

    /// One parsed event.
    package struct Event: Sendable, Hashable {
        package var id: String?
        package var name: String
        package var data: String

        package init(id: String?, name: String, data: String) {
            self.id = id
            self.name = name
            self.data = data
        }
    }

    /// An incremental parser of an event stream (the client side), per the WHATWG rules that
    /// matter here: `\n` or `\r\n` line ends, comments, `id`, `event`, `data` (joined with `\n`).
    package struct Parser: Sendable {
        private var line: [UInt8] = []
        private var id: String?
        private var name = ""
        private var data: [String] = []
        private var sawCR = false

        package init() {}

        /// Feeds bytes; returns the events they complete.
        package mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
            var events: [Event] = []
            for byte in bytes {
                if self.sawCR {
                    self.sawCR = false
                    if byte == UInt8(ascii: "\n") { continue }
                }
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    self.sawCR = byte == UInt8(ascii: "\r")
                    if let event = self.endLine() { events.append(event) }
                } else {
                    self.line.append(byte)
                }
            }
            return events
        }

        /// The frame bytes of a `frame` event; nil for other events or bad base64.
        package static func frame(of event: Event) -> [UInt8]? {
            guard event.name == "frame" else { return nil }
            return Base64.decode(event.data)
        }

        private mutating func endLine() -> Event? {
            defer { self.line.removeAll(keepingCapacity: true) }
            guard !self.line.isEmpty else {
                // A blank line dispatches the event.
                defer {
                    self.data = []
                    self.name = ""
                }
                guard !self.data.isEmpty else { return nil }
                return Event(
                    id: self.id,
                    name: self.name.isEmpty ? "message" : self.name,
                    data: self.data.joined(separator: "\n")
                )
            }
            if self.line.first == UInt8(ascii: ":") { return nil }
            let text = String(decoding: self.line, as: UTF8.self)
            let field: Substring
            var value: Substring
            if let colon = text.firstIndex(of: ":") {
                field = text[..<colon]
                value = text[text.index(after: colon)...]
                if value.first == " " { value = value.dropFirst() }
            } else {
                field = text[...]
                value = ""
            }
            switch field {
            case "id": self.id = String(value)
            case "event": self.name = String(value)
            case "data": self.data.append(String(value))
            default: break
            }
            return nil
        }
    }
}
