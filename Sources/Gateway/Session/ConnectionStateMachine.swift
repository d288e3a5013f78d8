package import GatewayWire

/// One gateway connection's life as a value (docs/GATEWAY_SPEC.md §3, §7): which frames are
/// allowed when, the authentication deadline, the ping deadline and the penalty for repeated
/// rate limiting. The session feeds it events and carries out the actions; it does no I/O and
/// reads no clock. The token buckets themselves are per device across connections
/// (``RateLimiter``); the machine only counts the refusals.
package struct ConnectionStateMachine: Sendable {
    package enum State: Sendable, Hashable {
        case awaitingAuthentication
        case authenticated(userID: UserID, deviceID: DeviceID)
        case closed(code: UInt16)
    }

    /// The kind of an incoming frame, as far as the state machine cares.
    package enum Incoming: Sendable, Hashable {
        case authenticate
        case resume
        case ping
        case send
        case claim
        /// A presence `Watch`.
        case watch
        /// Any other request.
        case request
    }

    package enum Action: Sendable, Hashable {
        /// Handle the frame.
        case process
        /// Refuse this request with `rate_limited` (nothing done) and keep the connection.
        case rateLimited(retryAfter: Duration)
        /// Send `GoAway` and close with this code.
        case close(code: UInt16, reason: String, reconnectAfter: Duration)
    }

    package private(set) var state: State = .awaitingAuthentication
    let limits: GatewayLimits
    let opened: Duration
    var lastHeard: Duration
    var penalties: [Duration] = []

    package init(limits: GatewayLimits, now: Duration) {
        self.limits = limits
        self.opened = now
        self.lastHeard = now
    }

    /// Whether the connection is closed (or closing).
    package var isClosed: Bool {
        if case .closed = self.state { return true }
        return false
    }

    /// A frame arrived at `now`.
    package mutating func received(_ incoming: Incoming, now: Duration) -> Action {
        if case .closed = self.state {
            return .close(code: CloseCode.protocolError, reason: "closed", reconnectAfter: .seconds(5))
        }
        self.lastHeard = now
        switch (self.state, incoming) {
        case (_, .ping):
            return .process
        case (.awaitingAuthentication, .authenticate), (.awaitingAuthentication, .resume):
            return .process
        case (.awaitingAuthentication, _):
            return self.close(CloseCode.protocolError, "request before authentication", after: .seconds(5))
        case (.authenticated, .authenticate), (.authenticated, .resume):
            return self.close(CloseCode.protocolError, "already authenticated", after: .seconds(5))
        case (.authenticated, .send), (.authenticated, .claim), (.authenticated, .watch), (.authenticated, .request):
            return .process
        case (.closed, _):
            return .close(code: CloseCode.protocolError, reason: "closed", reconnectAfter: .seconds(5))
        }
    }

    /// Authentication succeeded.
    package mutating func authenticated(userID: UserID, deviceID: DeviceID) {
        if case .awaitingAuthentication = self.state { self.state = .authenticated(userID: userID, deviceID: deviceID) }
    }

    /// Authentication failed: close 4001 (or 4003 for a revoked device).
    package mutating func authenticationFailed(revoked: Bool) -> Action {
        revoked
            ? self.close(CloseCode.deviceRevoked, "device revoked", after: .zero)
            : self.close(CloseCode.authenticationFailed, "authentication failed", after: .seconds(5))
    }

    /// The server closes the connection for another reason (drain, revocation, a protocol
    /// error the transport found).
    package mutating func close(code: UInt16, reason: String, reconnectAfter: Duration) -> Action {
        self.close(code, reason, after: reconnectAfter)
    }

    /// The send queue overflowed.
    package mutating func slowConsumer() -> Action {
        self.close(CloseCode.slowConsumer, "slow consumer: resume from your cursors", after: .seconds(1))
    }

    /// Time passed: the authentication or ping deadline may have expired.
    package mutating func tick(now: Duration) -> Action? {
        switch self.state {
        case .awaitingAuthentication where now - self.opened >= self.limits.authTimeout:
            return self.close(CloseCode.authenticationTimeout, "no authentication in time", after: .seconds(1))
        case .authenticated where now - self.lastHeard >= self.limits.pingInterval * 2.5:
            return self.close(CloseCode.pingTimeout, "no ping in time", after: .zero)
        default:
            return nil
        }
    }

    /// A request was refused by a token bucket (`wait` until the next token): `rate_limited`,
    /// or — the ``GatewayLimits/penaltyAfterLimits``-th refusal within a minute — close 4029.
    package mutating func limited(retryAfter wait: Duration, now: Duration) -> Action {
        guard !self.isClosed else { return .close(code: CloseCode.protocolError, reason: "closed", reconnectAfter: .seconds(5)) }
        self.penalties = self.penalties.filter { now - $0 < .seconds(60) } + [now]
        if self.penalties.count >= self.limits.penaltyAfterLimits {
            return self.close(CloseCode.rateLimited, "repeatedly rate limited", after: .seconds(60))
        }
        return .rateLimited(retryAfter: wait)
    }

    private mutating func close(_ code: UInt16, _ reason: String, after: Duration) -> Action {
        self.state = .closed(code: code)
        return .close(code: code, reason: reason, reconnectAfter: after)
    }
}

extension ConnectionStateMachine.Incoming {
    /// What a client frame's body counts as.
    package init(_ body: Polygate_Gateway_V1_ClientFrame.OneOf_Body) {
        switch body {
        case .authenticate: self = .authenticate
        case .resume: self = .resume
        case .ping: self = .ping
        case .send: self = .send
        case .claimKeyPackages: self = .claim
        case .watch: self = .watch
        default: self = .request
        }
    }
}
