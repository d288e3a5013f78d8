package import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// `polychat chat` when standard output is not a terminal: one line per message that arrives
/// ("[room] 08:05 alice (abcdef012345): text"), each line of standard input sent to the
/// conversation; it ends with its input (or, with `listen`, only when interrupted).
/// Disconnections are reported on standard error and retried with backoff.
package struct LineChat {
    let engine: ChatEngine
    let conversation: String?
    let listen: Bool
    /// Called every tick with the live session (nil while waiting to reconnect): the running
    /// instance's socket is served here.
    let tick: ((ChatSession?) async -> Bool)?

    package init(engine: ChatEngine, conversation: String?, listen: Bool, tick: ((ChatSession?) async -> Bool)? = nil) {
        self.engine = engine
        self.conversation = conversation
        self.listen = listen
        self.tick = tick
    }

    package func run() async throws {
        var pending: [UInt8] = []
        var inputEnded = self.listen
        var outbox: [String] = []
        var backoff = Backoff()
        while true {
            do {
                try await self.engine.withSession { session in
                    backoff.reset()
                    await self.printArrivals()
                    while true {
                        if !inputEnded {
                            if let bytes = Terminal.readAvailable(0) {
                                pending += bytes
                            } else {
                                inputEnded = true
                            }
                            while let newline = pending.firstIndex(of: 0x0a) {
                                outbox.append(String(decoding: pending[..<newline], as: UTF8.self))
                                pending.removeSubrange(...newline)
                            }
                            if inputEnded, !pending.isEmpty {
                                outbox.append(String(decoding: pending, as: UTF8.self))
                                pending = []
                            }
                        }
                        while let line = outbox.first {
                            guard let conv = self.conversation else {
                                throw ChatError(.badArgument, "name a conversation to send to: polychat chat CONV")
                            }
                            if !line.isEmpty { try await self.engine.send(line, to: conv, session: session) }
                            outbox.removeFirst()
                        }
                        if inputEnded, !self.listen { return }
                        let processed = try await session.step(timeout: .milliseconds(40))
                        _ = await self.tick?(session)
                        if processed { await self.printArrivals() }
                    }
                }
                return
            } catch let error as ChatError where error.code == .unreachable {
                let delay = backoff.next()
                Terminal.write("polychat: \(error); retrying in \(Int((delay / .seconds(1)).rounded(.up)))s\n", to: 2)
                let deadline = ContinuousClock.now + delay
                while ContinuousClock.now < deadline {
                    _ = await self.tick?(nil)
                    try await Task.sleep(for: .milliseconds(40))
                }
            }
        }
    }

    func printArrivals() async {
        var out = ""
        for notice in await self.engine.takeNotices() { out += "* \(notice)\n" }
        let conversations = await self.engine.conversations
        for (conv, message) in await self.engine.takeArrivals() {
            let title = conversations.first { $0.id == conv }.map { ChatScreen.title($0) } ?? Listing.short(conv)
            out += "[\(title)] \(Listing.message(message))\n"
        }
        if !out.isEmpty { Terminal.write(out) }
    }
}
