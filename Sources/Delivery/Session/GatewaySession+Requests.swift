import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// The requests of docs/GATEWAY_SPEC.md §4, after authentication.
extension GatewaySession {
    func handle(_ frame: Polygate_Gateway_V1_ClientFrame) async {
        guard let identity = self.identity else { return }
        let requestID = frame.requestID
        do {
            switch frame.body {
            case .uploadKeyPackages(let upload):
                try await self.upload(upload, identity)
                self.respond(self.response(requestID))
            case .countKeyPackages(let count):
                try KeyPackageCheck.checkSuite(count.cipherSuite)
                let counted = try await self.gateway.repository.countKeyPackages(
                    deviceID: identity.deviceID,
                    cipherSuite: Int32(clamping: count.cipherSuite),
                    nowMs: Int64(clamping: self.gateway.clock.wallMs)
                )
                var result = Polygate_Gateway_V1_KeyPackageCount()
                result.count = UInt32(clamping: counted.count)
                result.hasLastResort_p = counted.lastResort
                var response = self.response(requestID)
                response.count = result
                self.respond(response)
            case .claimKeyPackages(let claim):
                guard try await self.limit(.claim, identity, requestID) else { return }
                var response = self.response(requestID)
                response.claim = try await self.claim(claim, identity)
                self.respond(response)
            case .createConversation(let create):
                try Self.check(convID: create.convID)
                try self.checkSize(create.groupInfo, "group_info")
                try await self.gateway.repository.createConversation(
                    convID: [UInt8](create.convID),
                    creator: identity.userID,
                    groupInfo: [UInt8](create.groupInfo)
                )
                self.gateway.ledger.mirrored(
                    "conversation.created",
                    actor: Hex.encode(identity.userID),
                    subject: Hex.encode(create.convID)
                )
                // This device reads the new conversation at once (the others on a signal).
                self.schedule(.refresh)
                self.respond(self.response(requestID))
            case .send(let send):
                guard try await self.limit(.send, identity, requestID) else { return }
                let (appended, submission) = try await self.send(send, identity)
                var result = Polygate_Gateway_V1_SendResult()
                result.seq = appended.seq
                result.epoch = appended.epoch
                result.duplicate = appended.duplicate
                var response = self.response(requestID, convHome: appended.convHome)
                response.send = result
                self.respond(response)
                if !appended.duplicate {
                    self.gateway.counters.add(.appends)
                    self.gateway.hub.publish(Self.entry(submission, appended, gatewayID: self.gateway.gatewayID))
                    self.gateway.announcer.announce(conv: submission.convID, seq: appended.seq)
                }
                if !appended.duplicate, !submission.addedUsers.isEmpty || !submission.removedUsers.isEmpty {
                    self.gateway.ledger.mirrored(
                        "membership.changed",
                        actor: Hex.encode(identity.deviceID),
                        subject: Hex.encode(submission.convID),
                        details: DeliveryRepository.membershipDetails(
                            seq: appended.seq,
                            added: submission.addedUsers,
                            removed: submission.removedUsers
                        )
                    )
                }
            case .ack(let ack):
                try Self.check(convID: ack.convID)
                try await self.gateway.repository.ack(
                    deviceID: identity.deviceID,
                    userID: identity.userID,
                    convID: [UInt8](ack.convID),
                    seq: ack.seq
                )
                self.respond(self.response(requestID))
            case .fetchGroupInfo(let fetch):
                try Self.check(convID: fetch.convID)
                guard
                    let view = try await self.gateway.repository.conversation(
                        convID: [UInt8](fetch.convID),
                        asker: identity.userID
                    )
                else { throw GatewayWireError(.notMember, "not a member of that conversation") }
                var result = Polygate_Gateway_V1_GroupInfoResult()
                result.groupInfo = .init(view.groupInfo)
                result.epoch = view.epoch
                var response = self.response(requestID, convHome: view.convHome)
                response.groupInfo = result
                self.respond(response)
            case .listMembers(let list):
                try Self.check(convID: list.convID)
                guard
                    let view = try await self.gateway.repository.conversation(
                        convID: [UInt8](list.convID),
                        asker: identity.userID
                    )
                else { throw GatewayWireError(.notMember, "not a member of that conversation") }
                var result = Polygate_Gateway_V1_MemberList()
                result.userIds = view.members.map { .init($0) }
                result.epoch = view.epoch
                var response = self.response(requestID, convHome: view.convHome)
                response.members = result
                self.respond(response)
            case .checkDevices(let check):
                guard check.deviceIds.count <= 1000 else { throw GatewayWireError(.badRequest, "at most 1,000 device_ids") }
                guard check.deviceIds.allSatisfy({ $0.count == 32 }) else {
                    throw GatewayWireError(.badRequest, "device_ids are 32-byte keys")
                }
                var result = Polygate_Gateway_V1_DeviceCheck()
                result.revokedDeviceIds = try await self.gateway.repository.revokedDevices(
                    check.deviceIds.map { [UInt8]($0) },
                    asker: identity.userID
                ).map { .init($0) }
                var response = self.response(requestID)
                response.devices = result
                self.respond(response)
            case .listBlocked:
                var result = Polygate_Gateway_V1_BlockedList()
                result.userIds = try await self.gateway.repository.blockedUsers(of: identity.userID).map { .init($0) }
                var response = self.response(requestID)
                response.blocked = result
                self.respond(response)
            case .setBlocked(let block):
                guard block.userID.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
                guard [UInt8](block.userID) != identity.userID else {
                    throw GatewayWireError(.badRequest, "you cannot block yourself")
                }
                try await self.gateway.repository.setBlocked(user: identity.userID, blocked: [UInt8](block.userID), block.blocked)
                if block.blocked {
                    // A block ends a contact at once, in both directions.
                    _ = try await self.gateway.repository.contact("revoke", user: identity.userID, other: [UInt8](block.userID))
                }
                self.respond(self.response(requestID))
            case .renewLease(let renew):
                self.gateway.presence.renew(identity, ttl: renew.ttlMs == 0 ? nil : .milliseconds(Int64(renew.ttlMs)))
                self.respond(self.response(requestID))
            case .setPresence(let set):
                try await self.gateway.presence.setInvisible(identity, set.invisible)
                self.respond(self.response(requestID))
            case .contactRequest(let request):
                try await self.contact("request", request.userID, identity)
                self.respond(self.response(requestID))
            case .contactAccept(let accept):
                try await self.contact("accept", accept.userID, identity)
                self.respond(self.response(requestID))
            case .contactRevoke(let revoke):
                try await self.contact("revoke", revoke.userID, identity)
                self.respond(self.response(requestID))
            case .listContacts:
                var list = Polygate_Gateway_V1_ContactList()
                list.contacts = try await self.gateway.repository.contacts(of: identity.userID).map { entry in
                    var contact = Polygate_Gateway_V1_Contact()
                    contact.userID = .init(entry.user)
                    contact.state = entry.mine && entry.theirs ? .mutual : entry.mine ? .outgoing : .incoming
                    return contact
                }
                var response = self.response(requestID)
                response.contacts = list
                self.respond(response)
            case .watch(let watch):
                guard try await self.limit(.watch, identity, requestID) else { return }
                guard watch.userIds.allSatisfy({ $0.count == 32 }) else {
                    throw GatewayWireError(.badRequest, "user_ids are 32-byte keys")
                }
                var result = Polygate_Gateway_V1_WatchResult()
                result.presences = try await self.gateway.presence.watch(self, identity, watch.userIds.map { [UInt8]($0) })
                var response = self.response(requestID)
                response.watch = result
                self.respond(response)
            case .unwatch(let unwatch):
                self.gateway.presence.unwatch(self, unwatch.userIds.map { [UInt8]($0) })
                self.respond(self.response(requestID))
            default:
                throw GatewayWireError(.badRequest, "unexpected frame")
            }
        } catch let error as GatewayWireError {
            self.respond(requestID, error: error)
        } catch {
            self.unavailable(requestID, error)
        }
    }

