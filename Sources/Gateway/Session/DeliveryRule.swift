package import GatewayWire

/// The delivery rule of one connection (docs/GATEWAY_SPEC.md §5) as a value type without I/O:
/// backlog then live, no gap, no repeat. Each conversation has a `lastSent` seq and an entry goes
/// out only when it is `lastSent + 1`; whatever else arrives — an entry beyond a gap, entries
/// offered while the backlog or a gap is read, everything before the connection is live — is
/// remembered as `wanted`, and the session's delivery worker reads it from the database.
///
/// The session holds it under its lock and performs what it answers: ``offer(conv:seq:fromRead:)``
/// says whether to queue an entry, ``sent(conv:seq:removesReader:)`` records that it was queued.
struct DeliveryRule: Sendable {
    /// One conversation's delivery state.
    struct Reading: Sendable, Hashable {
        /// The last seq queued to the client.
        var lastSent: UInt64
        /// The removing Commit, when the user was removed: nothing after it goes out.
        var until: UInt64?
        /// The highest seq offered while a read ran (or before the connection went live).
        var wanted: UInt64 = 0
        /// A read from the database is running or queued.
        var pulling = false
    }

    /// What to do with an offered entry.
    enum Decision: Sendable, Hashable {
        /// It is `lastSent + 1`: queue it, then call ``sent(conv:seq:removesReader:)``.
        case send
        /// Already sent, not read here, or remembered for the read that runs.
        case skip
        /// It lies beyond a gap: read the conversation from the database (a pull).
        case gap
        /// The reader was removed before it: the conversation ends for this connection.
        case ended
    }

    private(set) var readings: [ConversationID: Reading] = [:]
    /// `CaughtUp` was sent: live entries go out as they come.
    private(set) var live = false

    func reading(_ conv: ConversationID) -> Reading? { self.readings[conv] }

    // MARK: Entries

    /// An entry of `conv` at `seq` is offered: by the fan-out (live) or by a read of the log.
    mutating func offer(conv: ConversationID, seq: UInt64, fromRead: Bool) -> Decision {
        guard var reading = self.readings[conv] else { return .skip }
        defer { self.readings[conv] = reading }
        if seq <= reading.lastSent { return .skip }
        if let until = reading.until, seq > until { return .ended }
        if !fromRead, reading.pulling || !self.live {
            reading.wanted = max(reading.wanted, seq)
            return .skip
        }
        guard seq == reading.lastSent + 1 else {
            reading.wanted = max(reading.wanted, seq)
            reading.pulling = true
            return .gap
        }
        return .send
    }

    /// The entry ``offer(conv:seq:fromRead:)`` said to send was queued. True when it ends the
    /// conversation for this connection (the Commit that removed its user is the last entry it
    /// reads).
    mutating func sent(conv: ConversationID, seq: UInt64, removesReader: Bool) -> Bool {
        guard self.readings[conv] != nil else { return false }
        self.readings[conv]!.lastSent = seq
        guard removesReader else { return false }
        self.readings[conv]!.until = seq
        return true
    }

    // MARK: Reads

    /// The device's read positions, read again: new conversations start at their position (and
    /// are read: `pulling`); known ones move forward past what a Welcome skipped, and read on
    /// when the user was added again. Returns the new conversations.
    mutating func merge(_ positions: [ReadPosition]) -> [ConversationID] {
        var added: [ConversationID] = []
        for position in positions {
            guard var reading = self.readings[position.convID] else {
                self.readings[position.convID] = Reading(lastSent: position.after, until: position.until, pulling: true)
                added.append(position.convID)
                continue
            }
            // A Welcome moved this device's start past what it was sent (a member's new
            // device added by Welcome reads from that Commit on): skip what lies before.
            if position.after > reading.lastSent { reading.lastSent = position.after }
            // Removed and added again before the removal was read to its end: read on.
            if position.until == nil { reading.until = nil }
            self.readings[position.convID] = reading
        }
        return added
    }

    /// Whether a read of `conv` is over: its removal was reached.
    func readEnded(_ conv: ConversationID) -> Bool {
        guard let reading = self.readings[conv] else { return true }
        if let until = reading.until { return reading.lastSent >= until }
        return false
    }

    /// A read found the entries after `expected` pruned, the oldest kept being `first`: go on
    /// from there (unless something was sent meanwhile).
    mutating func skipPruned(_ conv: ConversationID, expected: UInt64, first: UInt64) {
        if self.readings[conv]?.lastSent == expected { self.readings[conv]?.lastSent = first - 1 }
    }

    /// After a read of `conv`: true when entries were offered beyond what it read (read again);
    /// otherwise the pull is over and live entries go out as they come.
    mutating func pullAgain(_ conv: ConversationID) -> Bool {
        guard var reading = self.readings[conv] else { return false }
        if reading.wanted > reading.lastSent, reading.until.map({ reading.lastSent < $0 }) ?? true { return true }
        reading.pulling = false
        self.readings[conv] = reading
        return false
    }

    /// Catching up: the conversations with entries offered beyond what was read. When there are
    /// none the connection goes live (every pull ends) and this returns an empty list: send
    /// `CaughtUp` before anything else can go out.
    mutating func goLiveUnlessBehind() -> [ConversationID] {
        let behind = self.readings.filter { $0.value.wanted > $0.value.lastSent }.map(\.key)
        guard behind.isEmpty else { return behind }
        self.live = true
        for key in self.readings.keys { self.readings[key]?.pulling = false }
        return []
    }

    /// The connection no longer reads `conv` (its user was removed, or it is gone).
    mutating func remove(_ conv: ConversationID) {
        self.readings.removeValue(forKey: conv)
    }
}
