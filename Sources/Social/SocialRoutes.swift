import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore
package import Polycentric
import Primitives
import Store

/// The Polycentric v1 HTTP API (upstream's routes, parameter encodings, status codes and
/// `Cache-Control` values; see docs/SOCIAL_API.md). Bodies and responses are binary protobuf;
/// errors are `text/plain` with a message, 400 for anything the client sent wrong.
package struct SocialRoutes: Sendable {
    package var repository: SocialRepository
    /// The text of `GET /version`'s `sha`.
    package var version: String
    /// Largest accepted `POST /events` body.
    package var maxBodyBytes: Int

    package init(repository: SocialRepository, version: String, maxBodyBytes: Int = 16 << 20) {
        self.repository = repository
        self.version = version
        self.maxBodyBytes = maxBodyBytes
    }

    /// Upstream's CORS policy: any origin, GET and POST, its two request headers, 300 s.
    package static func cors<Context: RequestContext>(_: Context.Type = Context.self) -> CORSMiddleware<Context> {
        CORSMiddleware(
            allowOrigin: .all,
            allowHeaders: [.contentType, HTTPField.Name("x-polycentric-user-agent")!],
            allowMethods: [.get, .post],
            maxAge: .seconds(300)
        )
    }

    /// Adds the routes to `router`.
    package func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/events") { request, _ in await self.handle { try await self.postEvents(request) } }
        router.get("/events") { request, _ in await self.handle { try await self.getEvents(request) } }
        router.get("/ranges") { request, _ in await self.handle { try await self.getRanges(request) } }
        router.get("/head") { request, _ in await self.handle { try await self.getHead(request) } }
        router.get("/query_latest") { request, _ in await self.handle { try await self.queryLatest(request) } }
        router.get("/query_index") { request, _ in await self.handle { try await self.queryIndex(request) } }
        router.get("/query_references") { request, _ in await self.handle { try await self.queryReferences(request) } }
        router.get("/explore") { request, _ in await self.handle { try await self.explore(request) } }
        router.get("/search") { request, _ in await self.handle { try await self.search(request) } }
        router.get("/resolve_claim") { request, _ in await self.handle { try await self.resolveClaim(request) } }
        router.get("/find_claim_and_vouch") { request, _ in await self.handle { try await self.findClaimAndVouch(request) } }
        router.get("/version") { _, _ in
            SocialResponse.json(#"{"sha":"\#(self.version)"}"#)
        }
        router.get("/health") { _, _ in await self.health() }
    }

    /// Runs a handler: a ``PolycentricError`` becomes 400 with its message; a database failure
    /// 500 (logged, the client sees a generic text).
    func handle(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as PolycentricError {
            return SocialResponse.text(.badRequest, error.message)
        } catch {
            self.repository.logger.error("social request failed", metadata: ["error": "\(error)"])
            return SocialResponse.text(.internalServerError, "internal error")
        }
    }

    // MARK: Ingest

    func postEvents(_ request: Request) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: self.maxBodyBytes)
        } catch {
            return SocialResponse.text(.contentTooLarge, "body over \(self.maxBodyBytes) bytes")
        }
        let events = try Userpackage_Events.parse(Array(buffer: body), what: "body (Events)").events
        // Each event's checks and signature stand alone: on all cores, in order.
        let verified = try Parallel.map(events.count) { (position) throws(PolycentricError) -> VerifiedEvent in
            do throws(PolycentricError) {
                return try VerifiedEvent(events[position])
            } catch {
                throw PolycentricError(error.code, "event \(position): \(error.message)")
            }
        }
        let plan = try IngestPlan(verified)
        try await self.repository.ingest(plan)
        return Response(status: .ok)
    }

    // MARK: Reads

    func getEvents(_ request: Request) async throws -> Response {
        let system = try QueryParameters(request).system()
        let ranges = try QueryParameters(request).message("ranges", Userpackage_RangesForSystem.self).clockRanges()
        let events = try await self.repository.events(system: system, ranges: ranges)
        return try SocialResponse.events(events, cache: .immutableRead)
    }

    func getRanges(_ request: Request) async throws -> Response {
        let system = try QueryParameters(request).system()
        let ranges = try await self.repository.ranges(system: system)
        let message = Userpackage_RangesForSystem(ranges.map { (Userpackage_Process($0.process), $0.ranges) })
        return SocialResponse.protobuf(message, cache: .noCache)
    }

    func getHead(_ request: Request) async throws -> Response {
        let system = try QueryParameters(request).system()
        let heads = try await self.repository.heads(system: system)
        var result = heads
        for raw in heads {
            let signed = try Userpackage_SignedEvent.parse(raw, what: "stored event")
            let event = try Userpackage_Event.parse([UInt8](signed.event), what: "stored event")
            guard event.contentType != ContentType.systemProcesses.rawValue,
                let index = event.indices.indices.first(where: { $0.indexType == ContentType.systemProcesses.rawValue }),
                let processes = try await self.repository.event(
                    system: system,
                    process: [UInt8](event.process.process),
                    clock: index.logicalClock
                )
            else { continue }
            if !result.contains(processes) { result.append(processes) }
        }
        return try SocialResponse.events(result, cache: .immutableRead)
    }

    func queryLatest(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request)
        let system = try parameters.system()
        let types = try parameters.message("event_types", Userpackage_RepeatedUInt64.self).numbers
        guard types.count <= 64 else { throw PolycentricError(.badParameter, "event_types: at most 64 types") }
        let contentTypes = try types.map { value throws(PolycentricError) in try IngestPlan.int64(value, "event_types") }
        let events = try await self.repository.latest(system: system, contentTypes: contentTypes)
        return try SocialResponse.events(events, cache: .immutableRead)
    }

    func queryIndex(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request)
        let system = try parameters.system()
        let contentType = try parameters.integer("content_type", required: true)!
        let after = try parameters.integer("after") ?? Int64.max
        let limit = Int(try parameters.integer("limit") ?? 10)
        guard (1...100).contains(limit) else { throw PolycentricError(.badParameter, "limit: 1 to 100") }
        var response = Userpackage_QueryIndexResponse()
        response.events = try await self.repository.index(system: system, contentType: contentType, before: after, limit: limit)
            .map { raw throws(PolycentricError) in try Userpackage_SignedEvent.parse(raw, what: "stored event") }
        // Verified on ingest; parsed here only for their processes and times.
        let page = try response.events.map { signed throws(PolycentricError) in
            try Userpackage_Event.parse([UInt8](signed.event), what: "stored event")
        }
        response.proof = try await self.repository.indexProof(system: system, contentType: contentType, before: after, page: page)
            .map { raw throws(PolycentricError) in try Userpackage_SignedEvent.parse(raw, what: "stored event") }
        return SocialResponse.protobuf(response, cache: .immutableRead)
    }

    func queryReferences(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request).message("query", Userpackage_QueryReferencesRequest.self)
        let (type, subject) = try Self.subject(of: query.reference)
        guard query.extraByteReferences.isEmpty || type == 3 else {
            throw PolycentricError(.badParameter, "extra_byte_references need a reference of type 3")
        }
        let subjects = [subject] + query.extraByteReferences.map { [UInt8]($0) }
        var response = Userpackage_QueryReferencesResponse()
        if query.hasRequestEvents {
            let pageSize: Int64 = 20
            let offset = try Self.bigEndianOffset(query.hasCursor ? [UInt8](query.cursor) : nil)
            let fromType = try query.requestEvents.hasFromType ? IngestPlan.int64(query.requestEvents.fromType, "from_type") : nil
            let rows = try await self.repository.referencing(
                type: type,
                subject: subject,
                fromType: fromType,
                offset: offset,
                limit: pageSize
            )
            for row in rows {
                var item = Userpackage_QueryReferencesResponseEventItem()
                item.event = try Userpackage_SignedEvent.parse(row.event, what: "stored event")
                let event = try Userpackage_Event.parse([UInt8](item.event.event), what: "stored event")
                let itemSubject = IngestPlan.subject(
                    system: [UInt8](event.system.key),
                    process: [UInt8](event.process.process),
                    clock: event.logicalClock
                )
                item.counts = try await self.counts(
                    lww: query.requestEvents.countLwwElementReferences,
                    references: query.requestEvents.countReferences,
                    type: 2,
                    subjects: [itemSubject]
                )
                response.items.append(item)
            }
            if rows.count == pageSize {
                response.cursor = Data(Self.bigEndian(UInt64(offset + pageSize)))
            }
        }
        response.counts = try await self.counts(
            lww: query.countLwwElementReferences,
            references: query.countReferences,
            type: type,
            subjects: subjects
        )
        return SocialResponse.protobuf(response, cache: .immutableRead)
    }

    func counts(
        lww: [Userpackage_QueryReferencesRequestCountLWWElementReferences],
        references: [Userpackage_QueryReferencesRequestCountReferences],
        type: Int16,
        subjects: [[UInt8]]
    ) async throws -> [UInt64] {
        var counts: [UInt64] = []
        for spec in lww {
            let fromType = try spec.hasFromType ? IngestPlan.int64(spec.fromType, "from_type") : nil
            var total: UInt64 = 0
            for subject in subjects {
                total += try await self.repository.countLWW(
                    type: type,
                    subject: subject,
                    value: [UInt8](spec.value),
                    fromType: fromType
                )
            }
            counts.append(total)
        }
        for spec in references {
            let fromType = try spec.hasFromType ? IngestPlan.int64(spec.fromType, "from_type") : nil
            counts.append(try await self.repository.countReferences(type: type, subjects: subjects, fromType: fromType))
        }
        return counts
    }

    func explore(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request)
        let limit = try parameters.integer("limit") ?? 10
        guard (1...100).contains(limit) else { throw PolycentricError(.badParameter, "limit: 1 to 100") }
        var before: (unixMs: Int64, id: Int64)?
        if let cursor = try parameters.bytes("cursor") {
            switch cursor.count {
            case 16: before = (Self.littleEndian(cursor[0..<8]), Self.littleEndian(cursor[8..<16]))
            case 8: before = (Int64.max, Self.littleEndian(cursor[0..<8]))
            default: throw PolycentricError(.badParameter, "cursor: 8 or 16 bytes")
            }
        }
        let rows = try await self.repository.explore(before: before, limit: limit)
        var response = Userpackage_ResultEventsAndRelatedEventsAndCursor()
        response.resultEvents.events = try rows.map { row throws(PolycentricError) in
            try Userpackage_SignedEvent.parse(row.event, what: "stored event")
        }
        response.relatedEvents = Userpackage_Events()
        if let last = rows.last {
            response.cursor = Data(Self.littleEndianBytes(last.unixMs) + Self.littleEndianBytes(last.id))
        }
        return SocialResponse.protobuf(response, cache: .explore)
    }

    func search(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request)
        guard let text = parameters.string("search"), !text.isEmpty else {
            throw PolycentricError(.badParameter, "search: missing")
        }
        let limit = try parameters.integer("limit") ?? 10
        guard (1...100).contains(limit) else { throw PolycentricError(.badParameter, "limit: 1 to 100") }
        let profiles: Bool
        switch parameters.string("search_type") {
        case nil, "messages": profiles = false
        case "profiles": profiles = true
        case let other?: throw PolycentricError(.badParameter, "search_type: messages or profiles, not \(other)")
        }
        var offset: Int64 = 0
        if let cursor = try parameters.bytes("cursor") {
            guard cursor.count == 8 else { throw PolycentricError(.badParameter, "cursor: 8 bytes") }
            offset = Self.littleEndian(cursor[...])
            guard offset >= 0 else { throw PolycentricError(.badParameter, "cursor: negative offset") }
        }
        let rows = try await self.repository.search(text, profiles: profiles, offset: offset, limit: limit)
        var response = Userpackage_ResultEventsAndRelatedEventsAndCursor()
        response.resultEvents.events = try rows.map { raw throws(PolycentricError) in
            try Userpackage_SignedEvent.parse(raw, what: "stored event")
        }
        response.relatedEvents = Userpackage_Events()
        if rows.count == Int(limit) { response.cursor = Data(Self.littleEndianBytes(offset + limit)) }
        return SocialResponse.protobuf(response, cache: .none)
    }

    func resolveClaim(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request).message("query", Userpackage_QueryClaimToSystemRequest.self)
        let trustRoot = try query.trustRoot.validated()
        var any: String?
        var all: [(key: Int64, value: String)] = []
        switch query.query {
        case .matchAnyField(let value): any = value
        case .matchAllFields(let fields):
            all = try fields.fields.map { field throws(PolycentricError) in
                (try IngestPlan.int64(field.key, "field key"), field.value)
            }
        case nil: throw PolycentricError(.badParameter, "query: match_any_field or match_all_fields is required")
        }
        let rows = try await self.repository.vouchedClaims(
            claimType: try IngestPlan.int64(query.claimType, "claim_type"),
            vouchingSystem: [UInt8](trustRoot.key),
            claimingSystem: nil,
            anyField: any,
            allFields: all
        )
        var response = Userpackage_QueryClaimToSystemResponse()
        for row in rows {
            var match = Userpackage_QueryClaimToSystemResponseMatch()
            match.claim = try Userpackage_SignedEvent.parse(row.claim, what: "stored event")
            match.proofChain = [try Userpackage_SignedEvent.parse(row.vouch, what: "stored event")]
            response.matches.append(match)
        }
        return SocialResponse.protobuf(response, cache: .immutableRead)
    }

    func findClaimAndVouch(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request).message("query", Userpackage_FindClaimAndVouchRequest.self)
        let vouching = try query.vouchingSystem.validated()
        let claiming = try query.claimingSystem.validated()
        let rows = try await self.repository.vouchedClaims(
            claimType: try IngestPlan.int64(query.claimType, "claim_type"),
            vouchingSystem: [UInt8](vouching.key),
            claimingSystem: [UInt8](claiming.key),
            anyField: nil,
            allFields: try query.fields.map { field throws(PolycentricError) in
                (try IngestPlan.int64(field.key, "field key"), field.value)
            }
        )
        guard let first = rows.first else { return SocialResponse.text(.notFound, "no vouched claim matches", cache: .noCache) }
        var response = Userpackage_FindClaimAndVouchResponse()
        response.claim = try Userpackage_SignedEvent.parse(first.claim, what: "stored event")
        response.vouch = try Userpackage_SignedEvent.parse(first.vouch, what: "stored event")
        return SocialResponse.protobuf(response, cache: .noCache)
    }

    func health() async -> Response {
        let database = (try? await self.repository.database.query("SELECT 1")) != nil
        // Search is served by PostgreSQL: the `opensearch` field reports the same database.
        let body = #"{"db":\#(database),"opensearch":\#(database),"status":"\#(database ? "ok" : "degraded")"}"#
        return SocialResponse.json(body, status: database ? .ok : .serviceUnavailable)
    }

    // MARK: Helpers

    /// The `social_references` key of a queried reference: type 2 (Pointer) or 3 (bytes).
    static func subject(of reference: Userpackage_Reference) throws(PolycentricError) -> (Int16, [UInt8]) {
        switch reference.referenceType {
        case ReferenceType.pointer:
            let pointer = try Userpackage_Pointer.parse([UInt8](reference.reference), what: "reference (Pointer)")
            return (2, try IngestPlan.subject(of: pointer))
        case ReferenceType.bytes:
            return (3, [UInt8](reference.reference))
        default:
            throw PolycentricError(.badReference, "reference_type must be 2 (pointer) or 3 (bytes)")
        }
    }

    static func bigEndianOffset(_ cursor: [UInt8]?) throws(PolycentricError) -> Int64 {
        guard let cursor else { return 0 }
        guard cursor.count == 8 else { throw PolycentricError(.badParameter, "cursor: 8 bytes") }
        let value = cursor.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard value < 1 << 62 else { throw PolycentricError(.badParameter, "cursor: offset out of range") }
        return Int64(value)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) }
    }

    static func littleEndian(_ bytes: ArraySlice<UInt8>) -> Int64 {
        Int64(bitPattern: bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    static func littleEndianBytes(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> UInt64(8 * $0)) }
    }
}
