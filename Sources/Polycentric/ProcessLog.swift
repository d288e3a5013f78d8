import Foundation

/// One process's append-only log as its author writes it: the next logical clock, the
/// per-content-type back-chain (`indices`) and the vector clock over the other processes it
/// knows. A value type with no I/O; the client persists it with its events.
package struct ProcessLog: Sendable {
    package let key: SystemKeyPair
    package let process: Userpackage_Process
    /// The clock of the last event written (0 before the first).
    package private(set) var logicalClock: UInt64
    /// Latest clock per content type, in the order the types were first used (upstream's order).
    package private(set) var indices: [(contentType: UInt64, logicalClock: UInt64)]
    /// Other processes of this system, as listed in this process's latest SystemProcesses event.
    package private(set) var otherProcesses: [Userpackage_Process] = []
    /// Known heads of those processes.
    package var otherHeads: [[UInt8]: UInt64] = [:]

    /// A new, empty log.
    package init(key: SystemKeyPair, process: Userpackage_Process = .random()) {
        self.key = key
        self.process = process
        self.logicalClock = 0
        self.indices = []
    }

    /// The log as its events leave it: the next clock after the newest of `process`'s events
    /// and the back-chain of each content type, in the order the types were first used (a
    /// client that keeps its events restores its process log from them).
    package init(key: SystemKeyPair, process: Userpackage_Process, events: some Sequence<VerifiedEvent>) {
        self.init(key: key, process: process)
        let own = events.filter { $0.process == [UInt8](process.process) && $0.systemKey == key.publicKey }
            .sorted { $0.logicalClock < $1.logicalClock }
        for event in own {
            self.logicalClock = max(self.logicalClock, event.logicalClock)
            let type = event.contentType.rawValue
            if let position = self.indices.firstIndex(where: { $0.contentType == type }) {
                self.indices[position].logicalClock = event.logicalClock
            } else {
                self.indices.append((type, event.logicalClock))
            }
        }
    }

    /// The current wall-clock time in milliseconds.
    package static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// Appends an event and returns it signed. Fields are set as upstream's client sets them:
    /// `vector_clock` and `indices` always present, `unix_milliseconds` always set.
    package mutating func append(
        _ contentType: ContentType,
        content: [UInt8] = [],
        lwwElement: Userpackage_LWWElement? = nil,
        lwwElementSet: Userpackage_LWWElementSet? = nil,
        references: [Userpackage_Reference] = [],
        unixMilliseconds: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        var event = Userpackage_Event()
        event.system = self.key.system
        event.process = self.process
        event.logicalClock = self.logicalClock + 1
        event.contentType = contentType.rawValue
        event.content = Data(content)
        event.vectorClock = Userpackage_VectorClock()
        event.vectorClock.logicalClocks = self.otherProcesses.map { self.otherHeads[[UInt8]($0.process)] ?? 0 }
        event.indices = Userpackage_Indices()
        event.indices.indices = self.indices.map { entry in
            var index = Userpackage_Index()
            index.indexType = entry.contentType
            index.logicalClock = entry.logicalClock
            return index
        }
        if let lwwElement { event.lwwElement = lwwElement }
        if let lwwElementSet { event.lwwElementSet = lwwElementSet }
        event.references = references
        event.unixMilliseconds = unixMilliseconds
        let signed = try VerifiedEvent(signing: event, with: self.key)
        self.logicalClock += 1
        if let position = self.indices.firstIndex(where: { $0.contentType == contentType.rawValue }) {
            self.indices[position].logicalClock = self.logicalClock
        } else {
            self.indices.append((contentType.rawValue, self.logicalClock))
        }
        return signed
    }

    // MARK: Content

    /// A post; a reply when `replyTo` is given, a comment on a topic when `topic` is.
    package mutating func post(
        _ text: String,
        replyTo: Userpackage_Pointer? = nil,
        topic: [UInt8]? = nil,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        var post = Userpackage_Post()
        post.content = text
        var references: [Userpackage_Reference] = []
        if let replyTo { references.append(replyTo.reference) }
        if let topic {
            var reference = Userpackage_Reference()
            reference.referenceType = ReferenceType.bytes
            reference.reference = Data(topic)
            references.append(reference)
        }
        return try self.append(.post, content: post.serialized, references: references, unixMilliseconds: time)
    }

    /// Sets an LWW element such as the username (5) or description (6).
    package mutating func set(
        _ contentType: ContentType,
        value: [UInt8],
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        var element = Userpackage_LWWElement()
        element.value = Data(value)
        element.unixMilliseconds = time
        return try self.append(contentType, lwwElement: element, unixMilliseconds: time)
    }

    /// Follows (`true`) or unfollows a system.
    package mutating func follow(
        _ system: Userpackage_PublicKey,
        _ follow: Bool = true,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        var element = Userpackage_LWWElementSet()
        element.operation = follow ? .add : .remove
        element.value = Data(system.serialized)
        element.unixMilliseconds = time
        return try self.append(.follow, lwwElementSet: element, unixMilliseconds: time)
    }

    /// Likes, dislikes or clears an opinion (``Opinion``) on another event.
    package mutating func opinion(
        _ value: [UInt8],
        on subject: Userpackage_Pointer,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        var element = Userpackage_LWWElement()
        element.value = Data(value)
        element.unixMilliseconds = time
        return try self.append(.opinion, lwwElement: element, references: [subject.reference], unixMilliseconds: time)
    }

    /// Deletes one of this system's events (copying its indices, time and content type).
    package mutating func delete(
        _ target: VerifiedEvent,
        at time: UInt64 = ProcessLog.now()
    ) throws(PolycentricError) -> VerifiedEvent {
        guard target.systemKey == self.key.publicKey else {
            throw PolycentricError(.badParameter, "a system can only delete its own events")
        }
        var delete = Userpackage_Delete()
        delete.process = target.event.process
        delete.logicalClock = target.logicalClock
        delete.indices = target.event.indices
        if let ms = target.unixMilliseconds { delete.unixMilliseconds = ms }
        delete.contentType = target.event.contentType
        return try self.append(.delete, content: delete.serialized, unixMilliseconds: time)
    }
}
