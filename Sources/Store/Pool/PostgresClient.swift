public import Logging
public import ServiceLifecycle
import Synchronization

/// An asynchronous PostgreSQL client over libpq with a connection pool.
///
/// Independent statements (``query(_:format:)``) share connections and are pipelined when every
/// connection is busy; ``withConnection(_:)`` and ``withTransaction(_:)`` lease a connection
/// exclusively. Connections that die (a server restart) are dropped and replaced on demand; a
/// request that never reached the server is retried once on a fresh connection.
///
/// As a `Service`, ``run()`` waits for graceful shutdown and then closes the pool; the client can
/// also be used without running it and closed with ``shutdown()``.
public final class PostgresClient: Sendable {
    /// Pool and connection settings.
    public struct Configuration: Sendable {
        /// A libpq connection string or `postgresql://` URL.
        public var conninfo: String
        /// Most connections open at once.
        public var maxConnections: Int
        /// Most shared requests pipelined on one connection once all connections are open.
        public var maxPipelineDepth: Int
        /// Limit for establishing one connection.
        public var connectTimeout: Duration
        /// Sent to the server as `fallback_application_name` (visible in `pg_stat_activity`).
        public var applicationName: String

        public init(
            conninfo: String,
            maxConnections: Int = 10,
            maxPipelineDepth: Int = 16,
            connectTimeout: Duration = .seconds(10),
            applicationName: String = "polygated"
        ) {
            self.conninfo = conninfo
            self.maxConnections = maxConnections
            self.maxPipelineDepth = maxPipelineDepth
            self.connectTimeout = connectTimeout
            self.applicationName = applicationName
        }
    }

    /// A snapshot of the pool, for metrics and the admin console.
    public struct Statistics: Sendable, Hashable {
        public var open: Int
        public var idle: Int
        public var leased: Int
        public var connecting: Int
        public var waiting: Int
    }

    private struct State: ~Copyable {
        var machine: PoolStateMachine
        var connections: [PoolStateMachine.ConnectionID: LibPQConnection] = [:]
        var waiters: [PoolStateMachine.WaiterID: CheckedContinuation<LibPQConnection, any Error>] = [:]
        var connectErrors: [PoolStateMachine.ConnectionID: PostgresError] = [:]
        var nextWaiterID: PoolStateMachine.WaiterID = 0
    }

