import Control
import Foundation
package import Logging
import NIOCore
import NIOPosix
package import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves the control protocol (docs/CONTROL_PROTOCOL.md) on the control sockets: a
/// read-write one and optionally a read-only one, each bound at a path or passed by systemd.
/// Connections are accepted on a thread of their own per socket (accept blocks), then served
/// through NIO; every connection gets `hello`, then one answer per request, in order.
package final class ControlServer: Service, Sendable {
    package struct Endpoint: Sendable, Hashable {
        package enum Source: Sendable, Hashable {
            case path(String, group: String?)
            /// A listening socket systemd passed.
            case inherited(fd: Int32)
        }

        package var source: Source
        package var readOnly: Bool

        package init(source: Source, readOnly: Bool) {
            self.source = source
            self.readOnly = readOnly
        }
    }

    struct Listening: Sendable {
        var fd: Int32
        var endpoint: Endpoint
        var boundPath: String?
    }

    let endpoints: [Endpoint]
    let handler: ControlHandler
    let logger: Logger
    private let listening = Mutex<[Listening]>([])
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    package init(endpoints: [Endpoint], handler: ControlHandler, logger: Logger) {
        self.endpoints = endpoints
        self.handler = handler
        self.logger = logger
    }

    /// Binds the sockets given by path (before the daemon says it is ready). A path whose
    /// directory does not exist is skipped with a warning; any other failure throws.
    ///
    /// - Returns: what listens, for the log.
    package func bind() throws(ControlSocket.Failure) -> [String] {
        var bound: [Listening] = []
        for endpoint in self.endpoints {
            switch endpoint.source {
            case .inherited(let fd):
                bound.append(Listening(fd: fd, endpoint: endpoint, boundPath: nil))
            case .path(let path, let group):
                do {
                    let (fd, warning) = try ControlSocket.bind(path: path, mode: 0o660, group: group)
                    if let warning { self.logger.warning("control socket: \(warning)") }
                    bound.append(Listening(fd: fd, endpoint: endpoint, boundPath: path))
                } catch  where error.directoryMissing {
                    self.logger.warning(
                        "control socket disabled: \(error); gwctl cannot reach this daemon",
                        metadata: ["control.path": "\(path)"]
                    )
                } catch {
                    for listening in bound where listening.boundPath != nil {
                        close(listening.fd)
                        if let path = listening.boundPath { unlink(path) }
                    }
                    throw error
                }
            }
        }
        self.listening.withLock { $0 = bound }
        return bound.map { listening in
            let name = listening.boundPath ?? "fd \(listening.fd)"
            return listening.endpoint.readOnly ? "\(name) (read-only)" : name
        }
    }

    package func run() async throws {
        let sockets = self.listening.withLock { $0 }
        guard !sockets.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withDiscardingTaskGroup { group in
            for socket in sockets {
                let accepted = Self.acceptLoop(socket.fd)
                group.addTask {
                    await withDiscardingTaskGroup { connections in
                        for await fd in accepted {
                            connections.addTask { await self.serve(fd, readOnly: socket.endpoint.readOnly) }
                        }
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                self.stop()
            }
        }
    }

    /// Stops accepting, closes every connection and removes the socket files it made.
    func stop() {
        for socket in self.listening.withLock({ $0 }) {
            shutdown(socket.fd, Int32(SHUT_RDWR))
            if let path = socket.boundPath { unlink(path) }
        }
        for channel in self.channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    /// Accepted descriptors, from a thread that blocks in accept(2) until the socket is shut down.
    static func acceptLoop(_ listener: Int32) -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let thread = Thread {
            while true {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    continuation.yield(fd)
                    continue
                }
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            close(listener)
            continuation.finish()
        }
        thread.name = "control-accept"
        thread.start()
        return stream
    }

    /// One connection: hello, then requests answered in order; a streaming command runs in a
    /// task of its own until cancelled (by a `cancel` request or the connection's end).
    func serve(_ fd: Int32, readOnly: Bool) async {
        let peer = ControlSocket.peer(fd)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(
                inputOutput: fd
            ) {
                channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlLineDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            close(fd)
            self.logger.warning("control connection failed: \(error)")
            return
        }
        let key = ObjectIdentifier(channel.channel)
        self.channels.withLock { $0[key] = channel.channel }
        defer { _ = self.channels.withLock { $0.removeValue(forKey: key) } }
        self.logger.debug(
            "control connection",
            metadata: ["control.uid": "\(peer.uid)", "control.pid": "\(peer.pid)", "control.read_only": "\(readOnly)"]
        )
        do {
            try await self.converse(channel, peer: peer, readOnly: readOnly)
        } catch {
            self.logger.debug("control connection ended: \(error)")
        }
    }

    func converse(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, peer: ControlPeer, readOnly: Bool) async throws {
        let hello = ControlProtocol.Hello(
            server: "polygated \(self.handler.context.version)",
            gatewayID: self.handler.context.gatewayID,
            readOnly: readOnly
        )
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: ControlProtocol.line(hello)))
            let stream = StreamSlot()
            defer {
                if let running = stream.value.withLock({ $0 }) { running.task.cancel() }
            }
            for try await var line in inbound {
                guard line.readableBytes <= ControlProtocol.maximumLine else { break }
                let bytes = line.readBytes(length: line.readableBytes) ?? []
                let request: ControlProtocol.Request
                do throws(ControlError) {
                    request = try ControlProtocol.decode(ControlProtocol.Request.self, bytes)
                } catch {
                    try await outbound.write(ByteBuffer(bytes: ControlProtocol.line(ControlProtocol.Response.failure(0, error))))
                    continue
                }
                if request.cancel == true {
                    // The stream's final line answers its cancel; a cancel of nothing is answered too.
                    if let running = stream.value.withLock({ $0 }), running.id == request.id, !running.done {
                        running.task.cancel()
                    } else {
                        let none = ControlError(.notFound, "no stream \(request.id) is running on this connection")
                        try await outbound.write(
                            ByteBuffer(bytes: ControlProtocol.line(ControlProtocol.Response.failure(request.id, none)))
                        )
                    }
                    continue
                }
                if let running = stream.value.withLock({ $0 }), !running.done {
                    let busy = ControlError(.badRequest, "request \(running.id) is streaming: cancel it first")
                    try await outbound.write(
                        ByteBuffer(bytes: ControlProtocol.line(ControlProtocol.Response.failure(request.id, busy)))
                    )
                    continue
                }
                let parsed: ParsedCommand
                do throws(ControlError) {
                    parsed = try ControlCommandLine.validate(request)
                } catch {
                    try await outbound.write(
                        ByteBuffer(bytes: ControlProtocol.line(ControlProtocol.Response.failure(request.id, error)))
                    )
                    continue
                }
                let id = request.id
                self.logger.debug(
                    "control request",
                    metadata: ["control.id": "\(id)", "control.command": "\(parsed.command.name)", "control.uid": "\(peer.uid)"]
                )
                let handler = self.handler
                let run: @Sendable () async -> ControlProtocol.Response = {
                    do throws(ControlError) {
                        let result = try await handler.run(parsed, peer: peer, readOnly: readOnly) { event in
                            try? await outbound.write(
                                ByteBuffer(bytes: ControlProtocol.line(ControlProtocol.Response.event(id, event)))
                            )
                        }
                        return .result(id, result)
                    } catch {
                        return .failure(id, error)
                    }
                }
                if parsed.command.streams, parsed.options["follow"] == "true" {
                    // Cancelling stops the command; its final line is written by a task that is not
                    // cancelled (a cancelled task's writes fail). Both are made under the lock, so
                    // that the end (which takes the lock) is recorded after the start.
                    stream.value.withLock { slot in
                        let command = Task { await run() }
                        _ = Task {
                            let response = await command.value
                            try? await outbound.write(ByteBuffer(bytes: ControlProtocol.line(response)))
                            stream.value.withLock { if $0?.id == id { $0?.done = true } }
                        }
                        slot = (id, command, false)
                    }
                } else {
                    try await outbound.write(ByteBuffer(bytes: ControlProtocol.line(await run())))
                }
            }
        }
    }
}

/// The streaming request of a connection, if one runs.
final class StreamSlot: Sendable {
    let value = Mutex<(id: Int64, task: Task<ControlProtocol.Response, Never>, done: Bool)?>(nil)
}
