/// The connection pool's decisions, as a value type without I/O.
///
/// Callers ask for a connection either *shared* (one request that may be pipelined behind others
/// on a connection nobody has leased) or *exclusive* (a lease, e.g. for a transaction). Waiters
/// are served strictly first come, first served. A shared request prefers an idle connection,
/// then a new connection while the pool is below its limit, and only then pipelines onto the
/// least-loaded connection below `maxPipelineDepth`.
struct PoolStateMachine {
    typealias ConnectionID = Int
    typealias WaiterID = UInt64

    enum ConnectionState: Equatable {
        case connecting
        /// Usable; `inFlight` shared requests are running on it.
        case available(inFlight: Int)
        case leased
    }

    enum Action: Equatable {
        /// Give `connection` to `waiter`.
        case lease(waiter: WaiterID, connection: ConnectionID)
        /// Open a new connection with this id.
        case createConnection(ConnectionID)
        /// Fail a waiter (connection attempt failed with nothing else open, or shutdown).
        case failWaiter(WaiterID, Failure)
        /// Close a connection that the pool no longer keeps.
        case closeConnection(ConnectionID)
    }

    enum Failure: Equatable {
        /// Connecting failed; the index names the failed attempt's error kept by the caller.
        case connectFailed(ConnectionID)
        case shutdown
        case cancelled
    }

    private struct Waiter {
        var id: WaiterID
        var exclusive: Bool
    }

    let maxConnections: Int
    let maxPipelineDepth: Int
    private(set) var connections: [ConnectionID: ConnectionState] = [:]
    private var waiters: [Waiter] = []
    private var nextConnectionID: ConnectionID = 1
    private(set) var isShutdown = false

    init(maxConnections: Int, maxPipelineDepth: Int) {
        precondition(maxConnections >= 1 && maxPipelineDepth >= 1)
        self.maxConnections = maxConnections
        self.maxPipelineDepth = maxPipelineDepth
    }

    var waiterCount: Int { self.waiters.count }
    var idleCount: Int { self.connections.values.filter { $0 == .available(inFlight: 0) }.count }
    var leasedCount: Int { self.connections.values.filter { $0 == .leased }.count }
    var connectingCount: Int { self.connections.values.filter { $0 == .connecting }.count }

    // MARK: Requests

    mutating func acquire(_ waiter: WaiterID, exclusive: Bool) -> [Action] {
        if self.isShutdown { return [.failWaiter(waiter, .shutdown)] }
        self.waiters.append(Waiter(id: waiter, exclusive: exclusive))
        return self.dispatch()
    }

    /// A waiter gave up (task cancelled) before it was served.
    mutating func cancel(_ waiter: WaiterID) -> [Action] {
        guard let index = self.waiters.firstIndex(where: { $0.id == waiter }) else { return [] }
        self.waiters.remove(at: index)
        return [.failWaiter(waiter, .cancelled)] + self.dispatch()
    }

    /// A shared request or an exclusive lease is finished. `reusable` is false when the
    /// connection is broken or was left inside a transaction; the pool then drops it.
    mutating func release(_ connection: ConnectionID, exclusive: Bool, reusable: Bool) -> [Action] {
        guard let state = self.connections[connection] else { return self.dispatch() }
        var actions: [Action] = []
        if !reusable {
            self.connections[connection] = nil
            actions.append(.closeConnection(connection))
            return actions + self.dispatch()
        }
        switch (state, exclusive) {
        case (.leased, true):
            self.connections[connection] = .available(inFlight: 0)
        case (.available(let n), false) where n > 0:
            self.connections[connection] = .available(inFlight: n - 1)
        default:
            preconditionFailure("release does not match the connection's state \(state)")
        }
        if self.isShutdown, self.connections[connection] == .available(inFlight: 0) {
            self.connections[connection] = nil
            return [.closeConnection(connection)]
        }
        return self.dispatch()
    }

    // MARK: Connection events

    mutating func connected(_ connection: ConnectionID) -> [Action] {
        guard self.connections[connection] == .connecting else { return [.closeConnection(connection)] }
        if self.isShutdown {
            self.connections[connection] = nil
            return [.closeConnection(connection)]
        }
        self.connections[connection] = .available(inFlight: 0)
        return self.dispatch()
    }

    /// An attempt failed. Unless some connection is already open (and will be released), every
    /// waiter fails with that error: waiting would only hang while the database is down. A failure
    /// never starts another attempt by itself; the next request does.
    mutating func connectFailed(_ connection: ConnectionID) -> [Action] {
        self.connections[connection] = nil
        let established = self.connections.values.contains { $0 != .connecting }
        guard !established else { return [] }
        let failed = self.waiters.map { Action.failWaiter($0.id, .connectFailed(connection)) }
        self.waiters.removeAll()
        return failed
    }

    /// An open connection died (server restart, network). Its users see their own errors.
    mutating func connectionClosed(_ connection: ConnectionID) -> [Action] {
        guard self.connections.removeValue(forKey: connection) != nil else { return [] }
        return self.dispatch()
    }

    mutating func shutdown() -> [Action] {
        guard !self.isShutdown else { return [] }
        self.isShutdown = true
        var actions = self.waiters.map { Action.failWaiter($0.id, .shutdown) }
        self.waiters.removeAll()
        for (id, state) in self.connections.sorted(by: { $0.key < $1.key }) where state == .available(inFlight: 0) {
            self.connections[id] = nil
            actions.append(.closeConnection(id))
        }
        return actions
    }

    // MARK: Matching waiters to connections

    private mutating func dispatch() -> [Action] {
        var actions: [Action] = []
        while let waiter = self.waiters.first {
            guard let connection = self.pick(exclusive: waiter.exclusive) else { break }
            self.waiters.removeFirst()
            if waiter.exclusive {
                self.connections[connection] = .leased
            } else if case .available(let n) = self.connections[connection] {
                self.connections[connection] = .available(inFlight: n + 1)
            }
            actions.append(.lease(waiter: waiter.id, connection: connection))
        }
        // Open connections for the waiters that are left, up to the limit.
        let opening = self.connectingCount
        var wanted = self.waiters.count - opening
        while wanted > 0, self.connections.count < self.maxConnections {
            let id = self.nextConnectionID
            self.nextConnectionID += 1
            self.connections[id] = .connecting
            actions.append(.createConnection(id))
            wanted -= 1
        }
        return actions
    }

    private func pick(exclusive: Bool) -> ConnectionID? {
        let ordered = self.connections.sorted { $0.key < $1.key }
        if let idle = ordered.first(where: { $0.value == .available(inFlight: 0) }) {
            return idle.key
        }
        if exclusive { return nil }
        // Below the limit, a new connection serves better than queueing behind other requests.
        if self.connections.count < self.maxConnections { return nil }
        var best: (id: ConnectionID, load: Int)?
        for (id, state) in ordered {
            if case .available(let n) = state, n < self.maxPipelineDepth, n < (best?.load ?? Int.max) {
                best = (id, n)
            }
        }
        return best?.id
    }
}