    public let configuration: Configuration
    private let logger: Logger
    private let state: Mutex<State>

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(
            State(
                machine: PoolStateMachine(
                    maxConnections: configuration.maxConnections,
                    maxPipelineDepth: configuration.maxPipelineDepth
                )
            )
        )
    }

    deinit {
        // Connections keep themselves alive (their socket sources); close what is left.
        for connection in self.state.withLock({ Array($0.connections.values) }) { connection.close() }
    }

    public var statistics: Statistics {
        self.state.withLock { state in
            let m = state.machine
            return Statistics(
                open: m.connections.count - m.connectingCount,
                idle: m.idleCount,
                leased: m.leasedCount,
                connecting: m.connectingCount,
                waiting: m.waiterCount
            )
        }
    }

    // MARK: - Queries

    /// Runs one statement on a shared connection.
    ///
    /// - Parameters:
    ///   - query: the statement; interpolated values are parameters.
    ///   - format: the format the server uses for result columns.
    /// - Throws: ``PostgresError``.
    @discardableResult
    public func query(_ query: PostgresQuery, format: PostgresFormat = .text) async throws -> PostgresQueryResult {
        try await self.pipeline([query], format: format)[0]
    }

    /// Runs several statements back to back in one round trip on a shared connection. They run
    /// in order as one implicit transaction: if one fails, the later ones do not run, the earlier
    /// ones are rolled back, and the first error is thrown.
    public func pipeline(_ queries: [PostgresQuery], format: PostgresFormat = .text) async throws -> [PostgresQueryResult] {
        precondition(!queries.isEmpty, "a pipeline needs at least one statement")
        var retried = false
        while true {
            let (id, connection) = try await self.acquire(exclusive: false)
            do {
                let results = try await connection.execute(queries, resultFormat: format)
                self.release(id, exclusive: false, reusable: true)
                return results
            } catch let error as PostgresError where error.code == .connectionClosed {
                self.release(id, exclusive: false, reusable: false)
                if error.mayHaveReachedServer || retried { throw error }
                retried = true
            } catch {
                self.release(id, exclusive: false, reusable: true)
                throw error
            }
        }
    }

    /// Leases a connection for the duration of `body`; nobody else uses it meanwhile.
    @discardableResult
    public func withConnection<Value>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        let (id, connection) = try await self.acquire(exclusive: true)
        do {
            let result = try await body(PostgresConnection(connection: connection))
            self.release(id, exclusive: true, reusable: await connection.isReusable())
            return result
        } catch {
            self.release(id, exclusive: true, reusable: await connection.isReusable())
            throw error
        }
    }

    /// Runs `body` inside `BEGIN` … `COMMIT` on a leased connection; if `body` throws, the
    /// transaction is rolled back and the error rethrown.
    ///
    /// - Parameter isolation: e.g. `"SERIALIZABLE"`; `nil` uses the server default.
    @discardableResult
    public func withTransaction<Value>(
        isolation: String? = nil,
        _ body: (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        try await self.withConnection { connection in
            let begin = isolation.map { "BEGIN ISOLATION LEVEL \($0)" } ?? "BEGIN"
            try await connection.query(PostgresQuery(unsafeSQL: begin))
            let result: Value
            do {
                result = try await body(connection)
            } catch {
                // A broken connection cannot roll back; the pool drops it either way.
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
            try await connection.query("COMMIT")
            return result
        }
    }

    // MARK: - Pool mechanics

    private func acquire(exclusive: Bool) async throws -> (PoolStateMachine.ConnectionID, LibPQConnection) {
        let waiterID = self.state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let connection = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<LibPQConnection, any Error>) in
                let actions = self.state.withLock { state in
                    state.waiters[waiterID] = continuation
                    return state.machine.acquire(waiterID, exclusive: exclusive)
                }
                self.run(actions)
            }
        } onCancel: {
            self.run(self.state.withLock { $0.machine.cancel(waiterID) })
        }
        return (connection.id, connection)
    }

    private func release(_ id: PoolStateMachine.ConnectionID, exclusive: Bool, reusable: Bool) {
        self.run(self.state.withLock { $0.machine.release(id, exclusive: exclusive, reusable: reusable) })
    }

    /// Carries out the machine's actions outside the lock.
    private func run(_ actions: [PoolStateMachine.Action]) {
        for action in actions {
            switch action {
            case .lease(let waiter, let id):
                let (continuation, connection) = self.state.withLock { state in
                    (state.waiters.removeValue(forKey: waiter), state.connections[id])
                }
                guard let continuation else { continue }
                if let connection {
                    continuation.resume(returning: connection)
                } else {
                    continuation.resume(throwing: PostgresError(code: .connectionClosed, mayHaveReachedServer: false))
                }
            case .createConnection(let id):
                self.openConnection(id)
            case .failWaiter(let waiter, let failure):
                let (continuation, error) = self.state.withLock {
                    state -> (CheckedContinuation<LibPQConnection, any Error>?, any Error) in
                    let continuation = state.waiters.removeValue(forKey: waiter)
                    switch failure {
                    case .connectFailed(let id):
                        return (continuation, state.connectErrors[id] ?? PostgresError(code: .connectionFailed))
                    case .shutdown:
                        return (continuation, PostgresError(code: .poolClosed, message: "the connection pool is shut down"))
                    case .cancelled:
                        return (continuation, CancellationError())
                    }
                }
                continuation?.resume(throwing: error)
            case .closeConnection(let id):
                let connection = self.state.withLock { $0.connections.removeValue(forKey: id) }
                connection?.close()
            }
        }
    }

    /// Starts opening connection `id`; the outcome is reported back to the machine.
    private func openConnection(_ id: PoolStateMachine.ConnectionID) {
        let logger = self.logger
        LibPQConnection.connect(
            id: id,
            conninfo: self.configuration.conninfo,
            applicationName: self.configuration.applicationName,
            timeout: self.configuration.connectTimeout,
            logger: logger,
            onNotification: nil,
            onClose: { [weak self] _ in
                guard let self else { return }
                self.run(
                    self.state.withLock { state in
                        state.connections[id] = nil
                        return state.machine.connectionClosed(id)
                    }
                )
            }
        ) { [weak self] result in
            guard let self else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            switch result {
            case .success(let connection):
                self.run(
                    self.state.withLock { state in
                        state.connections[id] = connection
                        return state.machine.connected(id)
                    }
                )
            case .failure(let error):
                logger.warning(
                    "database connection failed",
                    metadata: [StoreLogKey.connectionID: "\(id)", StoreLogKey.error: "\(error)"]
                )
                let actions = self.state.withLock { state in
                    state.connectErrors[id] = error
                    return state.machine.connectFailed(id)
                }
                self.run(actions)
                _ = self.state.withLock { $0.connectErrors.removeValue(forKey: id) }
            }
        }
    }

    /// Closes idle connections, fails waiters and refuses new requests; leased connections close
    /// when they are returned.
    public func shutdown() {
        self.run(self.state.withLock { $0.machine.shutdown() })
    }
}

// MARK: - Service

extension PostgresClient: Service {
    /// Waits for graceful shutdown, then shuts the pool down.
    public func run() async throws {
        try? await gracefulShutdown()
        self.shutdown()
    }
}