    /// Spends a token of the device's bucket; when it is empty, answers `rate_limited` (or closes
    /// with 4029 on repeated refusals) and returns false.
    private func limit(_ bucket: RateLimiter.DeviceBucket, _ identity: Identity, _ requestID: UInt64) async throws -> Bool {
        let now = self.gateway.clock.now
        guard let wait = self.gateway.limiter.take(bucket, device: identity.deviceID, now: now) else { return true }
        let action = self.state.withLock { $0.machine.limited(retryAfter: wait, now: now) }
        switch action {
        case .rateLimited(let wait):
            self.refuseRateLimited(requestID, wait)
        case .close(let code, let reason, let after):
            self.refuseRateLimited(requestID, wait)
            self.gateway.counters.add(.penalties)
            self.gateway.limiter.penalize(device: identity.deviceID, until: now + after)
            try? await self.gateway.ledger.record(
                "ratelimit.penalty",
                actor: Hex.encode(identity.deviceID),
                subject: self.peer,
                details: ["bucket": "\(bucket)", "close": "\(code)"]
            )
            self.perform(close: code, reason: reason, after: after)
        case .process:
            return true
        }
        return false
    }

    /// The log entry an append just committed, as the log holds it.
    static func entry(_ s: Submission, _ appended: Appended, gatewayID: String) -> LogEntry {
        let commit = s.kind == .commit
        return LogEntry(
            convID: s.convID,
            seq: appended.seq,
            msgID: s.msgID,
            senderDevice: s.senderDevice,
            kind: Int16(s.kind.rawValue),
            epoch: s.epoch,
            message: s.message,
            acceptedAtMs: s.acceptedAtMs,
            originGateway: gatewayID,
            convHome: appended.convHome,
            addedUsers: commit ? s.addedUsers : [],
            removedUsers: commit ? s.removedUsers : []
        )
    }

