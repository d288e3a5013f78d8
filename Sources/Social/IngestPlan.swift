package import Polycentric

/// What one `POST /events` batch writes, decided without I/O (upstream's ingest rules):
/// the last event with a given (system, process, clock) in the batch replaces earlier ones;
/// an event that a Delete in the same batch targets is dropped; each remaining event comes
/// with the rows derived from it (references, deletion, latest LWW per subject, claim, search
/// text).
package struct IngestPlan: Sendable {
    /// A row of `social_references`.
    package struct Reference: Sendable, Hashable {
        package var type: Int16
        package var subject: [UInt8]
    }

    /// A row of `social_deletions`: the target of a Delete event.
    package struct Deletion: Sendable, Hashable {
        package var process: [UInt8]
        package var logicalClock: Int64
        package var contentType: Int64
        package var unixMilliseconds: Int64?
    }

    /// A row of `social_lww_references`: an LWW element about a subject (opinions).
    package struct LWWReference: Sendable, Hashable {
        package var reference: Reference
        package var value: [UInt8]
        package var unixMilliseconds: Int64
    }

    /// A claim and its fields.
    package struct Claim: Sendable, Hashable {
        package var claimType: Int64
        package var fields: [(key: Int64, value: String)]

        package static func == (lhs: Claim, rhs: Claim) -> Bool {
            lhs.claimType == rhs.claimType && lhs.fields.map(\.key) == rhs.fields.map(\.key)
                && lhs.fields.map(\.value) == rhs.fields.map(\.value)
        }

        package func hash(into hasher: inout Hasher) {
            hasher.combine(self.claimType)
            for field in self.fields {
                hasher.combine(field.key)
                hasher.combine(field.value)
            }
        }
    }

    /// One event to store and what comes with it.
    package struct Item: Sendable {
        package var event: VerifiedEvent
        package var references: [Reference]
        package var deletion: Deletion?
        package var lww: LWWReference?
        package var claim: Claim?
        /// Text for full-text search (posts, usernames, descriptions).
        package var searchText: String?
    }

    package private(set) var items: [Item] = []

    /// Plans a batch of verified events.
    ///
    /// - Throws: ``PolycentricError`` for a value that cannot be stored (a clock, type or time
    ///   of 2^63 or more; a Pointer reference that does not parse).
    package init(_ events: [VerifiedEvent]) throws(PolycentricError) {
        var latest: [EventKey: Int] = [:]
        for (position, event) in events.enumerated() {
            latest[EventKey(event)] = position
        }
        var deleted: Set<EventKey> = []
        for event in events {
            guard case .delete(let delete) = event.content else { continue }
            deleted.insert(
                EventKey(system: event.systemKey, process: [UInt8](delete.process.process), clock: delete.logicalClock)
            )
        }
        for (position, event) in events.enumerated() {
            let key = EventKey(event)
            guard latest[key] == position, !deleted.contains(key) else { continue }
            self.items.append(try Self.item(for: event))
        }
    }

    static func item(for verified: VerifiedEvent) throws(PolycentricError) -> Item {
        let event = verified.event
        _ = try Self.int64(event.contentType, "content_type")
        _ = try Self.int64(event.logicalClock, "logical_clock")
        if event.hasUnixMilliseconds { _ = try Self.int64(event.unixMilliseconds, "unix_milliseconds") }
        var references: [Reference] = []
        for reference in event.references {
            switch reference.referenceType {
            case ReferenceType.pointer:
                let pointer = try Userpackage_Pointer.parse([UInt8](reference.reference), what: "Pointer reference")
                references.append(Reference(type: 2, subject: try Self.subject(of: pointer)))
            case ReferenceType.bytes:
                references.append(Reference(type: 3, subject: [UInt8](reference.reference)))
            default:
                break  // type 1 (system) is accepted and not indexed, as upstream.
            }
        }
        var item = Item(event: verified, references: references)
        switch (verified.contentType, verified.content) {
        case (_, .delete(let delete)):
            item.deletion = Deletion(
                process: [UInt8](delete.process.process),
                logicalClock: try Self.int64(delete.logicalClock, "Delete.logical_clock"),
                contentType: try Self.int64(delete.contentType, "Delete.content_type"),
                unixMilliseconds: delete.hasUnixMilliseconds
                    ? try Self.int64(delete.unixMilliseconds, "Delete.unix_milliseconds") : nil
            )
        case (_, .claim(let claim)):
            var fields: [(key: Int64, value: String)] = []
            for field in claim.claimFields {
                fields.append((try Self.int64(field.key, "ClaimFieldEntry.key"), field.value))
            }
            item.claim = Claim(claimType: try Self.int64(claim.claimType, "Claim.claim_type"), fields: fields)
        case (_, .post(let post)):
            if post.hasContent, !post.content.isEmpty { item.searchText = post.content }
        case (.username, _), (.description, _):
            if event.hasLwwElement { item.searchText = String(decoding: event.lwwElement.value, as: UTF8.self) }
        default:
            break
        }
        if event.hasLwwElement, let subject = references.first {
            item.lww = LWWReference(
                reference: subject,
                value: [UInt8](event.lwwElement.value),
                unixMilliseconds: try Self.int64(event.lwwElement.unixMilliseconds, "LWWElement.unix_milliseconds")
            )
        }
        return item
    }

    /// The key that Pointer references are matched on: system ‖ process ‖ clock (8 bytes,
    /// big-endian). The digest is not part of it (upstream matches without it).
    package static func subject(of pointer: Userpackage_Pointer) throws(PolycentricError) -> [UInt8] {
        let system = try pointer.system.validated()
        guard pointer.process.process.count == 16 else { throw PolycentricError(.badProcess, "a Pointer's process is 16 bytes") }
        return Self.subject(system: [UInt8](system.key), process: [UInt8](pointer.process.process), clock: pointer.logicalClock)
    }

    package static func subject(system: [UInt8], process: [UInt8], clock: UInt64) -> [UInt8] {
        var bytes = system + process
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: clock >> UInt64(shift))) }
        return bytes
    }

    /// `value` as a bigint column, refusing 2^63 and more.
    package static func int64(_ value: UInt64, _ field: String) throws(PolycentricError) -> Int64 {
        guard value < 1 << 63 else { throw PolycentricError(.badParameter, "\(field) \(value) is 2^63 or more") }
        return Int64(value)
    }
}

/// (system, process, logical clock): the identity of an event slot.
struct EventKey: Hashable {
    var system: [UInt8]
    var process: [UInt8]
    var clock: UInt64

    /// The bytes in one call each (`[UInt8]`'s own hashing feeds a byte at a time).
    func hash(into hasher: inout Hasher) {
        self.system.withUnsafeBytes { hasher.combine(bytes: $0) }
        self.process.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(self.clock)
    }

    init(system: [UInt8], process: [UInt8], clock: UInt64) {
        self.system = system
        self.process = process
        self.clock = clock
    }

    init(_ event: VerifiedEvent) {
        self.init(system: event.systemKey, process: event.process, clock: event.logicalClock)
    }
}
