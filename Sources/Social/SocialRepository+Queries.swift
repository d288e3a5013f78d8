package import Polycentric
package import Store

/// The reads behind the v1 routes. Events come back as the stored SignedEvent bytes.
extension SocialRepository {
    /// Clocks stored or deleted per process (deleted clocks count as "have", as upstream).
    package func ranges(system: [UInt8]) async throws -> [(process: [UInt8], ranges: ClockRanges)] {
        let rows = try await self.database.query(
            """
            SELECT process, min(c), max(c) FROM (
                SELECT process, c, c - row_number() OVER (PARTITION BY process ORDER BY c) AS grp FROM (
                    SELECT process, logical_clock AS c FROM social_events WHERE system = \(system)
                    UNION SELECT process, logical_clock FROM social_deletions WHERE system = \(system)
                ) clocks
            ) islands GROUP BY process, grp ORDER BY process, min(c)
            """,
            format: .binary
        )
        var result: [(process: [UInt8], ranges: [ClosedRange<UInt64>])] = []
        for row in rows {
            let (process, low, high) = try row.decode(([UInt8], Int64, Int64).self)
            if result.last?.process != process { result.append((process, [])) }
            result[result.count - 1].ranges.append(UInt64(low)...UInt64(high))
        }
        return result.map { ($0.process, ClockRanges($0.ranges)) }
    }

    /// Stored events of `system` whose clocks are in `ranges`, at most ``maxEventsPerRequest``.
    package func events(system: [UInt8], ranges: [(process: [UInt8], ranges: ClockRanges)]) async throws -> [[UInt8]] {
        var queries: [PostgresQuery] = []
        var budget = UInt64(Self.maxEventsPerRequest)
        for entry in ranges {
            for range in entry.ranges.prefix(budget).ranges {
                budget -= range.upperBound - range.lowerBound + 1
                let low = Int64(clamping: range.lowerBound)
                let high = Int64(clamping: range.upperBound)
                queries.append(
                    """
                    SELECT raw_event FROM social_events
                    WHERE system = \(system) AND process = \(entry.process) AND logical_clock BETWEEN \(low) AND \(high)
                    ORDER BY logical_clock
                    """
                )
            }
        }
        guard !queries.isEmpty else { return [] }
        return try await self.database.pipeline(queries, format: .binary).flatMap { try Self.column($0) }
    }

    /// The highest-clock event of every process of `system`.
    package func heads(system: [UInt8]) async throws -> [[UInt8]] {
        try Self.column(
            await self.database.query(
                """
                SELECT DISTINCT ON (process) raw_event FROM social_events
                WHERE system = \(system) ORDER BY process, logical_clock DESC
                """,
                format: .binary
            )
        )
    }

    /// The event at one slot, if stored.
    package func event(system: [UInt8], process: [UInt8], clock: UInt64) async throws -> [UInt8]? {
        let clock = Int64(clamping: clock)
        return try Self.column(
            await self.database.query(
                "SELECT raw_event FROM social_events WHERE system = \(system) AND process = \(process) AND logical_clock = \(clock)",
                format: .binary
            )
        ).first
    }

    /// The latest event (by clock) per (process, content type) for each type.
    package func latest(system: [UInt8], contentTypes: [Int64]) async throws -> [[UInt8]] {
        guard !contentTypes.isEmpty else { return [] }
        let queries: [PostgresQuery] = contentTypes.map { type in
            """
            SELECT DISTINCT ON (process) raw_event FROM social_events
            WHERE system = \(system) AND content_type = \(type) ORDER BY process, logical_clock DESC
            """
        }
        return try await self.database.pipeline(queries, format: .binary).flatMap { try Self.column($0) }
    }

    /// Events of one type, newest first, before `before` (ms, exclusive); a deleted event is
    /// replaced by its Delete event.
    package func index(system: [UInt8], contentType: Int64, before: Int64, limit: Int) async throws -> [[UInt8]] {
        let limit = Int64(limit)
        return try Self.column(
            await self.database.query(
                """
                SELECT raw_event FROM (
                    SELECT unix_ms, process, logical_clock, raw_event FROM social_events
                    WHERE system = \(system) AND content_type = \(contentType) AND unix_ms < \(before)
                    UNION ALL
                    SELECT d.unix_ms, d.process, d.logical_clock, e.raw_event
                    FROM social_deletions d JOIN social_events e ON e.id = d.delete_event_id
                    WHERE d.system = \(system) AND d.content_type = \(contentType) AND d.unix_ms < \(before)
                ) entries ORDER BY unix_ms DESC, process DESC, logical_clock DESC LIMIT \(limit)
                """,
                format: .binary
            )
        )
    }