    /// A contact action. A user who blocked the caller is answered as if the request were
    /// pending, so that nobody learns they are blocked.
    private func contact(_ action: String, _ other: some Collection<UInt8>, _ identity: Identity) async throws {
        guard other.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
        guard [UInt8](other) != identity.userID else { throw GatewayWireError(.badRequest, "you are not your own contact") }
        switch try await self.gateway.repository.contact(action, user: identity.userID, other: [UInt8](other)) {
        case .blockedByMe: throw GatewayWireError(.blocked, "you blocked this user; unblock first")
        case .noRequest: throw GatewayWireError(.noRequest, "this user has not asked to be your contact")
        case .mutual, .outgoing, .none, .blockedByThem: return
        }
    }

    static func check(convID: some Collection<UInt8>) throws(GatewayWireError) {
        guard (16...64).contains(convID.count) else { throw GatewayWireError(.badRequest, "conv_id is 16 to 64 bytes") }
    }

    func checkSize(_ bytes: some Collection<UInt8>, _ what: String) throws(GatewayWireError) {
        let limit = self.gateway.limits.maxMessageBytes
        guard bytes.count <= limit else { throw GatewayWireError(.tooLarge, "\(what) is over \(limit) bytes") }
    }

    private func send(_ send: Polygate_Gateway_V1_Send, _ identity: Identity) async throws -> (Appended, Submission) {
        try Self.check(convID: send.convID)
        guard send.msgID.count == 16 else { throw GatewayWireError(.badRequest, "msg_id is 16 bytes") }
        try self.checkSize(send.message, "message")
        guard [.application, .proposal, .commit].contains(send.kind) else {
            throw GatewayWireError(.badRequest, "kind must be application, proposal or commit")
        }
        var submission = Submission(
            convID: [UInt8](send.convID),
            msgID: [UInt8](send.msgID),
            senderUser: identity.userID,
            senderDevice: identity.deviceID,
            kind: send.kind,
            epoch: send.epoch,
            message: [UInt8](send.message)
        )
        if send.kind == .commit {
            try self.checkSize(send.welcome, "welcome")
            try self.checkSize(send.groupInfo, "group_info")
            guard !send.groupInfo.isEmpty else {
                throw GatewayWireError(.badRequest, "a Commit carries the new epoch's group_info")
            }
            // Bounds first, before any work in proportion to the lists.
            let limits = self.gateway.limits
            guard send.addedUsers.count <= limits.maxAddedPerCommit else {
                throw GatewayWireError(.tooLarge, "a Commit adds at most \(limits.maxAddedPerCommit) users")
            }
            guard send.removedUsers.count <= limits.maxMembers, send.welcomeDevices.count <= 1000 else {
                throw GatewayWireError(
                    .tooLarge,
                    "a Commit removes at most \(limits.maxMembers) users and welcomes at most 1,000 devices"
                )
            }
            guard send.addedUsers.allSatisfy({ $0.count == 32 }), send.removedUsers.allSatisfy({ $0.count == 32 }),
                send.welcomeDevices.allSatisfy({ $0.count == 32 })
            else {
                throw GatewayWireError(.badRequest, "user and device ids are 32-byte keys")
            }
            guard send.welcomeDevices.isEmpty == send.welcome.isEmpty else {
                throw GatewayWireError(.badWelcome, "welcome and welcome_devices come together")
            }
            guard Set(send.addedUsers).isDisjoint(with: Set(send.removedUsers)) else {
                throw GatewayWireError(.badRequest, "a user cannot be added and removed by one Commit")
            }
            submission.addedUsers = send.addedUsers.map { [UInt8]($0) }
            submission.removedUsers = send.removedUsers.map { [UInt8]($0) }
            submission.welcomeDevices = send.welcomeDevices.map { [UInt8]($0) }
            submission.welcome = [UInt8](send.welcome)
            submission.groupInfo = [UInt8](send.groupInfo)
        } else {
            guard send.addedUsers.isEmpty, send.removedUsers.isEmpty, send.welcomeDevices.isEmpty, send.welcome.isEmpty,
                send.groupInfo.isEmpty
            else { throw GatewayWireError(.badRequest, "membership fields belong to Commits") }
        }
        submission.acceptedAtMs = self.gateway.clock.wallMs
        let appended = try await self.gateway.appender.append(submission)
        return (appended, submission)
    }

