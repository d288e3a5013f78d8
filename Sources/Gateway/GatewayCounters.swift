import Synchronization

/// What the realtime gateway has done since it started, for `/metrics` (read at scrape time;
/// the gateway does not import a metrics library).
package final class GatewayCounters: Sendable {
    /// A point-in-time reading.
    package struct Snapshot: Sendable, Hashable {
        /// Open sessions by transport, authenticated or not.
        package var webSocketSessions = 0
        package var sseSessions = 0
        /// Of those, authenticated.
        package var authenticatedSessions = 0
        /// Of those, sealed (§14).
        package var sealedSessions = 0
        /// Sealed handshakes that failed (another key, garbage, silence).
        package var sealedHandshakeFailures = 0
        /// Conversations with readers on this daemon.
        package var conversations = 0
        /// Messages appended through this daemon (retries of a msg_id not counted).
        package var appends = 0
        /// `Delivery` frames queued to connections.
        package var deliveries = 0
        /// Failed authentications.
        package var authenticationFailures = 0
        /// Requests refused with `rate_limited`.
        package var rateLimited = 0
        /// Connections closed as slow consumers (4008).
        package var slowConsumers = 0
        /// Connections closed with 4029.
        package var penalties = 0

        package init() {}
    }

    let appends = Atomic<Int>(0)
    let deliveries = Atomic<Int>(0)
    let authenticationFailures = Atomic<Int>(0)
    let rateLimited = Atomic<Int>(0)
    let slowConsumers = Atomic<Int>(0)
    let penalties = Atomic<Int>(0)
    let sealedHandshakeFailures = Atomic<Int>(0)

    init() {}

    enum Counter {
        case appends, deliveries, authenticationFailures, rateLimited, slowConsumers, penalties, sealedHandshakeFailures
    }

    func add(_ counter: Counter, _ amount: Int = 1) {
        switch counter {
        case .appends: self.appends.wrappingAdd(amount, ordering: .relaxed)
        case .deliveries: self.deliveries.wrappingAdd(amount, ordering: .relaxed)
        case .authenticationFailures: self.authenticationFailures.wrappingAdd(amount, ordering: .relaxed)
        case .rateLimited: self.rateLimited.wrappingAdd(amount, ordering: .relaxed)
        case .slowConsumers: self.slowConsumers.wrappingAdd(amount, ordering: .relaxed)
        case .penalties: self.penalties.wrappingAdd(amount, ordering: .relaxed)
        case .sealedHandshakeFailures: self.sealedHandshakeFailures.wrappingAdd(amount, ordering: .relaxed)
        }
    }

    /// The counters (sessions and conversations are filled in by ``RealtimeGateway/statistics``).
    var snapshot: Snapshot {
        var snapshot = Snapshot()
        snapshot.appends = self.appends.load(ordering: .relaxed)
        snapshot.deliveries = self.deliveries.load(ordering: .relaxed)
        snapshot.authenticationFailures = self.authenticationFailures.load(ordering: .relaxed)
        snapshot.rateLimited = self.rateLimited.load(ordering: .relaxed)
        snapshot.slowConsumers = self.slowConsumers.load(ordering: .relaxed)
        snapshot.penalties = self.penalties.load(ordering: .relaxed)
        snapshot.sealedHandshakeFailures = self.sealedHandshakeFailures.load(ordering: .relaxed)
        return snapshot
    }
}
