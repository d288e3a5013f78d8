package import ChatClient

#if canImport(Glibc)
import Glibc
#endif

/// A running instance's requests, served by the loop that owns the engine (the daemon's, the
/// terminal UI's or the line mode's) between gateway frames: ``serve(_:)`` answers every
/// request that came and publishes the events since the last call to subscribers. While it
/// handles a request the engine uses the loop's live session (``ChatEngine/attach(_:)``), so
/// a routed command opens no connection of its own.
package final class InstanceService {
    /// Runs a command line as the instance (`run`): the command's output and exit status.
    package typealias CommandRunner = @Sendable (InstanceProtocol.RunParams) async -> InstanceProtocol.RunResult

    let engine: ChatEngine
    let server: InstanceServer
    let runCommand: CommandRunner
    /// Also given every event notification line (`polychat listen` running as the instance).
    package var observer: (([UInt8]) -> Void)?

    /// Binds `polychat.sock` in the engine's state directory (the caller holds its lock).
    package init(engine: ChatEngine, runCommand: @escaping CommandRunner) throws(ChatError) {
        self.engine = engine
        self.server = try InstanceServer(directory: StateDirectory(path: engine.statePath))
        self.runCommand = runCommand
    }

    /// The socket's path.
    package var path: String { self.server.path }

    /// Stops serving and removes the socket.
    package func close() { self.server.close() }

    /// Answers the requests that came and publishes events; whether anything was handled (the
    /// UI repaints then). `session`: the live connection, nil while disconnected (a request
    /// that needs the gateway then connects by itself).
    @discardableResult
    package func serve(_ session: ChatSession?) async -> Bool {
        let incoming = self.server.poll()
        if !incoming.isEmpty {
            await self.engine.attach(session)
            for request in incoming { await self.handle(request) }
            await self.engine.attach(nil)
        }
        let events = await self.engine.takeEvents()
        if self.server.hasSubscribers || self.observer != nil { await self.publish(events) }
        return !incoming.isEmpty
    }

    /// The events as notifications to subscribers.
    func publish(_ events: [ChatEvent]) async {
        guard !events.isEmpty else { return }
        let conversations = await self.engine.conversations
        let petnames = await self.engine.petnames
        for event in events {
            switch event {
            case .message(let conv, let message):
                let record = conversations.first { $0.id == conv }
                var message = message
                if let name = await self.engine.petname(of: message.sender) { message.senderName = name }
                let shown = InstanceProtocol.MessageEvent(
                    conversation: conv,
                    conversationName: record.map { Listing.title($0, petnames: petnames) } ?? Listing.short(conv),
                    kind: record?.kind.rawValue ?? "room",
                    message: message
                )
                self.publish(line: InstanceProtocol.notification("message", shown))
            case .notice(let text):
                self.publish(line: InstanceProtocol.notification("notice", InstanceProtocol.NoticeEvent(text: text)))
            }
        }
    }

    func publish(line: [UInt8]) {
        self.server.publish(line)
        self.observer?(line)
    }

    func handle(_ request: InstanceServer.Incoming) async {
        let head: InstanceProtocol.Head
        switch InstanceProtocol.head(request.line) {
        case .success(let value): head = value
        case .failure(let error):
            self.server.reply(InstanceProtocol.failure(error, id: nil), to: request.client)
            return
        }
        let answer = await self.answer(head, request.line, client: request.client)
        // A notification (no id) gets no answer, as JSON-RPC says.
        guard head.id != nil else {
            self.server.reply([], to: request.client)
            return
        }
        self.server.reply(answer, to: request.client)
    }

    func answer(_ head: InstanceProtocol.Head, _ line: [UInt8], client: Int32) async -> [UInt8] {
        guard let method = InstanceProtocol.Method(rawValue: head.method) else {
            return InstanceProtocol.failure(.unknownMethod(head.method), id: head.id)
        }
        do {
            switch method {
            case .status:
                let status = InstanceProtocol.Status(
                    user: self.engine.userID,
                    device: self.engine.deviceID,
                    name: await self.engine.username,
                    connected: await self.engine.connected,
                    pid: getpid(),
                    protocolVersion: InstanceProtocol.version
                )
                return InstanceProtocol.result(status, id: head.id)
            case .run:
                let params = try Self.params(InstanceProtocol.RunParams.self, line)
                return InstanceProtocol.result(await self.runCommand(params), id: head.id)
            case .subscribe:
                self.server.subscribe(client)
                return InstanceProtocol.result(InstanceProtocol.Subscribed(subscribed: true), id: head.id)
            case .send:
                let params = try Self.params(InstanceProtocol.SendParams.self, line)
                let sent = try await self.send(params.text) { engine, _ in
                    try await engine.conversation(named: params.conversation)
                }
                return InstanceProtocol.result(sent, id: head.id)
            case .dm:
                let params = try Self.params(InstanceProtocol.DirectParams.self, line)
                let user = try await self.engine.resolveUser(params.user)
                let sent = try await self.send(params.text) { engine, session in try await engine.dm(user, session: session) }
                return InstanceProtocol.result(sent, id: head.id)
            case .post:
                let params = try Self.params(InstanceProtocol.PostParams.self, line)
                guard !params.text.isEmpty else { throw ChatError(.badArgument, "the post is empty") }
                let post = try await self.engine.post(params.text, replyTo: params.replyTo)
                return InstanceProtocol.result(
                    InstanceProtocol.Posted(id: ChatEngine.shortPostID(post.id), link: post.id),
                    id: head.id
                )
            }
        } catch let error as InstanceProtocol.ErrorObject {
            return InstanceProtocol.failure(error, id: head.id)
        } catch let error as ChatError {
            return InstanceProtocol.failure(.failed(error, status: error.code.exitStatus), id: head.id)
        } catch {
            return InstanceProtocol.failure(.failed(ChatError(.refused, "\(error)"), status: 1), id: head.id)
        }
    }

    /// Sends `text` to the conversation `conversation` picks, in a session.
    func send(
        _ text: String,
        to conversation: @Sendable (ChatEngine, ChatSession) async throws -> ConversationRecord
    ) async throws -> InstanceProtocol.Sent {
        guard !text.isEmpty else { throw ChatError(.badArgument, "the message is empty") }
        let engine = self.engine
        return try await engine.withSession { session in
            let record = try await conversation(engine, session)
            let message = try await engine.send(text, to: record.id, session: session)
            return InstanceProtocol.Sent(conversation: record.id, seq: message.seq, sentAtMs: message.sentAtMs)
        }
    }

    static func params<T: Decodable>(_ type: T.Type, _ line: [UInt8]) throws -> T {
        switch InstanceProtocol.params(type, line) {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }

}

extension InstanceProtocol.ErrorObject: Error {}