    /// `/query_index`'s proof: for every process of `system` without an event in the page, its
    /// event of that type just after the page (still before `before`) and just before it. With
    /// each event's `indices` back-chain they show that the page skipped none of its events.
    package func indexProof(
        system: [UInt8],
        contentType: Int64,
        before: Int64,
        page: [Userpackage_Event]
    ) async throws -> [[UInt8]] {
        let times = page.compactMap { $0.hasUnixMilliseconds ? Int64(clamping: $0.unixMilliseconds) : nil }
        guard let newest = times.max(), let oldest = times.min() else { return [] }
        let processes = PostgresArray(Array(Set(page.map { [UInt8]($0.process.process) })))
        return try Self.column(
            await self.database.query(
                """
                (SELECT DISTINCT ON (process) raw_event FROM social_events
                 WHERE system = \(system) AND content_type = \(contentType) AND unix_ms > \(newest) AND unix_ms < \(before)
                   AND process <> ALL(\(processes))
                 ORDER BY process, unix_ms ASC, logical_clock ASC)
                UNION ALL
                (SELECT DISTINCT ON (process) raw_event FROM social_events
                 WHERE system = \(system) AND content_type = \(contentType) AND unix_ms < \(oldest)
                   AND process <> ALL(\(processes))
                 ORDER BY process, unix_ms DESC, logical_clock DESC)
                """,
                format: .binary
            )
        )
    }

    /// Events referencing `subject`, best first: (likes − dislikes) descending, then newest.
    package func referencing(
        type: Int16,
        subject: [UInt8],
        fromType: Int64?,
        offset: Int64,
        limit: Int64
    ) async throws -> [(event: [UInt8], id: Int64)] {
        let rows = try await self.database.query(
            """
            SELECT e.raw_event, e.id FROM social_references r JOIN social_events e ON e.id = r.event_id
            WHERE r.reference_type = \(type) AND r.subject = \(subject) AND (\(fromType)::bigint IS NULL OR r.from_type = \(fromType)::bigint)
            ORDER BY (SELECT count(*) FILTER (WHERE l.value = '\\x01') - count(*) FILTER (WHERE l.value = '\\x02')
                      FROM social_lww_references l
                      WHERE l.reference_type = 2 AND l.content_type = 14
                        AND l.subject = e.system || e.process || int8send(e.logical_clock)) DESC,
                     e.unix_ms DESC NULLS LAST, e.id DESC
            OFFSET \(offset) LIMIT \(limit)
            """,
            format: .binary
        )
        return try rows.map { try $0.decode(([UInt8], Int64).self) }
    }

    /// How many current LWW elements with `value` (from `fromType`) are about `subject`.
    package func countLWW(type: Int16, subject: [UInt8], value: [UInt8], fromType: Int64?) async throws -> UInt64 {
        let rows = try await self.database.query(
            """
            SELECT count(*) FROM social_lww_references
            WHERE reference_type = \(type) AND subject = \(subject) AND value = \(value)
              AND (\(fromType)::bigint IS NULL OR content_type = \(fromType)::bigint)
            """,
            format: .binary
        )
        return UInt64(try rows[0][0].decode(Int64.self))
    }

    /// How many events (from `fromType`) reference any of `subjects` of `type`.
    package func countReferences(type: Int16, subjects: [[UInt8]], fromType: Int64?) async throws -> UInt64 {
        var total: UInt64 = 0
        for subject in subjects {
            let rows = try await self.database.query(
                """
                SELECT count(*) FROM social_references
                WHERE reference_type = \(type) AND subject = \(subject)
                  AND (\(fromType)::bigint IS NULL OR from_type = \(fromType)::bigint)
                """,
                format: .binary
            )
            total += UInt64(try rows[0][0].decode(Int64.self))
        }
        return total
    }

