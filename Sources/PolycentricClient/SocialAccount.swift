import Foundation
package import Polycentric
package import Primitives
import SwiftProtobuf

/// A user's Polycentric identity on one device: the system key, this device's process log and
/// every event of the system known locally. Actions append signed events; `sync` uploads what a
/// server lacks; the feed reads followed systems from a server. A value type with no I/O of its
/// own (the server calls are explicit).
package struct SocialAccount: Sendable {
    /// This device's process and its log.
    package private(set) var log: ProcessLog
    /// The system's events known here (all processes), by slot.
    package private(set) var events: [Slot: VerifiedEvent] = [:]

    /// (process, clock) of one of the system's events.
    package struct Slot: Hashable, Sendable {
        package var process: [UInt8]
        package var clock: UInt64
    }

    /// A new identity with a fresh key and process.
    package static func create() -> SocialAccount { SocialAccount(key: .generate()) }

    /// An identity from an existing key, on a new process of this device.
    package init(key: SystemKeyPair, process: Userpackage_Process = .random()) {
        self.log = ProcessLog(key: key, process: process)
    }

    /// An identity as a client stored it: the key, this device's process and the events known
    /// (the process log continues after its newest event).
    package init(key: SystemKeyPair, process: Userpackage_Process, events: [VerifiedEvent]) {
        self.log = ProcessLog(key: key, process: process, events: events)
        for event in events { _ = self.record(event) }
    }

    /// Every event known here (to store them).
    package var knownEvents: [VerifiedEvent] {
        self.events.sorted { a, b in
            a.key.process != b.key.process ? a.key.process.lexicographicallyPrecedes(b.key.process) : a.key.clock < b.key.clock
        }.map(\.value)
    }

    package var key: SystemKeyPair { self.log.key }
    package var system: Userpackage_PublicKey { self.log.key.system }

    // MARK: Actions

    @discardableResult
    package mutating func post(
        _ text: String,
        replyTo: VerifiedEvent? = nil,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.post(text, replyTo: replyTo?.pointer, at: time))
    }

    @discardableResult
    package mutating func setUsername(
        _ name: String,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.set(.username, value: Array(name.utf8), at: time))
    }

    @discardableResult
    package mutating func setDescription(
        _ text: String,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.set(.description, value: Array(text.utf8), at: time))
    }

    @discardableResult
    package mutating func follow(
        _ system: Userpackage_PublicKey,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.follow(system.validated(), true, at: time))
    }

    @discardableResult
    package mutating func unfollow(
        _ system: Userpackage_PublicKey,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.follow(system.validated(), false, at: time))
    }

    @discardableResult
    package mutating func like(
        _ event: VerifiedEvent,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        try self.record(self.log.opinion(Opinion.like, on: event.pointer, at: time))
    }

    /// Deletes one of this system's events; the local copy goes too.
    @discardableResult
    package mutating func delete(
        _ event: VerifiedEvent,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        let delete = try self.record(self.log.delete(event, at: time))
        self.events[Slot(process: event.process, clock: event.logicalClock)] = nil
        return delete
    }

    private mutating func record(_ event: VerifiedEvent) -> VerifiedEvent {
        self.events[Slot(process: event.process, clock: event.logicalClock)] = event
        return event
    }

    // MARK: State derived from the log (CRDTs)

    /// Followed systems: per system, the follow or unfollow with the greatest time wins.
    package var following: [Userpackage_PublicKey] {
        var latest: [[UInt8]: (time: UInt64, add: Bool)] = [:]
        for event in self.events.values where event.contentType == .follow && event.event.hasLwwElementSet {
            let element = event.event.lwwElementSet
            let value = [UInt8](element.value)
            if let current = latest[value], current.time >= element.unixMilliseconds { continue }
            latest[value] = (element.unixMilliseconds, element.operation == .add)
        }
        return latest.filter(\.value.add).keys.sorted { $0.lexicographicallyPrecedes($1) }.compactMap {
            try? Userpackage_PublicKey(serializedBytes: $0)
        }
    }

    /// The current username (the LWW element with the greatest time).
    package var username: String? { Self.lwwValue(self.events.values, .username) }

    /// The current description.
    package var profileDescription: String? { Self.lwwValue(self.events.values, .description) }

    /// The winning value of an LWW element among `events`: greatest time; on a tie the
    /// greater process wins (upstream's server order).
    package static func lwwValue(_ events: some Sequence<VerifiedEvent>, _ type: ContentType) -> String? {
        var best: VerifiedEvent?
        for event in events where event.contentType == type && event.event.hasLwwElement {
            guard let current = best else {
                best = event
                continue
            }
            let (a, b) = (event.event.lwwElement.unixMilliseconds, current.event.lwwElement.unixMilliseconds)
            if a > b || (a == b && current.process.lexicographicallyPrecedes(event.process)) { best = event }
        }
        return best.map { String(decoding: $0.event.lwwElement.value, as: UTF8.self) }
    }

    /// Clocks known locally, per process.
    package var localRanges: [(process: [UInt8], ranges: ClockRanges)] {
        var clocks: [[UInt8]: [UInt64]] = [:]
        for slot in self.events.keys { clocks[slot.process, default: []].append(slot.clock) }
        // Deleted events are known too: their Delete events name them.
        for event in self.events.values where event.contentType == .delete {
            if let delete = try? Userpackage_Delete(serializedBytes: event.event.content) {
                clocks[[UInt8](delete.process.process), default: []].append(delete.logicalClock)
            }
        }
        return clocks.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { ($0, ClockRanges(clocks: clocks[$0]!)) }
    }

    // MARK: Sync

    /// Uploads the events `server` lacks, 20 per request as upstream's client does, until its
    /// ranges cover everything known here. Returns how many events were sent.
    @discardableResult
    package func sync(to server: PolycentricServer) async throws(ServerError) -> Int {
        var sent = 0
        for _ in 0..<1000 {
            let remote = Dictionary(
                uniqueKeysWithValues: try await server.ranges(of: self.system).map { ($0.process, $0.ranges) }
            )
            var missing: [VerifiedEvent] = []
            for (process, ranges) in self.localRanges {
                let lacking = ranges.subtracting(remote[process] ?? ClockRanges())
                for range in lacking.ranges {
                    for clock in range {
                        if let event = self.events[Slot(process: process, clock: clock)] { missing.append(event) }
                    }
                }
            }
            if missing.isEmpty { return sent }
            for start in stride(from: 0, to: missing.count, by: 20) {
                let batch = Array(missing[start..<min(start + 20, missing.count)])
                try await server.post(batch)
                sent += batch.count
            }
        }
        throw ServerError(.badResponse, "the server keeps lacking events after 1000 rounds")
    }

    /// Downloads this system's events that `server` has and this device lacks (e.g. after an
    /// import on a new device), 20 clocks per request.
    package mutating func download(from server: PolycentricServer) async throws(ServerError) {
        let local = Dictionary(uniqueKeysWithValues: self.localRanges.map { ($0.process, $0.ranges) })
        for (process, ranges) in try await server.ranges(of: self.system) {
            var lacking = ranges.subtracting(local[process] ?? ClockRanges())
            while !lacking.isEmpty {
                let page = lacking.prefix(20)
                for event in try await server.events(of: self.system, [(Userpackage_Process(process), page)]) {
                    _ = self.record(event)
                }
                lacking = lacking.subtracting(page)
            }
        }
    }

    // MARK: Reading others

    /// The newest posts of `systems`, newest first (deleted posts left out): pages through each
    /// system's post index until `limit` posts are found or the index ends.
    package static func feed(
        of systems: [Userpackage_PublicKey],
        from server: PolycentricServer,
        limit: Int = 20
    ) async throws(ServerError) -> [VerifiedEvent] {
        var posts: [VerifiedEvent] = []
        for system in systems {
            var found = 0
            var before: UInt64?
            while found < limit {
                let page = try await server.index(of: system, .post, before: before, limit: 100)
                for entry in page {
                    if entry.contentType == .post {
                        posts.append(entry)
                        found += 1
                    }
                    before = Self.indexTime(of: entry)
                }
                if page.count < 100 { break }
            }
        }
        posts.sort { a, b in
            let (x, y) = (a.unixMilliseconds ?? 0, b.unixMilliseconds ?? 0)
            return x != y ? x > y : b.systemKey.lexicographicallyPrecedes(a.systemKey)
        }
        return Array(posts.prefix(limit))
    }

    /// Where an index entry sits in time: its own time, or for a Delete standing in for a
    /// deleted event, the deleted event's time.
    static func indexTime(of entry: VerifiedEvent) -> UInt64? {
        if entry.contentType == .delete, let delete = try? Userpackage_Delete(serializedBytes: entry.event.content),
            delete.hasUnixMilliseconds
        {
            return delete.unixMilliseconds
        }
        return entry.unixMilliseconds
    }

    /// A system's username and description as a server has them.
    package static func profile(
        of system: Userpackage_PublicKey,
        from server: PolycentricServer
    ) async throws(ServerError) -> (username: String?, description: String?) {
        let latest = try await server.latest(of: system, [.username, .description])
        return (Self.lwwValue(latest, .username), Self.lwwValue(latest, .description))
    }

    // MARK: Export

    /// `ExportBundle { key_pair, events }`: the identity and its events, for another device.
    /// The bytes contain the private key.
    package func exportBundle() -> [UInt8] {
        var bundle = Userpackage_ExportBundle()
        bundle.keyPair.keyType = 1
        bundle.keyPair.privateKey = Data(self.key.seed.bytes)
        bundle.keyPair.publicKey = Data(self.key.publicKey)
        bundle.events.events = self.events.sorted { a, b in
            a.key.process != b.key.process ? a.key.process.lexicographicallyPrecedes(b.key.process) : a.key.clock < b.key.clock
        }.map(\.value.signedEvent)
        return bundle.serialized
    }

    /// Imports an export on this device: same system, a new process, the bundle's events.
    package init(importing bytes: [UInt8]) throws(PolycentricError) {
        let bundle = try Userpackage_ExportBundle.parse(bytes, what: "ExportBundle")
        guard bundle.keyPair.keyType == 1 else { throw PolycentricError(.unsupportedKey, "key_type \(bundle.keyPair.keyType)") }
        let key = try SystemKeyPair(seed: SecretBytes([UInt8](bundle.keyPair.privateKey)))
        guard key.publicKey == [UInt8](bundle.keyPair.publicKey) else {
            throw PolycentricError(.unsupportedKey, "the bundle's public key does not match its private key")
        }
        self.init(key: key)
        for signed in bundle.events.events {
            let event = try VerifiedEvent(signed)
            guard event.systemKey == key.publicKey else {
                throw PolycentricError(.badParameter, "the bundle holds another system's event")
            }
            _ = self.record(event)
        }
    }
}