    private func upload(_ upload: Polygate_Gateway_V1_UploadKeyPackages, _ identity: Identity) async throws {
        let limits = self.gateway.limits
        guard upload.keyPackages.count <= limits.keyPackagesPerUpload else {
            throw GatewayWireError(.tooManyKeyPackages, "at most \(limits.keyPackagesPerUpload) KeyPackages per upload")
        }
        let check = KeyPackageCheck(
            device: identity.certificate,
            maxLifetime: UInt64(limits.keyPackageMaxLifetime.components.seconds)
        )
        let nowMs = self.gateway.clock.wallMs
        var bySuite: [Int32: [(bytes: [UInt8], expiresAtMs: Int64?)]] = [:]
        for (index, bytes) in upload.keyPackages.enumerated() {
            do {
                let accepted = try check.check([UInt8](bytes), nowMs: nowMs)
                bySuite[accepted.cipherSuite, default: []].append((accepted.bytes, accepted.expiresAtMs))
            } catch {
                throw GatewayWireError(error.code, "key_packages[\(index)]: \(error.message)")
            }
        }
        var lastResort: KeyPackageCheck.Accepted?
        if !upload.lastResort.isEmpty {
            do {
                lastResort = try check.check([UInt8](upload.lastResort), nowMs: nowMs)
            } catch {
                throw GatewayWireError(error.code, "last_resort: \(error.message)")
            }
        }
        for suite in Set(bySuite.keys).union(lastResort.map { [$0.cipherSuite] } ?? []).sorted() {
            let oneTime = bySuite[suite] ?? []
            if !oneTime.isEmpty {
                let stored = try await self.gateway.repository.storedKeyPackages(deviceID: identity.deviceID, cipherSuite: suite)
                guard stored + oneTime.count <= limits.keyPackagesPerDevice else {
                    throw GatewayWireError(
                        .tooManyKeyPackages,
                        "at most \(limits.keyPackagesPerDevice) KeyPackages per device and suite (\(stored) stored)"
                    )
                }
            }
            let last = lastResort.flatMap {
                $0.cipherSuite == suite ? (bytes: $0.bytes, expiresAtMs: Optional($0.expiresAtMs)) : nil
            }
            try await self.gateway.repository.storeKeyPackages(
                deviceID: identity.deviceID,
                cipherSuite: suite,
                oneTime: oneTime,
                lastResort: last
            )
        }
    }

    private func claim(
        _ claim: Polygate_Gateway_V1_ClaimKeyPackages,
        _ identity: Identity
    ) async throws -> Polygate_Gateway_V1_ClaimResult {
        guard claim.userID.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
        try KeyPackageCheck.checkSuite(claim.cipherSuite)
        let target = [UInt8](claim.userID)
        let repository = self.gateway.repository
        if try await repository.isBlocked(identity.userID, by: target) {
            throw GatewayWireError(.blocked, "a block forbids this")
        }
        let nowMs = Int64(clamping: self.gateway.clock.wallMs)
        let suite = Int32(claim.cipherSuite)
        let claimed = try await repository.claimKeyPackages(
            userID: target,
            cipherSuite: suite,
            claimerDevice: identity.deviceID,
            nowMs: nowMs
        )
        try await repository.afterClaim(
            claimed,
            claimer: identity.deviceID,
            target: target,
            cipherSuite: suite,
            threshold: self.gateway.limits.keyPackagesLow,
            nowMs: nowMs
        )
        if !claimed.isEmpty {
            self.gateway.ledger.mirrored(
                "keypackage.claimed",
                actor: Hex.encode(identity.deviceID),
                subject: Hex.encode(target),
                details: DeliveryRepository.claimDetails(claimed, cipherSuite: suite)
            )
        }
        var result = Polygate_Gateway_V1_ClaimResult()
        result.keyPackages = claimed.map { package in
            var out = Polygate_Gateway_V1_ClaimedKeyPackage()
            out.deviceID = .init(package.deviceID)
            out.keyPackage = .init(package.keyPackage)
            out.lastResort = package.lastResort
            return out
        }
        return result
    }
}
