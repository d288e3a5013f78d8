public import Logging
public import Polycentric
public import Store

/// The Polycentric social store in PostgreSQL: ingest of verified events and the reads behind
/// the v1 routes. Every statement is parameterised; batches run pipelined in one transaction.
public struct SocialRepository: Sendable {
    let database: PostgresClient
    let logger: Logger

    /// Most events one `GET /events` returns (clients ask for 20 at a time).
    public static let maxEventsPerRequest = 1000

    public init(database: PostgresClient, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Stores a planned batch in one transaction. Events already stored (same system, process and
    /// clock) and events deleted earlier are skipped; a Delete removes its target.
    ///
    /// - Returns: how many events were new.
    @discardableResult
    public func ingest(_ plan: IngestPlan) async throws -> Int {
        guard !plan.items.isEmpty else { return 0 }
        // One order for every batch, so that two batches touching the same keys lock them in the
        // same order.
        let items = plan.items.sorted(by: Self.slotOrder)
        var statements: [PostgresQuery] = []
        var eventStatements: [Int] = []
        for item in items {
            eventStatements.append(statements.count)
            statements += Self.statements(for: item)
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let results = try await self.database.pipeline(statements)
                return eventStatements.reduce(0) { $0 + (results[$1].affectedRows ?? 0) }
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

    static func statements(for item: IngestPlan.Item) -> [PostgresQuery] {
        let event = item.event
        let system = event.systemKey
        let process = event.process
        let clock = Int64(event.logicalClock)
        let digest = event.digest
        let contentType = Int64(event.event.contentType)
        let unixMs = event.unixMilliseconds.map { Int64($0) }
        let raw = event.signedEvent.serialized
        var statements: [PostgresQuery] = [
            """
            INSERT INTO social_events (system, process, logical_clock, content_type, unix_ms, digest, raw_event, search)
            SELECT \(system), \(process), \(clock), \(contentType), \(unixMs), \(digest), \(raw), to_tsvector('simple', \(item.searchText)::text)
            WHERE NOT EXISTS (
                SELECT 1 FROM social_deletions WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock))
            ON CONFLICT ON CONSTRAINT social_events_key DO NOTHING
            """
        ]
        // The statements below act only if this very event (same digest) is the stored one.
        for reference in item.references {
            statements.append(
                """
                INSERT INTO social_references (event_id, reference_type, subject, from_type)
                SELECT id, \(reference.type), \(reference.subject), content_type FROM social_events
                WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock) AND digest = \(digest)
                ON CONFLICT DO NOTHING
                """
            )
        }
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
    /// Orders events by (system, process, clock), bytes compared lexicographically.
    static func slotOrder(_ a: IngestPlan.Item, _ b: IngestPlan.Item) -> Bool {
        let (x, y) = (a.event, b.event)
        if x.systemKey != y.systemKey { return x.systemKey.lexicographicallyPrecedes(y.systemKey) }
        if x.process != y.process { return x.process.lexicographicallyPrecedes(y.process) }
        return x.logicalClock < y.logicalClock
    }
}
