import GatewayWire
import Primitives
import Testing

/// The SSE framing of gateway frames: what the server writes parses back, fed any way.
@Suite struct ServerSentEventsTests {
    @Test func framesRoundTripWhateverTheChunking() {
        let frames: [[UInt8]] = [[], [0], [1, 2, 3], Array(0...255), SecureRandom.bytes(count: 5000)]
        let text = frames.enumerated().map { ServerSentEvents.event(id: UInt64($0.offset + 1), frame: $0.element) }
            .joined(separator: ServerSentEvents.keepAlive)
        let bytes = Array(text.utf8)
        for chunk in [1, 7, 64, bytes.count] {
            var parser = ServerSentEvents.Parser()
            var events: [ServerSentEvents.Event] = []
            var index = 0
            while index < bytes.count {
                events += parser.feed(bytes[index..<min(index + chunk, bytes.count)])
                index += chunk
            }
            #expect(events.count == frames.count, "chunk \(chunk)")
            #expect(events.compactMap(ServerSentEvents.Parser.frame(of:)) == frames)
            #expect(events.map(\.id) == (1...frames.count).map { "\($0)" })
        }
    }

    @Test func followsTheEventStreamRules() {
        var parser = ServerSentEvents.Parser()
        let events = parser.feed(
            Array(
                ": comment\r\nevent: other\r\ndata: a\r\ndata: b\r\n\r\nid: 9\ndata\n\n\n: only a comment\n\nevent: frame\ndata: !!\n\n"
                    .utf8
            )
        )
        #expect(events.count == 3)
        #expect(events[0] == ServerSentEvents.Event(id: nil, name: "other", data: "a\nb"))
        #expect(ServerSentEvents.Parser.frame(of: events[0]) == nil)  // not a frame event
        #expect(events[1] == ServerSentEvents.Event(id: "9", name: "message", data: ""))
        #expect(ServerSentEvents.Parser.frame(of: events[2]) == nil)  // not base64
        // An event is dispatched only by its blank line.
        #expect(parser.feed(Array("event: frame\ndata: AAE=\n".utf8)).isEmpty)
        let last = parser.feed(Array("\n".utf8))
        #expect(last.compactMap(ServerSentEvents.Parser.frame(of:)) == [[0, 1]])
    }
}
