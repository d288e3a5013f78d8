public import Logging
public import ServiceLifecycle
import Synchronization

/// Receives `NOTIFY` messages on a dedicated connection and hands them to subscribers.
///
/// ``run()`` keeps the connection up: after a loss it reconnects with exponential backoff,
/// re-issues `LISTEN` for every channel that has subscribers and sends them
/// ``Event/reconnected`` — notifications sent while the connection was down are lost, so a
/// subscriber that needs every change must re-read its state when it sees that event.
public final class PostgresListener: Sendable {
    public struct Configuration: Sendable {
        public var conninfo: String
        public var connectTimeout: Duration
        /// First delay before reconnecting; doubles up to ``maximumReconnectDelay``.
        public var minimumReconnectDelay: Duration
        public var maximumReconnectDelay: Duration
        public var applicationName: String

        public init(
            conninfo: String,
            connectTimeout: Duration = .seconds(10),
            minimumReconnectDelay: Duration = .milliseconds(100),
            maximumReconnectDelay: Duration = .seconds(5),
            applicationName: String = "polygated-listener"
        ) {
            self.conninfo = conninfo
            self.connectTimeout = connectTimeout
            self.minimumReconnectDelay = minimumReconnectDelay
            self.maximumReconnectDelay = maximumReconnectDelay
            self.applicationName = applicationName
        }
    }

    /// What a subscription yields.
    public enum Event: Sendable, Hashable {
        case notification(PostgresNotification)
        /// The connection was lost and is back; notifications may have been missed meanwhile.
        case reconnected
    }

    private struct State: ~Copyable {
        var subscribers: [String: [UInt64: AsyncStream<Event>.Continuation]] = [:]
        var nextSubscriberID: UInt64 = 0
        var connection: LibPQConnection?
        var everConnected = false
        var connectionWaiters: [UInt64: CheckedContinuation<LibPQConnection, any Error>] = [:]
        var closeWaiter: CheckedContinuation<Void, Never>?
        var connectionAlive = false
        var isShutdown = false
    }

    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether the listener currently has a live connection.
    public var isConnected: Bool { self.state.withLock { $0.connectionAlive } }

    // MARK: - Subscribing

    /// Subscribes to `channel` (the exact name, case-sensitive). Returns once `LISTEN` is active on
    /// a live connection, so a `NOTIFY` sent afterwards is delivered. Waits while the listener is
    /// reconnecting. Ending the iteration of the returned stream unsubscribes.
    ///
    /// - Throws: ``PostgresError`` with ``PostgresError/Code/listenerClosed`` after shutdown.
    public func subscribe(to channel: String) async throws -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = try self.state.withLock { state throws(PostgresError) -> UInt64 in
            guard !state.isShutdown else { throw Self.closedError() }
            state.nextSubscriberID += 1
            state.subscribers[channel, default: [:]][state.nextSubscriberID] = continuation
            return state.nextSubscriberID
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(channel: channel, id: id) }
        while true {
            let connection = try await self.waitForConnection()
            do {
                _ = try await connection.execute([Self.listenStatement(channel)], resultFormat: .text)
                return stream
            } catch let error as PostgresError where error.isConnectionError {
                continue  // the run loop reconnects and re-listens; wait for it
            } catch {
                continuation.finish()
                throw error
            }
        }
    }

    private func unsubscribe(channel: String, id: UInt64) {
        let connection = self.state.withLock { state -> LibPQConnection? in
            state.subscribers[channel]?[id] = nil
            guard state.subscribers[channel]?.isEmpty == true else { return nil }
            state.subscribers[channel] = nil
            return state.connectionAlive ? state.connection : nil
        }
        connection?.execute([PostgresQuery(unsafeSQL: "UNLISTEN \(quoteIdentifier(channel))")], resultFormat: .text) { _ in }
    }

    private func waitForConnection() async throws -> LibPQConnection {
        let waiterID = self.state.withLock { state in
            state.nextSubscriberID += 1
            return state.nextSubscriberID
        }
        return try await withCheckedThrowingContinuation { continuation in
            self.state.withLock { state in
                if state.isShutdown {
                    continuation.resume(throwing: Self.closedError())
                } else if state.connectionAlive, let connection = state.connection {
                    continuation.resume(returning: connection)
                } else {
                    state.connectionWaiters[waiterID] = continuation
                }
            }
        }
    }

    // MARK: - Connection loop

    /// Stops the listener: closes the connection and finishes every subscription.
    public func shutdown() {
        let (connection, waiters, closeWaiter, subscribers) = self.state.withLock { state in
            state.isShutdown = true
            let result = (
                state.connection, state.connectionWaiters, state.closeWaiter,
                state.subscribers.values.flatMap { $0.values }
            )
            state.connectionWaiters = [:]
            state.closeWaiter = nil
            state.subscribers = [:]
            return result
        }
        connection?.close()
        closeWaiter?.resume()
        for waiter in waiters.values { waiter.resume(throwing: Self.closedError()) }
        for subscriber in subscribers { subscriber.finish() }
    }

    private func connectAndListen() async throws -> LibPQConnection {
        let connection = try await LibPQConnection.connect(
            id: 0,
            conninfo: self.configuration.conninfo,
            applicationName: self.configuration.applicationName,
            timeout: self.configuration.connectTimeout,
            logger: self.logger,
            onNotification: { [weak self] notification in self?.deliver(notification) },
            onClose: { [weak self] _ in self?.connectionLost() }
        )
        let channels = self.state.withLock { Array($0.subscribers.keys) }
        if !channels.isEmpty {
            do {
                _ = try await connection.execute(channels.map(Self.listenStatement), resultFormat: .text)
            } catch {
                connection.close()
                throw error
            }
        }
        return connection
    }

    private func deliver(_ notification: PostgresNotification) {
        let targets = self.state.withLock { state in state.subscribers[notification.channel].map { Array($0.values) } ?? [] }
        for target in targets { target.yield(.notification(notification)) }
    }

    private func connectionLost() {
        let waiter = self.state.withLock { state in
            state.connectionAlive = false
            let waiter = state.closeWaiter
            state.closeWaiter = nil
            return waiter
        }
        waiter?.resume()
    }

    private func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = self.state.withLock { state in
                if state.connectionAlive && !state.isShutdown {
                    state.closeWaiter = continuation
                    return false
                }
                return true
            }
            if resumeNow { continuation.resume() }
        }
    }

    private static func listenStatement(_ channel: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "LISTEN \(quoteIdentifier(channel))")
    }

    private static func closedError() -> PostgresError {
        PostgresError(code: .listenerClosed, message: "the notification listener is shut down")
    }
}