    /// All posts, newest first, strictly after the cursor position (ms, id) when given.
    package func explore(
        before: (unixMs: Int64, id: Int64)?,
        limit: Int64
    ) async throws -> [(event: [UInt8], unixMs: Int64, id: Int64)] {
        let unixMs = before?.unixMs ?? Int64.max
        let id = before?.id ?? Int64.max
        let rows = try await self.database.query(
            """
            SELECT raw_event, coalesce(unix_ms, 0), id FROM social_events
            WHERE content_type = 3 AND (coalesce(unix_ms, 0), id) < (\(unixMs), \(id))
            ORDER BY coalesce(unix_ms, 0) DESC, id DESC LIMIT \(limit)
            """,
            format: .binary
        )
        return try rows.map { try $0.decode(([UInt8], Int64, Int64).self) }
    }

    /// Full-text search over posts (`profiles == false`) or over each system's latest username
    /// and description.
    package func search(_ text: String, profiles: Bool, offset: Int64, limit: Int64) async throws -> [[UInt8]] {
        let query: PostgresQuery =
            profiles
            ? """
            SELECT raw_event FROM (
                SELECT DISTINCT ON (system, content_type) raw_event, search, unix_ms, id FROM social_events
                WHERE content_type IN (5, 6) ORDER BY system, content_type, unix_ms DESC NULLS LAST, process DESC
            ) latest WHERE search @@ plainto_tsquery('simple', \(text))
            ORDER BY unix_ms DESC NULLS LAST, id DESC OFFSET \(offset) LIMIT \(limit)
            """
            : """
            SELECT raw_event FROM social_events
            WHERE content_type = 3 AND search @@ plainto_tsquery('simple', \(text))
            ORDER BY unix_ms DESC NULLS LAST, id DESC OFFSET \(offset) LIMIT \(limit)
            """
        return try Self.column(await self.database.query(query, format: .binary))
    }

    /// Claims of `claimType` (by `claimingSystem` when given) whose fields match, with each
    /// Vouch from `vouchingSystem` that points at them, newest vouch first.
    package func vouchedClaims(
        claimType: Int64,
        vouchingSystem: [UInt8],
        claimingSystem: [UInt8]?,
        anyField: String?,
        allFields: [(key: Int64, value: String)]
    ) async throws -> [(claim: [UInt8], vouch: [UInt8])] {
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 1024, interpolationCount: 8)
        sql.appendLiteral(
            """
            SELECT c.raw_event, v.raw_event FROM social_claims k
            JOIN social_events c ON c.id = k.event_id
            JOIN social_references r ON r.reference_type = 2 AND r.subject = c.system || c.process || int8send(c.logical_clock)
            JOIN social_events v ON v.id = r.event_id AND v.content_type = 11 AND v.system =\u{20}
            """
        )
        sql.appendInterpolation(vouchingSystem)
        sql.appendLiteral(" WHERE k.claim_type = ")
        sql.appendInterpolation(claimType)
        if let claimingSystem {
            sql.appendLiteral(" AND k.system = ")
            sql.appendInterpolation(claimingSystem)
        }
        if let anyField {
            sql.appendLiteral(" AND EXISTS (SELECT 1 FROM social_claim_fields f WHERE f.event_id = k.event_id AND f.value = ")
            sql.appendInterpolation(anyField)
            sql.appendLiteral("::text)")
        }
        for field in allFields {
            sql.appendLiteral(" AND EXISTS (SELECT 1 FROM social_claim_fields f WHERE f.event_id = k.event_id AND f.key = ")
            sql.appendInterpolation(field.key)
            sql.appendLiteral(" AND f.value = ")
            sql.appendInterpolation(field.value)
            sql.appendLiteral("::text)")
        }
        sql.appendLiteral(" ORDER BY v.unix_ms DESC NULLS LAST, v.id DESC LIMIT 100")
        let query = PostgresQuery(stringInterpolation: sql)
        let rows = try await self.database.query(query, format: .binary)
        return try rows.map { try $0.decode(([UInt8], [UInt8]).self) }
    }

    static func column(_ result: PostgresQueryResult) throws -> [[UInt8]] {
        try result.map { try $0[0].decode([UInt8].self) }
    }
}
