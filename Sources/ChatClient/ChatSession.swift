import ClientTLS
package import GatewayClient
import GatewayWire
import MLS
import Primitives
import Synchronization

/// One connection of the engine to the gateway: authenticated, caught up, KeyPackages topped
/// up. Server frames are processed in order by ``pump(timeout:until:)`` (the command line) or
/// ``step(timeout:)`` (the terminal UI).
package struct ChatSession: Sendable {
    package let connection: GatewayConnection
    package let engine: ChatEngine

    /// Processes server frames until `done` holds (checked after each frame).
    ///
    /// - Throws: ``ChatError`` `unreachable` when the connection ends first, or after `timeout`.
    package func pump(timeout: Duration = .seconds(20), until done: @Sendable (ChatEngine) async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await done(self.engine)) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw ChatError(.unreachable, "the gateway did not answer in time") }
            let frame: GatewayConnection.ServerFrame?
            do {
                frame = try await self.connection.nextEvent(timeout: left)
            } catch {
                throw ChatError(.unreachable, "the gateway did not answer in time")
            }
            guard let frame else { throw await self.ended() }
            await self.engine.handle(frame, session: self)
        }
    }

    /// Why the connection ended, as the user should hear it: a revoked device (close 4003) is
    /// recorded as such and stops for good.
    func ended() async -> ChatError {
        if self.connection.closeCode == CloseCode.deviceRevoked { return await self.engine.markRevoked() }
        return ChatError(
            .unreachable,
            "the gateway closed the connection (\(self.connection.endReason?.description ?? "no reason"))"
        )
    }

    /// Processes the next server frame if one comes within `timeout`, then (when nothing else
    /// is queued) saves and acks.
    ///
    /// - Returns: whether a frame was processed.
    /// - Throws: ``ChatError`` `unreachable` once the connection has ended.
    package func step(timeout: Duration) async throws(ChatError) -> Bool {
        let frame: GatewayConnection.ServerFrame?
        do {
            frame = try await self.connection.nextEvent(timeout: timeout)
        } catch {
            return false
        }
        guard let frame else { throw await self.ended() }
        await self.engine.handle(frame, session: self)
        if self.connection.pendingEvents == 0 { await self.engine.flushAcks(self) }
        return true
    }

    /// A request; a server error becomes a ``ChatError`` with its message.
    @discardableResult
    func call(_ body: GatewayConnection.ClientBody) async throws(ChatError) -> Polygate_Gateway_V1_Response {
        do {
            return try await self.connection.call(body)
        } catch let error as GatewayClientError {
            throw ChatSession.translate(error)
        } catch {
            throw ChatError(.unreachable, "the gateway request failed: \(error)")
        }
    }

    static func translate(_ error: GatewayClientError) -> ChatError {
        switch error.serverCode {
        case .some(.notMember): ChatError(.notMember, "not a member of that conversation")
        case .some(let code): ChatError(.refused, "the gateway refused: \(code): \(error.message)")
        case .none: ChatError(.unreachable, "the gateway: \(error)")
        }
    }
}

