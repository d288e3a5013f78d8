import GatewayWire
import Synchronization

/// The one owner of this daemon's live sessions: every open session by id, the ones still
/// waiting to authenticate, SSE streams by their bearer id, and authenticated sessions by user
/// and by device. Nothing else keeps a list of sessions: the fan-out keeps which conversations a
/// session reads, presence which users it watches, both by session id.
///
/// A session enters with ``open(maxUnauthenticated:_:)``, is indexed by its identity with
/// ``authenticated(_:identity:)`` and leaves with ``remove(_:)`` — once, whatever ended it.
final class SessionRegistry: Sendable {
    private struct State {
        var sessions: [UInt64: GatewaySession] = [:]
        /// Open sessions that have not authenticated (or resumed) yet.
        var unauthenticated: Set<UInt64> = []
        var streams: [[UInt8]: GatewaySession] = [:]
        var byUser: [UserID: [UInt64: GatewaySession]] = [:]
        var byDevice: [DeviceID: [UInt64: GatewaySession]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Registers the session `make` builds with the next id, unless `maxUnauthenticated`
    /// sessions already wait to authenticate (then nil, and nothing is built).
    func open(maxUnauthenticated: Int, _ make: (UInt64) -> GatewaySession) -> GatewaySession? {
        self.state.withLock { state in
            guard state.unauthenticated.count < maxUnauthenticated else { return nil }
            state.nextID += 1
            let session = make(state.nextID)
            state.sessions[session.id] = session
            state.unauthenticated.insert(session.id)
            if let stream = session.streamID { state.streams[stream] = session }
            return session
        }
    }

    /// The session authenticated as `identity`: indexed by user and device — unless it was
    /// removed meanwhile (closed while authenticating), which leaves no trace.
    func authenticated(_ session: GatewaySession, identity: GatewaySession.Identity) {
        self.state.withLock { state in
            guard state.sessions[session.id] != nil else { return }
            state.unauthenticated.remove(session.id)
            state.byUser[identity.userID, default: [:]][session.id] = session
            state.byDevice[identity.deviceID, default: [:]][session.id] = session
        }
    }

    /// The session ended: it leaves every index. True the first time, false after.
    @discardableResult
    func remove(_ session: GatewaySession) -> Bool {
        let identity = session.identity
        return self.state.withLock { state in
            guard state.sessions.removeValue(forKey: session.id) != nil else { return false }
            state.unauthenticated.remove(session.id)
            if let stream = session.streamID { state.streams[stream] = nil }
            if let identity {
                state.byUser[identity.userID]?[session.id] = nil
                if state.byUser[identity.userID]?.isEmpty == true { state.byUser[identity.userID] = nil }
                state.byDevice[identity.deviceID]?[session.id] = nil
                if state.byDevice[identity.deviceID]?.isEmpty == true { state.byDevice[identity.deviceID] = nil }
            }
            return true
        }
    }

    /// Every open session.
    var all: [GatewaySession] { self.state.withLock { Array($0.sessions.values) } }

    /// Open sessions (authenticated or not).
    var count: Int { self.state.withLock { $0.sessions.count } }

    /// Sessions waiting to authenticate.
    var unauthenticatedCount: Int { self.state.withLock { $0.unauthenticated.count } }

    /// The open SSE stream with this bearer id.
    func stream(id: [UInt8]) -> GatewaySession? { self.state.withLock { $0.streams[id] } }

    /// Authenticated sessions of a user.
    func sessions(ofUser user: UserID) -> [GatewaySession] {
        self.state.withLock { Array(($0.byUser[user] ?? [:]).values) }
    }

    /// Authenticated sessions of a device.
    func sessions(ofDevice device: DeviceID) -> [GatewaySession] {
        self.state.withLock { Array(($0.byDevice[device] ?? [:]).values) }
    }

    /// A `polygate_session` signal, handed to the sessions it concerns.
    func dispatch(_ signal: SessionSignal) {
        let targets: [GatewaySession]
        switch signal {
        case .membership(let user), .contact(let user, _, _): targets = self.sessions(ofUser: user)
        case .revoked(let device), .keyPackagesLow(let device, _, _): targets = self.sessions(ofDevice: device)
        }
        for session in targets { session.signal(signal) }
    }
}
