package import Logging
package import Polycentric
package import Store

/// The Polycentric social store in PostgreSQL: ingest of verified events and the reads behind
/// the v1 routes. Every statement is parameterised; batches run pipelined in one transaction.
package struct SocialRepository: Sendable {
    let database: PostgresClient
    let logger: Logger

    /// Most events one `GET /events` returns (clients ask for 20 at a time).
    package static let maxEventsPerRequest = 1000

    package init(database: PostgresClient, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Stores a planned batch in one transaction. Events already stored (same system, process and
    /// clock) and events deleted earlier are skipped; a Delete removes its target.
    ///
    /// - Returns: how many events were new.
    @discardableResult
    package func ingest(_ plan: IngestPlan) async throws -> Int {
        guard !plan.items.isEmpty else { return 0 }
        // One order for every batch, so that two batches touching the same keys lock them in the
        // same order.
        let items = Self.inSlotOrder(plan.items)
        let statements = Self.statements(for: items)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let results = try await self.database.pipeline(statements)
                return results[0].affectedRows ?? 0
            } catch let error as PostgresError
                where attempt < 3 && (error.sqlState == "40P01" || error.sqlState == "40001" || error.sqlState == "23505")
            {
                self.logger.debug(
                    "social ingest retried",
                    metadata: ["sqlstate": "\(error.sqlState ?? "")", "attempt": "\(attempt)"]
                )
            }
        }
    }

    /// The batch as statements: every event in one `INSERT … unnest(…)`, every reference in
    /// another, then the rarer Delete, LWW and Claim rows one statement each.
    static func statements(for items: [IngestPlan.Item]) -> [PostgresQuery] {
        var systems: [[UInt8]] = []
        var processes: [[UInt8]] = []
        var clocks: [Int64] = []
        var types: [Int64] = []
        var times: [Int64?] = []
        var digests: [[UInt8]] = []
        var raws: [[UInt8]] = []
        var texts: [String?] = []
        var references:
            (systems: [[UInt8]], processes: [[UInt8]], clocks: [Int64], digests: [[UInt8]], types: [Int16], subjects: [[UInt8]]) =
                ([], [], [], [], [], [])
        for item in items {
            let event = item.event
            let digest = event.digest
            systems.append(event.systemKey)
            processes.append(event.process)
            clocks.append(Int64(event.logicalClock))
            types.append(Int64(event.event.contentType))
            times.append(event.unixMilliseconds.map { Int64($0) })
            digests.append(digest)
            raws.append(event.serializedSignedEvent)
            texts.append(item.searchText)
            for reference in item.references {
                references.systems.append(event.systemKey)
                references.processes.append(event.process)
                references.clocks.append(Int64(event.logicalClock))
                references.digests.append(digest)
                references.types.append(reference.type)
                references.subjects.append(reference.subject)
            }
        }
        var statements: [PostgresQuery] = [
            """
            INSERT INTO social_events (system, process, logical_clock, content_type, unix_ms, digest, raw_event, search)
            SELECT t.system, t.process, t.clock, t.type, t.ms, t.digest, t.raw, to_tsvector('simple', t.search)
            FROM unnest(\(PostgresArray(systems)), \(PostgresArray(processes)), \(PostgresArray(clocks)), \(PostgresArray(types)),
                        \(PostgresArray(times)), \(PostgresArray(digests)), \(PostgresArray(raws)), \(PostgresArray(texts)))
                 AS t(system, process, clock, type, ms, digest, raw, search)
            WHERE NOT EXISTS (
                SELECT 1 FROM social_deletions d WHERE d.system = t.system AND d.process = t.process AND d.logical_clock = t.clock)
            ON CONFLICT ON CONSTRAINT social_events_key DO NOTHING
            """
        ]
        if !references.types.isEmpty {
            // Only for the stored event with this very digest (not a rival at the same clock).
            statements.append(
                """
                INSERT INTO social_references (event_id, reference_type, subject, from_type)
                SELECT e.id, t.type, t.subject, e.content_type
                FROM unnest(\(PostgresArray(references.systems)), \(PostgresArray(references.processes)), \(PostgresArray(references.clocks)),
                            \(PostgresArray(references.digests)), \(PostgresArray(references.types)), \(PostgresArray(references.subjects)))
                     AS t(system, process, clock, digest, type, subject)
                JOIN social_events e ON e.system = t.system AND e.process = t.process AND e.logical_clock = t.clock AND e.digest = t.digest
                ON CONFLICT DO NOTHING
                """
            )
        }
        for item in items where item.deletion != nil || item.lww != nil || item.claim != nil {
            statements += Self.statements(for: item)
        }
        return statements
    }

    /// The per-event statements of the rarer rows (Delete, LWW about a subject, Claim); each acts
    /// only if this very event (same digest) is the stored one.
    static func statements(for item: IngestPlan.Item) -> [PostgresQuery] {
        let event = item.event
        let system = event.systemKey
        let process = event.process
        let clock = Int64(event.logicalClock)
        let digest = event.digest
        var statements: [PostgresQuery] = []
        if let deletion = item.deletion {
            statements.append(
                """
                INSERT INTO social_deletions (system, process, logical_clock, content_type, unix_ms, delete_event_id)
                SELECT \(system), \(deletion.process), \(deletion.logicalClock), \(deletion.contentType), \(deletion.unixMilliseconds), id
                FROM social_events
                WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock) AND digest = \(digest)
                ON CONFLICT DO NOTHING
                """
            )
            statements.append(
                """
                DELETE FROM social_events
                WHERE system = \(system) AND process = \(deletion.process) AND logical_clock = \(deletion.logicalClock)
                AND EXISTS (SELECT 1 FROM social_deletions
                            WHERE system = \(system) AND process = \(deletion.process) AND logical_clock = \(deletion.logicalClock))
                """
            )
        }
        if let lww = item.lww {
            statements.append(
                """
                INSERT INTO social_lww_references (system, content_type, reference_type, subject, value, unix_ms, event_id)
                SELECT system, content_type, \(lww.reference.type), \(lww.reference.subject), \(lww.value), \(lww.unixMilliseconds), id
                FROM social_events
                WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock) AND digest = \(digest)
                ON CONFLICT (system, content_type, reference_type, subject) DO UPDATE
                SET value = excluded.value, unix_ms = excluded.unix_ms, event_id = excluded.event_id
                WHERE excluded.unix_ms > social_lww_references.unix_ms
                """
            )
        }
        if let claim = item.claim {
            statements.append(
                """
                INSERT INTO social_claims (event_id, system, claim_type)
                SELECT id, system, \(claim.claimType) FROM social_events
                WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock) AND digest = \(digest)
                ON CONFLICT DO NOTHING
                """
            )
            for field in claim.fields {
                statements.append(
                    """
                    INSERT INTO social_claim_fields (event_id, key, value)
                    SELECT id, \(field.key), \(field.value) FROM social_events
                    WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock) AND digest = \(digest)
                    ON CONFLICT DO NOTHING
                    """
                )
            }
        }
        return statements
    }
}

extension SocialRepository {
    /// `items` in slot order — (system, process, logical clock), bytes compared in order —
    /// sorting their keys rather than moving whole items (an item is a dozen reference-counted
    /// fields; sorting those was 2 % of ingest).
    static func inSlotOrder(_ items: [IngestPlan.Item]) -> [IngestPlan.Item] {
        let keys = items.indices.map { index in
            (
                system: items[index].event.systemKey, process: items[index].event.process, clock: items[index].event.logicalClock,
                index: index
            )
        }
        let sorted = keys.sorted { x, y in
            if x.system != y.system { return x.system.lexicographicallyPrecedes(y.system) }
            if x.process != y.process { return x.process.lexicographicallyPrecedes(y.process) }
            return x.clock < y.clock
        }
        return sorted.map { items[$0.index] }
    }
}