extension ChatEngine {
    /// Connects to the gateway — sealed under a pinned key (§14) when one is pinned, or when
    /// the gateway offers sealed sessions (its keys are then pinned), plain otherwise —
    /// authenticates this device (registering it the first time), processes everything that
    /// arrived while it was away, tops up its KeyPackages, runs `body`, and saves the state.
    ///
    /// - Throws: ``ChatError`` `unreachable` when the gateway cannot be reached, `gateway_key`
    ///   when it does not prove a pinned key or no longer offers sealed sessions.
    package nonisolated func withSession<T: Sendable>(_ body: (ChatSession) async throws -> T) async throws -> T {
        let url = await self.identity.gatewayURL
        if await self.identity.revoked == true { throw Self.revokedError }
        if let attached = await self.attached {
            // Inside a running instance's loop: its connection, caught up and live.
            let result = try await body(attached)
            try await self.save()
            return result
        }
        let endpoint = try GatewayEndpoint(parsing: url)
        let tls = endpoint.tls ? self.tls : nil
        let pins = await self.pins(for: endpoint)
        // Set once a connection is made: a failure after that is never retried over SSE.
        let entered = Mutex(false)
        func session(_ connection: GatewayConnection) async throws -> T {
            entered.withLock { $0 = true }
            if let sealed = connection.sealed { await self.takeRotation(sealed) }
            do {
                try await connection.authenticate(self.device, register: true)
            } catch let error as GatewayClientError {
                // A revoked device is refused with bad_certificate, then closed with 4003.
                if error.serverCode == .badCertificate, await Self.closedAsRevoked(connection) {
                    throw await self.markRevoked()
                }
                throw ChatSession.translate(error)
            }
            let session = ChatSession(connection: connection, engine: self)
            await self.setConnected(true)
            defer { Task { await self.setConnected(false) } }
            // The app-level ping the gateway wants at least every ping interval (§3).
            let interval = max(1000, Int((try? await connection.challenge().pingIntervalMs) ?? 20_000) / 2)
            let keepalive = Task {
                var ping = Polygate_Gateway_V1_ClientFrame()
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(interval))
                    ping.ping.clientTimeMs = ChatEngine.nowMs()
                    try? await connection.send(ping)
                }
            }
            defer { keepalive.cancel() }
            await self.startCatchUp()
            try await session.pump(timeout: .seconds(60)) { await $0.caughtUp }
            try await self.replenishKeyPackages(session)
            await self.afterCatchUp(session)
            let result = try await body(session)
            await self.flushAcks(session)
            try await self.save()
            return result
        }
        /// One connection: sealed under `key`, or plain without one.
        func connect(_ key: [UInt8]?) async throws -> T {
            func overSSE() async throws -> T {
                try await GatewayConnection.withSSE(
                    host: endpoint.host,
                    port: endpoint.port,
                    prefix: endpoint.prefix,
                    tls: tls,
                    client: try HTTPClients.client(self.tls),
                    sealedKey: key,
                    session
                )
            }
            switch self.connection.transport {
            case .sse:
                return try await overSSE()
            case .websocket, .auto:
                do {
                    return try await GatewayConnection.withWebSocket(
                        host: endpoint.host,
                        port: endpoint.port,
                        path: key == nil ? endpoint.path : endpoint.sealedPath,
                        tls: tls,
                        sealedKey: key,
                        session
                    )
                } catch let error as GatewayClientError
                    where self.connection.transport == .auto && error.code == .refused && !entered.withLock({ $0 })
                    && error.httpStatus != 429 && error.httpStatus != 503
                {
                    // The way to the gateway does not upgrade (a proxy without WebSocket
                    // support answers 400, 404, 426 or 502): the same session over SSE,
                    // sealed as the WebSocket would have been.
                    return try await overSSE()
                }
            }
        }
        do {
            guard !pins.isEmpty else { return try await connect(nil) }
            // The newest pinned key first; an older one still pinned (a rotation's overlap)
            // when the gateway refuses it.
            for (index, key) in pins.keys.enumerated() {
                do {
                    return try await connect(key)
                } catch let error as GatewayClientError where error.code == .gatewayKey && !entered.withLock({ $0 }) {
                    guard index == pins.keys.count - 1 else { continue }
                    let announced = await GatewayInfo.fetch(endpoint, tls: self.tls)?.sealedKeys
                    throw pins.mismatch(url, announced: announced)
                }
            }
            throw pins.mismatch(url, announced: nil)
        } catch let error as ChatError {
            try? await self.save()
            throw error
        } catch let error as GatewayClientError {
            try? await self.save()
            switch error.code {
            case .unreachable: throw ChatError(.unreachable, "cannot reach the gateway at \(url): is polygated running?")
            case .refused: throw Self.refusal(error, url, sealed: !pins.isEmpty)
            case .tls: throw ChatError(.unreachable, "cannot connect securely to the gateway at \(url): \(error.message)")
            default: throw ChatSession.translate(error)
            }
        }
    }

    /// The keys to seal connections under: those pinned, else those the gateway's info
    /// document lists now (then pinned: trust on first use, as at `init`); none when it
    /// offers no sealed sessions or cannot be asked (then the connection is plain).
    func pins(for endpoint: GatewayEndpoint) async -> GatewayPins {
        let pinned = GatewayPins(hex: self.identity.gatewayKeys)
        guard pinned.isEmpty else { return pinned }
        let offered = GatewayPins(await GatewayInfo.fetch(endpoint, tls: self.tls)?.sealedKeys ?? [])
        if !offered.isEmpty {
            self.identity.gatewayKeys = offered.hex
            try? self.saveNow()
        }
        return offered
    }

    /// Takes the keys the gateway announced in a sealed handshake (a rotation) as the pins.
    func takeRotation(_ sealed: SealedSession) {
        let pinned = GatewayPins(hex: self.identity.gatewayKeys)
        let updated = pinned.updated(used: sealed.gatewayKey, hello: sealed.keys)
        guard updated != pinned else { return }
        self.identity.gatewayKeys = updated.hex
        try? self.saveNow()
    }

    /// A refused connection in words: rate limited (with the wait), busy, sealed sessions
    /// off (with a key pinned) or required (without one), or the status.
    static func refusal(_ error: GatewayClientError, _ url: String, sealed: Bool) -> ChatError {
        let wait = error.retryAfter.map { " in \($0) s" } ?? " later"
        switch error.httpStatus {
        case 404 where sealed:
            return ChatError(
                .gatewayKey,
                """
                the gateway at \(url) does not offer sealed sessions (its sealed routes answer 404), and this device \
                pinned a key for it: polychat does not fall back to a plain connection, which a proxy or CDN in \
                between can read. If its administrator turned sealed sessions off on purpose, \
                'polychat servers --forget-gateway-key' lets polychat connect plainly
                """
            )
        case 403 where !sealed:
            return ChatError(
                .refused,
                """
                the gateway at \(url) accepts only sealed sessions, and polychat could not learn its key (its \
                /v1/info did not answer): run the command again, or pin the key its administrator gives you \
                ('polygated show-key' on the server): polychat servers --gateway-key KEY
                """
            )
        case 429:
            return ChatError(
                .rateLimited,
                "the gateway at \(url) is rate limiting this address: too many connections or failed sign-ins from it; retry\(wait)"
            )
        case 503: return ChatError(.unreachable, "the gateway at \(url) is busy or starting; retry\(wait)")
        default: return ChatError(.unreachable, "the gateway at \(url) refused the connection (HTTP \(error.httpStatus ?? 0))")
        }
    }

    static let revokedError = ChatError(
        .revoked,
        """
        this device was revoked (by an administrator, or from another of your devices) and can no longer chat. \
        Your identity is still here: 'polychat identity export FILE' writes it, and 'polychat init --import FILE' \
        with another state directory (--home) makes a new device of you
        """
    )

    /// Records that the gateway revoked this device (no further connection is tried) and the
    /// error that says so.
    func markRevoked() -> ChatError {
        if self.identity.revoked != true {
            self.identity.revoked = true
            try? self.saveNow()
        }
        return Self.revokedError
    }

    /// Whether the gateway closes `connection` with 4003 (device revoked), waiting briefly for
    /// the close that follows the refusal.
    static func closedAsRevoked(_ connection: GatewayConnection) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            guard (try? await connection.nextEvent(timeout: deadline - ContinuousClock.now)) != nil else { break }
        }
        return connection.closeCode == CloseCode.deviceRevoked
    }
}
