/// What was acknowledged and what was delivered during a run, and whether the gateway kept its
/// promise (docs/GATEWAY_SPEC.md §4.2 step 6, §5): every message whose `Send` was acknowledged
/// reaches every member device exactly once (telling repeats apart by `seq`), in `seq` order on
/// each connection, and no message is stored twice.
///
/// A value: the traffic feeds it, ``report`` judges it; tested without any I/O.
package struct DeliveryAudit: Sendable {
    /// A conversation's id and a message's id, as bytes.
    package typealias ID = [UInt8]

    struct Conversation {
        var members: [ID] = []
        /// Acknowledged sends: msg_id → seq.
        var acked: [ID: UInt64] = [:]
        /// What devices were given: seq → msg_id (the first seen; another id for the same seq
        /// is a conflict).
        var log: [UInt64: ID] = [:]
        /// Per device: the seqs it was delivered.
        var delivered: [ID: Set<UInt64>] = [:]
        /// The smallest seq each device is owed (its first delivery in the conversation).
        var joinedAt: [ID: UInt64] = [:]
    }

    private var conversations: [ID: Conversation] = [:]
    private var counts = AuditReport()
    /// Per connection: the last seq per conversation (order check).
    private var lastOnConnection: [Int: [ID: UInt64]] = [:]

    package init() {}

    /// `device` is a member device of `conv`, owed everything from `fromSeq` on (a device added
    /// by a Commit reads from the message after it).
    package mutating func member(_ device: ID, of conv: ID, fromSeq: UInt64) {
        var conversation = self.conversations[conv] ?? Conversation()
        if !conversation.members.contains(device) { conversation.members.append(device) }
        conversation.joinedAt[device] = fromSeq
        self.conversations[conv] = conversation
    }

    /// A `Send` was answered with `SendResult{seq, duplicate}`.
    package mutating func acknowledged(_ conv: ID, msgID: ID, seq: UInt64, duplicate: Bool) {
        self.counts.acknowledged += 1
        if duplicate { self.counts.duplicatesSuppressed += 1 }
        if let earlier = self.conversations[conv]?.acked[msgID], earlier != seq {
            self.counts.conflicts += 1
            self.counts.problems.append("msg_id \(Self.short(msgID)) acknowledged with seq \(earlier) and \(seq)")
        }
        self.conversations[conv, default: Conversation()].acked[msgID] = seq
    }

    /// A `Send` was sent again after a failure (same msg_id).
    package mutating func retried() {
        self.counts.retries += 1
    }

    /// `device` was delivered `seq` of `conv` on connection number `connection`.
    package mutating func delivered(_ conv: ID, seq: UInt64, msgID: ID, to device: ID, connection: Int) {
        self.counts.deliveries += 1
        var conversation = self.conversations[conv, default: Conversation()]
        if let known = conversation.log[seq], known != msgID {
            self.counts.conflicts += 1
            self.counts.problems.append("seq \(seq) delivered as \(Self.short(known)) and as \(Self.short(msgID))")
        }
        conversation.log[seq] = msgID
        if !conversation.delivered[device, default: []].insert(seq).inserted { self.counts.redeliveries += 1 }
        self.conversations[conv] = conversation
        let last = self.lastOnConnection[connection]?[conv] ?? 0
        if seq <= last {
            self.counts.outOfOrder += 1
            self.counts.problems.append("connection \(connection): seq \(seq) after \(last)")
        }
        self.lastOnConnection[connection, default: [:]][conv] = max(seq, last)
    }

    /// Acknowledged messages some member device has not been delivered yet.
    package var missing: Int {
        var missing = 0
        for conversation in self.conversations.values {
            for seq in conversation.acked.values {
                for device in conversation.members where seq >= conversation.joinedAt[device, default: 0] {
                    if !(conversation.delivered[device]?.contains(seq) ?? false) { missing += 1 }
                }
            }
        }
        return missing
    }

    /// The verdict.
    package var report: AuditReport {
        var report = self.counts
        report.lost = self.missing
        for (conv, conversation) in self.conversations {
            // One message stored twice shows as one msg_id at two seqs.
            var seen: [ID: UInt64] = [:]
            for (seq, msgID) in conversation.log {
                if let other = seen[msgID] {
                    report.storedTwice += 1
                    report.problems.append("\(Self.short(conv)): msg_id \(Self.short(msgID)) at seq \(other) and \(seq)")
                }
                seen[msgID] = seq
            }
            for (msgID, seq) in conversation.acked where conversation.log[seq].map({ $0 != msgID }) ?? false {
                report.conflicts += 1
                report.problems.append(
                    "\(Self.short(conv)): seq \(seq) acknowledged for \(Self.short(msgID)) holds another message"
                )
            }
            report.deliveredUnacknowledged +=
                conversation.log.values.filter { id in
                    conversation.acked[id] == nil && !id.isEmpty
                }.count
        }
        report.problems = Array(report.problems.prefix(20))
        return report
    }

    static func short(_ bytes: [UInt8]) -> String {
        bytes.prefix(4).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// The numbers of a run, and whether they keep the promise.
package struct AuditReport: Sendable, CustomStringConvertible {
    /// `Send`s answered with a `SendResult` (retries that were answered included).
    package var acknowledged = 0
    /// `SendResult`s that said `duplicate`: a retry of a message stored before.
    package var duplicatesSuppressed = 0
    /// `Send`s sent again with the same msg_id after a failure.
    package var retries = 0
    /// Deliveries received (repeats included).
    package var deliveries = 0
    /// Deliveries of a seq the device had already been given (not acked before a reconnect).
    package var redeliveries = 0
    /// Acknowledged messages a member device never got: must be 0.
    package var lost = 0
    /// Messages stored at two seqs: must be 0.
    package var storedTwice = 0
    /// A seq delivered out of order on one connection: must be 0.
    package var outOfOrder = 0
    /// One seq with two messages, or one msg_id acknowledged with two seqs: must be 0.
    package var conflicts = 0
    /// Messages in the log whose send was never acknowledged (stored, but the answer was lost
    /// to a crash): allowed, the client retries them with the same msg_id.
    package var deliveredUnacknowledged = 0
    /// The first problems, in words.
    package var problems: [String] = []

    package init() {}

    /// Whether the promise held.
    package var holds: Bool { self.lost == 0 && self.storedTwice == 0 && self.outOfOrder == 0 && self.conflicts == 0 }

    package var description: String {
        var text = """
            acknowledged \(self.acknowledged) (duplicates suppressed \(self.duplicatesSuppressed), retries \(self.retries)); \
            deliveries \(self.deliveries) (redeliveries \(self.redeliveries)); lost \(self.lost), stored twice \(self.storedTwice), \
            out of order \(self.outOfOrder), conflicts \(self.conflicts)
            """
        for problem in self.problems { text += "\n  " + problem }
        return text
    }
}