// MARK: - Service

extension PostgresListener: Service {
    /// Connects, listens, and reconnects after losses until shutdown or cancellation.
    public func run() async throws {
        // Cancellation (a failing sibling service) ends the listener as a graceful shutdown does.
        try await withTaskCancellationHandler {
            try await self.listen()
        } onCancel: {
            self.shutdown()
        }
    }

    private func listen() async throws {
        try await withGracefulShutdownHandler {
            var delay = self.configuration.minimumReconnectDelay
            while !self.state.withLock({ $0.isShutdown }) {
                let connection: LibPQConnection
                do {
                    connection = try await self.connectAndListen()
                } catch {
                    self.logger.warning(
                        "notification listener cannot connect; retrying",
                        metadata: [StoreLogKey.error: "\(error)", "db.retry.delay": "\(delay)"]
                    )
                    try await self.sleep(delay)
                    delay = min(delay * 2, self.configuration.maximumReconnectDelay)
                    continue
                }
                delay = self.configuration.minimumReconnectDelay
                let (waiters, subscribers, shutDown) = self.state.withLock { state in
                    guard !state.isShutdown else {
                        return ([CheckedContinuation<LibPQConnection, any Error>](), [AsyncStream<Event>.Continuation](), true)
                    }
                    let reconnected = state.everConnected
                    state.everConnected = true
                    state.connection = connection
                    state.connectionAlive = true
                    let waiters = Array(state.connectionWaiters.values)
                    state.connectionWaiters = [:]
                    let subscribers = reconnected ? state.subscribers.values.flatMap { $0.values } : []
                    return (waiters, subscribers, false)
                }
                if shutDown {
                    connection.close()
                    break
                }
                self.logger.debug("notification listener connected")
                for waiter in waiters { waiter.resume(returning: connection) }
                for subscriber in subscribers { subscriber.yield(.reconnected) }
                await self.waitUntilClosed()
                self.state.withLock { state in
                    state.connectionAlive = false
                    if state.connection === connection { state.connection = nil }
                }
                connection.close()
                if !self.state.withLock({ $0.isShutdown }) {
                    self.logger.warning("notification listener lost its connection; reconnecting")
                }
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        self.shutdown()
    }

    /// Sleeps in short slices so that ``shutdown()`` ends a backoff quickly.
    private func sleep(_ duration: Duration) async throws {
        let slice = Duration.milliseconds(50)
        var left = duration
        while left > .zero, !self.state.withLock({ $0.isShutdown }) {
            try await Task.sleep(for: min(slice, left))
            left -= slice
        }
    }
}

/// Quotes an SQL identifier: `"` around it, inner `"` doubled.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}
