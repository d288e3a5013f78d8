import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// Authentication and resume (docs/GATEWAY_SPEC.md §3.2–3.3).
extension GatewaySession {
    /// On a sealed connection, the Noise handshake hash the device signs (§14); nil on a plain
    /// one.
    ///
    /// - Throws: on a sealed connection whose handshake is not done (cannot happen: frames
    ///   arrive only through the channel).
    func sealedBinding() throws(GatewayWireError) -> [UInt8]? {
        guard self.sealed else { return nil }
        guard let binding = self.state.withLock({ $0.channelBinding }) else {
            throw GatewayWireError(.badSignature, "the sealed channel is not established")
        }
        return binding
    }

    func authenticate(_ request: Polygate_Gateway_V1_Authenticate, requestID: UInt64) async {
        let nowMs = self.context.clock.wallMs
        let certificate: VerifiedDeviceCertificate
        do {
            certificate = try VerifiedDeviceCertificate(request.certificate, nowMs: nowMs)
            try Handshake.verify(
                [UInt8](request.signature),
                transcript: Handshake.authenticationTranscript(
                    gatewayID: self.context.gatewayID,
                    nonce: self.nonce,
                    binding: try self.sealedBinding()
                ),
                deviceID: certificate.deviceID
            )
        } catch {
            await self.authenticationFailed(requestID, error, device: nil, revoked: false)
            return
        }
        if await self.refusePenalized(certificate.deviceID, requestID: requestID) { return }
        do {
            switch try await self.context.repository.deviceRecord(certificate.deviceID) {
            case nil:
                guard request.register else {
                    await self.authenticationFailed(
                        requestID,
                        GatewayWireError(.unknownDevice, "this device is not registered; authenticate with register"),
                        device: certificate.deviceID,
                        revoked: false
                    )
                    return
                }
                if try await self.context.repository.register(certificate, ip: self.peer) {
                    self.context.ledger.mirrored(
                        "device.registered",
                        actor: Hex.encode(certificate.userID),
                        subject: Hex.encode(certificate.deviceID),
                        details: DeliveryRepository.registrationDetails(certificate, ip: self.peer)
                    )
                }
            case let record?:
                if record.revoked {
                    await self.authenticationFailed(
                        requestID,
                        GatewayWireError(.badCertificate, "this device was revoked"),
                        device: certificate.deviceID,
                        revoked: true
                    )
                    return
                }
                guard record.userID == certificate.userID else {
                    await self.authenticationFailed(
                        requestID,
                        GatewayWireError(.badCertificate, "this device is registered to another user"),
                        device: certificate.deviceID,
                        revoked: false
                    )
                    return
                }
                if record.certificate != (try certificate.signed.serializedBytes() as [UInt8]) {
                    try await self.context.repository.updateCertificate(certificate)
                }
            }
        } catch {
            self.unavailable(requestID, error)
            self.close(code: CloseCode.overloaded, reason: "the database did not answer", after: .seconds(5))
            return
        }
        self.authenticated(
            Identity(userID: certificate.userID, deviceID: certificate.deviceID, certificate: certificate),
            requestID
        )
    }

    func resume(_ request: Polygate_Gateway_V1_Resume, requestID: UInt64) async {
        let nowMs = self.context.clock.wallMs
        let token = [UInt8](request.token)
        let tokens = self.context.tokens
        let deviceID: DeviceID
        do {
            deviceID = try tokens.check(token, nowMs: nowMs)
        } catch {
            self.resumeFailed(requestID, error)
            return
        }
        do {
            try Handshake.verify(
                [UInt8](request.signature),
                transcript: Handshake.resumeTranscript(
                    gatewayID: self.context.gatewayID,
                    nonce: self.nonce,
                    token: token,
                    binding: try self.sealedBinding()
                ),
                deviceID: deviceID
            )
        } catch {
            await self.authenticationFailed(requestID, error, device: deviceID, revoked: false)
            return
        }
        if await self.refusePenalized(deviceID, requestID: requestID) { return }
        let record: DeviceRecord?
        do {
            record = try await self.context.repository.deviceRecord(deviceID)
        } catch {
            self.unavailable(requestID, error)
            return
        }
        guard let record, !record.revoked else {
            self.resumeFailed(requestID, GatewayWireError(.resumeFailed, "the device is unknown or revoked"))
            return
        }
        do {
            let signed = try Polygate_Gateway_V1_SignedDeviceCertificate(serializedBytes: record.certificate)
            let certificate = try VerifiedDeviceCertificate(signed, nowMs: nowMs)
            self.authenticated(Identity(userID: record.userID, deviceID: deviceID, certificate: certificate), requestID)
        } catch {
            self.resumeFailed(requestID, GatewayWireError(.resumeFailed, "the device's certificate is no longer valid"))
        }
    }

