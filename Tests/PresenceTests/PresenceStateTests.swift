import GatewayWire
import Presence
import Testing

/// Presence as values: leases, other daemons, invisibility, coalescing, buckets, signals.
@Suite struct PresenceStateTests {
    let alice = UserID(Array(repeating: 1, count: 32))
    let bob = UserID(Array(repeating: 2, count: 32))
    let phone = DeviceID(Array(repeating: 10, count: 32))
    let laptop = DeviceID(Array(repeating: 11, count: 32))

    func state() -> PresenceState { PresenceState(remoteTTL: .seconds(30), coalesce: .seconds(1)) }

    @Test func aUserIsOnlineWhileAnyDeviceHoldsALiveLease() {
        var state = self.state()
        #expect(state.acquire(device: self.phone, user: self.alice, ttl: .seconds(10), now: .zero) == .acquired(self.alice))
        #expect(state.acquire(device: self.laptop, user: self.alice, ttl: .seconds(10), now: .zero) == nil)
        #expect(state.isOnline(self.alice))
        #expect(state.release(device: self.phone, now: .seconds(1)) == nil)  // the laptop still holds one
        #expect(state.isOnline(self.alice))
        // Renewed, the laptop's lease outlives its first expiry; unrenewed, it ends on its own.
        let renewed = state.renew(device: self.laptop, ttl: .seconds(10), now: .seconds(8))
        #expect(renewed)
        #expect(state.expire(now: .seconds(12)).isEmpty)
        #expect(state.expire(now: .seconds(18)) == [.released(self.alice)])
        #expect(!state.isOnline(self.alice))
        let late = state.renew(device: self.laptop, ttl: .seconds(10), now: .seconds(19))
        #expect(!late)  // gone: acquire again
        #expect(state.release(device: self.laptop, now: .seconds(19)) == nil)
    }