    /// A failed resume keeps the connection: the client authenticates in full on it.
    private func resumeFailed(_ requestID: UInt64, _ error: any Error) {
        let wire = (error as? GatewayWireError) ?? GatewayWireError(.resumeFailed, "resume failed")
        self.respond(requestID, error: GatewayWireError(.resumeFailed, wire.message))
    }

    /// A device closed with 4029 a moment ago is refused for the rest of its reconnect hint.
    private func refusePenalized(_ deviceID: DeviceID, requestID: UInt64) async -> Bool {
        guard let wait = self.context.limiter.penalty(device: deviceID, now: self.context.clock.now) else { return false }
        self.refuseRateLimited(requestID, wait)
        self.close(code: CloseCode.rateLimited, reason: "penalised for repeated rate limiting", after: wait)
        return true
    }

    private func authenticated(_ identity: Identity, _ requestID: UInt64) {
        let tokens = self.context.tokens
        let ok = self.state.withLock { state -> Bool in
            guard !state.machine.isClosed, state.identity == nil else { return false }
            state.machine.authenticated(userID: identity.userID, deviceID: identity.deviceID)
            state.identity = identity
            return true
        }
        guard ok else { return }
        let expires = self.context.clock.wallMs + UInt64(self.context.limits.resumeTTL.milliseconds)
        var result = Polygate_Gateway_V1_AuthResult()
        result.userID = .init(identity.userID)
        result.deviceID = .init(identity.deviceID)
        result.resumeToken = .init(tokens.issue(deviceID: identity.deviceID, expiresAtMs: expires))
        result.resumeExpiresMs = expires
        var response = self.response(requestID)
        response.auth = result
        self.respond(response)
        self.logger.debug("authenticated", metadata: ["gw.device": "\(Hex.encode(identity.deviceID))"])
        self.context.authenticated(self, identity: identity)
        self.schedule(.catchUp)
    }

    /// Answers a failed authentication, records it and closes (4001, or 4003 when revoked).
    ///
    /// A revoked device has proved its key: its attempts count against the device, not the
    /// client address (one revoked device retrying must not lock out everyone behind the same
    /// NAT, proxy or CDN), and a stream of retries is recorded at most once a minute.
    private func authenticationFailed(_ requestID: UInt64, _ error: any Error, device: DeviceID?, revoked: Bool) async {
        let wire = (error as? GatewayWireError) ?? GatewayWireError(.badRequest, "authentication failed")
        self.respond(requestID, error: wire)
        self.context.counters.add(.authenticationFailures)
        let now = self.context.clock.now
        var record = true
        if revoked, let device {
            record = self.context.limiter.revokedAttempt(device: device, now: now)
        } else {
            self.context.limiter.authenticationFailed(ip: self.peer, now: now)
        }
        var details = ["reason": wire.code.rawValue, "ip": self.peer, "transport": self.transport.rawValue]
        if revoked { details["revoked"] = "true" }
        if record {
            try? await self.context.ledger.record(
                "auth.failed",
                actor: device.map { Hex.encode($0) } ?? "unknown",
                subject: self.peer,
                details: details
            )
        }
        let action = self.state.withLock { $0.machine.authenticationFailed(revoked: revoked) }
        if case .close(let code, let reason, let after) = action {
            self.perform(close: code, reason: reason, after: after)
        }
    }

    func unavailable(_ requestID: UInt64, _ error: any Error) {
        if let wire = error as? GatewayWireError {
            self.respond(requestID, error: wire)
            return
        }
        self.logger.warning("request failed", metadata: ["error": "\(error)"])
        self.respond(requestID, error: GatewayWireError(.unavailable, "the database did not answer; nothing was stored"))
    }
}