    /// `RenewLease{ttl_ms}` runs the lease `ttl` from now, shorter than what was left too
    /// (issue 15: the later of the two expiries was kept).
    @Test func aRenewalShorterThanWhatIsLeftShortensTheLease() {
        var state = self.state()
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(60), now: .zero)
        let renewed = state.renew(device: self.phone, ttl: .seconds(2), now: .seconds(1))
        #expect(renewed)
        #expect(state.lease(of: self.phone, now: .seconds(1))?.left == .seconds(2))
        #expect(state.expire(now: .seconds(2)).isEmpty)
        #expect(state.expire(now: .seconds(3)) == [.released(self.alice)])
        // A second connection of the same device takes the lease for its TTL from now, too.
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(60), now: .seconds(10))
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(5), now: .seconds(11))
        #expect(state.lease(of: self.phone, now: .seconds(11))?.left == .seconds(5))
    }

    /// Daemons announce their lease TTL: one with a longer TTL (and so rarer heartbeats) is not
    /// forgotten between its beats, and a mismatch is reported (issue 15).
    @Test func aDaemonWithAnotherLeaseTTLIsKeptForItsOwnTTLAndReported() {
        var state = self.state()  // 30 s
        state.remoteAcquired([self.bob], instance: "slow", now: .zero)
        state.heard(from: "slow", ttl: .seconds(90), now: .zero)
        state.heard(from: "same", ttl: .seconds(30), now: .zero)
        state.expireRemotes(now: .seconds(60))
        #expect(state.isOnline(self.bob))
        #expect(state.mismatchedTTLs.map(\.instance) == ["slow"])
        #expect(state.mismatchedTTLs.first?.ttl == .seconds(90))
        state.expireRemotes(now: .seconds(91))
        #expect(!state.isOnline(self.bob))
        #expect(state.mismatchedTTLs.isEmpty)
        // A daemon that does not say (an older version) is held to our TTL.
        state.remoteAcquired([self.bob], instance: "old", now: .seconds(100))
        state.heard(from: "old", now: .seconds(100))
        state.expireRemotes(now: .seconds(131))
        #expect(!state.isOnline(self.bob))
    }

    /// PostgreSQL delivers identical payloads of one transaction once: a user who came and went
    /// several times within one flush must be announced by its last change alone, or other
    /// daemons keep it online (issue 16).
    @Test func aFlushAnnouncesEachUsersLastChangeOnceAndNoPayloadTwice() {
        let a = "a1"
        var flapping: [PresenceSignal] = [.heartbeat(instance: a, ttlMs: 2000)]
        for _ in 0..<3 {
            flapping.append(.released(instance: a, users: [self.alice]))
            flapping.append(.acquired(instance: a, users: [self.alice]))
        }
        flapping.append(.released(instance: a, users: [self.alice]))
        flapping.append(.acquired(instance: a, users: [self.bob]))
        let batch = PresenceSignal.batch(flapping)
        #expect(
            batch == [
                .heartbeat(instance: a, ttlMs: 2000), .released(instance: a, users: [self.alice]),
                .acquired(instance: a, users: [self.bob]),
            ]
        )
        let payloads = batch.flatMap(\.payloads)
        #expect(Set(payloads).count == payloads.count)
        // Ending online: one acquisition.
        #expect(
            PresenceSignal.batch([
                .acquired(instance: a, users: [self.alice]), .released(instance: a, users: [self.alice]),
                .acquired(instance: a, users: [self.alice]),
            ])
                == [.acquired(instance: a, users: [self.alice])]
        )
        // A reset separates stretches: what came before it is announced before it.
        #expect(
            PresenceSignal.batch([
                .released(instance: a, users: [self.alice]), .reset(instance: a),
                .acquired(instance: a, users: [self.alice, self.bob]),
            ])
                == [
                    .released(instance: a, users: [self.alice]), .reset(instance: a),
                    .acquired(instance: a, users: [self.alice, self.bob]),
                ]
        )
        // A repeated signal goes once.
        #expect(PresenceSignal.batch([.reset(instance: a), .reset(instance: a)]) == [.reset(instance: a)])
        // Thousands of users in one announcement stay one pass (no quadratic work).
        let many = (0..<20_000).map { UserID("\($0)".utf8) }
        #expect(PresenceSignal.batch([.reset(instance: a), .acquired(instance: a, users: many)]).count == 2)
    }

    @Test func otherDaemonsCountUntilTheyFallSilent() {
        var state = self.state()
        state.remoteAcquired([self.bob], instance: "b", now: .zero)
        #expect(state.isOnline(self.bob))
        state.heard(from: "b", now: .seconds(20))
        state.expireRemotes(now: .seconds(45))
        #expect(state.isOnline(self.bob))  // heard 25 s ago
        state.remoteReleased([self.bob], instance: "b", now: .seconds(46))
        #expect(!state.isOnline(self.bob))
        state.remoteAcquired([self.bob], instance: "b", now: .seconds(47))
        state.expireRemotes(now: .seconds(78))  // silent for 31 s
        #expect(!state.isOnline(self.bob))
        // A reset forgets what the daemon said before.
        state.remoteAcquired([self.bob, self.alice], instance: "c", now: .seconds(80))
        state.remoteReset(instance: "c", now: .seconds(81))
        #expect(!state.isOnline(self.bob) && !state.isOnline(self.alice))
    }

    @Test func invisibleUsersLookOfflineButKeepTheirLease() {
        var state = self.state()
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(10), now: .zero)
        state.setInvisible(self.alice, true, now: .zero)
        #expect(!state.isOnline(self.alice))
        #expect(state.hasLease(self.alice))
        state.setInvisible(self.alice, false, now: .zero)
        #expect(state.isOnline(self.alice))
    }

    @Test func changesAreDueOnceAWindowWithTheFinalState() {
        var state = self.state()
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(60), now: .zero)
        #expect(state.due(now: .milliseconds(999)).isEmpty)
        #expect(state.due(now: .seconds(1)).map(\.online) == [true])
        #expect(state.due(now: .seconds(2)).isEmpty)  // nothing happened since
        // Offline and back within one window: due once, online (watchers told "online" hear nothing).
        _ = state.release(device: self.phone, now: .seconds(2))
        _ = state.acquire(device: self.phone, user: self.alice, ttl: .seconds(60), now: .milliseconds(2500))
        #expect(state.due(now: .seconds(3)).map(\.online) == [true])
        // Flapping ten times within a window ends offline: one notification.
        for n in 0..<10 {
            _ = state.release(device: self.phone, now: .seconds(4) + .milliseconds(n * 20))
            _ = state.acquire(
                device: self.phone,
                user: self.alice,
                ttl: .seconds(60),
                now: .seconds(4) + .milliseconds(n * 20 + 10)
            )
        }
        _ = state.release(device: self.phone, now: .milliseconds(4300))
        #expect(state.nextDue == .seconds(5))
        let due = state.due(now: .seconds(5))
        #expect(due.count == 1 && due[0].user == self.alice && !due[0].online)
        #expect(state.nextDue == nil)
    }

    @Test func lastSeenIsABucket() {
        let now: UInt64 = 1_000_000_000_000
        #expect(LastSeenBucket.of(online: true, lastSeenMs: 0, nowMs: now) == .now)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: now - 59 * 60_000, nowMs: now) == .withinHour)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: now - 61 * 60_000, nowMs: now) == .withinDay)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: now - 3 * 86_400_000, nowMs: now) == .withinWeek)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: now - 8 * 86_400_000, nowMs: now) == .longer)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: nil, nowMs: now) == .longer)
        #expect(LastSeenBucket.of(online: false, lastSeenMs: now + 5000, nowMs: now) == .withinHour)  // a clock ahead
    }

    @Test func signalsRoundTripInPayloadsUnderTheNotifyLimit() {
        let many = (0..<250).map { n in UserID([UInt8](repeating: UInt8(n % 256), count: 31) + [UInt8(n / 256)]) }
        let signal = PresenceSignal.acquired(instance: "0123abcd", users: many)
        let payloads = signal.payloads
        #expect(payloads.count == 3)
        #expect(payloads.allSatisfy { $0.utf8.count < 8000 })
        let users = payloads.compactMap(PresenceSignal.init(payload:)).flatMap { parsed -> [UserID] in
            if case .acquired("0123abcd", let users) = parsed { return users }
            return []
        }
        #expect(users == many)
        for other in [
            PresenceSignal.released(instance: "x", users: [self.alice]), .heartbeat(instance: "x", ttlMs: nil),
            .heartbeat(instance: "x", ttlMs: 60_000), .reset(instance: "x"),
            .resync(instance: "x"), .invisible(user: self.bob, true), .invisible(user: self.bob, false),
        ] {
            #expect(other.payloads.map { PresenceSignal(payload: $0) } == [other])
        }
        for junk in [
            "", "a", "a:x", "a:x:zz", "a::\(String(repeating: "01", count: 32))", "i:01:1",
            "i:\(String(repeating: "01", count: 32)):2", "h:", "h:x:", "h:x:0", "h:x:ten",
        ] {
            #expect(PresenceSignal(payload: junk) == nil, "\(junk)")
        }
    }
}
