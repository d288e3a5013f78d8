import Foundation
import Polycentric
import Primitives
import SwiftProtobuf
import TestSupport
import Testing

/// The Polycentric v1 API of the real `polygated` binary against a real PostgreSQL.
@Suite struct SocialAPITests {
    /// A running daemon on a fresh database, ready.
    struct Server {
        let port: Int

        func post(_ events: [VerifiedEvent]) async throws -> HTTPTestClient.Response {
            var body = Userpackage_Events()
            body.events = events.map(\.signedEvent)
            return try await self.post(body.serialized)
        }

        func post(_ body: [UInt8]) async throws -> HTTPTestClient.Response {
            try await HTTPTestClient.send(port: self.port, method: "POST", "/events", body: body)
        }

        func get(_ path: String) async throws -> HTTPTestClient.Response {
            try await HTTPTestClient.send(port: self.port, method: "GET", path)
        }

        /// GET that must answer 200 with a `M` message.
        func get<M: SwiftProtobuf.Message>(_ path: String, as type: M.Type) async throws -> (M, HTTPTestClient.Response) {
            let response = try await self.get(path)
            guard response.status == 200 else { throw TestFailure("GET \(path): \(response.status) \(response.body)") }
            return (try M(serializedBytes: response.bytes), response)
        }
    }

    static func withServer(_ body: (Server) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { url in
            let harness = try DaemonHarness(databaseURL: url)
            let process = try harness.start()
            do {
                try await HTTPTestClient.waitFor(port: harness.port, "/readyz") { $0.status == 200 }
                try await body(Server(port: harness.port))
                process.kill9()
            } catch {
                process.kill9()
                throw TestFailure("\(error)\n--- polygated stderr ---\n\(process.stderr)")
            }
        }
    }

    /// Alice's six events as in the vectors: post, username, reply, follow, like, delete of the reply.
    static func sixEvents(_ log: inout ProcessLog) throws -> [VerifiedEvent] {
        let post = try log.post("hello world", at: 1_700_000_000_000)
        let username = try log.set(.username, value: Array("alice".utf8), at: 1_700_000_000_001)
        let reply = try log.post("reply", replyTo: post.pointer, at: 1_700_000_000_002)
        let follow = try log.follow(SystemKeyPair.generate().system, at: 1_700_000_000_003)
        let like = try log.opinion(Opinion.like, on: post.pointer, at: 1_700_000_000_004)
        let delete = try log.delete(reply, at: 1_700_000_000_005)
        return [post, username, reply, follow, like, delete]
    }

    static let immutable = "public, s-maxage=3600, max-age=5"

    @Test func ingestThenEveryReadRoundTrips() async throws {
        try await Self.withServer { server in
            var log = ProcessLog(key: .generate())
            let events = try Self.sixEvents(&log)
            let system = log.key.system
            let posted = try await server.post(events)
            #expect(posted.status == 200)
            #expect(posted.bytes.isEmpty)
            #expect(posted.headers["cache-control"] == nil)

            // Ranges count the deleted clock 3 as known; not cached.
            let (ranges, rangesResponse) = try await server.get(
                RequestPaths.ranges(system: system),
                as: Userpackage_RangesForSystem.self
            )
            #expect(rangesResponse.headers["cache-control"] == "no-cache")
            let have = try ranges.clockRanges()
            #expect(have.count == 1)
            #expect(have.first?.process == [UInt8](log.process.process))
            #expect(have.first?.ranges == ClockRanges([1...6]))

            // Events: byte-identical SignedEvents, the deleted reply absent.
            let query = Userpackage_RangesForSystem([(log.process, ClockRanges([1...6]))])
            let (fetched, eventsResponse) = try await server.get(
                RequestPaths.events(system: system, ranges: query),
                as: Userpackage_Events.self
            )
            #expect(eventsResponse.headers["cache-control"] == Self.immutable)
            let fromBrowser = try await HTTPTestClient.send(
                port: server.port,
                method: "GET",
                RequestPaths.events(system: system, ranges: query),
                headers: ["Origin": "https://example.org"]
            )
            #expect(fromBrowser.headers["access-control-allow-origin"] == "*")
            #expect(fromBrowser.bytes == eventsResponse.bytes)
            let stored = try fetched.events.map { try VerifiedEvent($0) }
            #expect(Set(stored.map(\.logicalClock)) == [1, 2, 4, 5, 6])
            #expect(Set(stored) == Set(events.filter { $0.logicalClock != 3 }))

            // Latest username; heads.
            let (latest, _) = try await server.get(
                RequestPaths.queryLatest(system: system, contentTypes: [.username, .description]),
                as: Userpackage_Events.self
            )
            #expect(try latest.events.map { try VerifiedEvent($0) } == [events[1]])
            let (heads, _) = try await server.get(RequestPaths.head(system: system), as: Userpackage_Events.self)
            #expect(try heads.events.map { try VerifiedEvent($0) } == [events[5]])

            // Index of posts: the Delete stands in for the reply, newest first.
            let (index, indexResponse) = try await server.get(
                RequestPaths.queryIndex(system: system, contentType: .post),
                as: Userpackage_QueryIndexResponse.self
            )
            #expect(indexResponse.headers["cache-control"] == Self.immutable)
            #expect(try index.events.map { try VerifiedEvent($0) } == [events[5], events[0]])
            let (older, _) = try await server.get(
                RequestPaths.queryIndex(system: system, contentType: .post, after: 1_700_000_000_002, limit: 5),
                as: Userpackage_QueryIndexResponse.self
            )
            #expect(try older.events.map { try VerifiedEvent($0) } == [events[0]])

            // References to the post: the reply is gone, the like counts.
            var references = Userpackage_QueryReferencesRequest()
            references.reference = events[0].pointer.reference
            references.requestEvents.fromType = ContentType.opinion.rawValue
            var likes = Userpackage_QueryReferencesRequestCountLWWElementReferences()
            likes.value = Data(Opinion.like)
            likes.fromType = ContentType.opinion.rawValue
            var dislikes = likes
            dislikes.value = Data(Opinion.dislike)
            var replies = Userpackage_QueryReferencesRequestCountReferences()
            replies.fromType = ContentType.post.rawValue
            references.countLwwElementReferences = [likes, dislikes]
            references.countReferences = [replies]
            let (answer, referencesResponse) = try await server.get(
                RequestPaths.queryReferences(references),
                as: Userpackage_QueryReferencesResponse.self
            )
            #expect(referencesResponse.headers["cache-control"] == Self.immutable)
            #expect(try answer.items.map { try VerifiedEvent($0.event) } == [events[4]])
            #expect(answer.counts == [1, 0, 0])
            #expect(!answer.hasCursor)

            let version = try await server.get("/version")
            #expect(version.status == 200)
            #expect(version.body.contains("\"sha\""))
            let health = try await server.get("/health")
            #expect(health.status == 200)
            #expect(health.body.contains("\"status\":\"ok\""))
        }
    }

    /// Two processes of one system: a page of the post index comes with, for the process not
    /// on the page, its event just before the page.
    @Test func queryIndexProvesWhatThePageLeavesOut() async throws {
        try await Self.withServer { server in
            let key = SystemKeyPair.generate()
            var phone = ProcessLog(key: key)
            var laptop = ProcessLog(key: key)
            let p1 = try phone.post("phone 100", at: 100)
            let l1 = try laptop.post("laptop 200", at: 200)
            let p2 = try phone.post("phone 300", at: 300)
            let l2 = try laptop.post("laptop 400", at: 400)
            let p3 = try phone.post("phone 600", at: 600)
            #expect(try await server.post([p1, l1, p2, l2, p3]).status == 200)
            let (newest, _) = try await server.get(
                RequestPaths.queryIndex(system: key.system, contentType: .post, limit: 1),
                as: Userpackage_QueryIndexResponse.self
            )
            #expect(try newest.events.map { try VerifiedEvent($0) } == [p3])
            #expect(try newest.proof.map { try VerifiedEvent($0) } == [l2])
            let (both, _) = try await server.get(
                RequestPaths.queryIndex(system: key.system, contentType: .post, after: 600, limit: 2),
                as: Userpackage_QueryIndexResponse.self
            )
            #expect(try both.events.map { try VerifiedEvent($0) } == [l2, p2])
            #expect(both.proof.isEmpty)
            let (oldest, _) = try await server.get(
                RequestPaths.queryIndex(system: key.system, contentType: .post, after: 150, limit: 10),
                as: Userpackage_QueryIndexResponse.self
            )
            #expect(try oldest.events.map { try VerifiedEvent($0) } == [p1])
            #expect(oldest.proof.isEmpty)  // the laptop has nothing before 100
        }
    }

    @Test func badSignaturesDuplicatesAndDeletes() async throws {
        try await Self.withServer { server in
            var log = ProcessLog(key: .generate())
            let events = try Self.sixEvents(&log)
            let system = log.key.system

            // One bad signature anywhere rejects the whole batch, and nothing is stored.
            var tampered = events.map(\.signedEvent)
            var signature = [UInt8](tampered[3].signature)
            signature[0] ^= 1
            tampered[3].signature = Data(signature)
            var body = Userpackage_Events()
            body.events = tampered
            let rejected = try await server.post(body.serialized)
            #expect(rejected.status == 400)
            #expect(rejected.body.contains("event 3"))
            #expect(rejected.body.contains("signature"))
            let (empty, _) = try await server.get(RequestPaths.ranges(system: system), as: Userpackage_RangesForSystem.self)
            #expect(empty.rangesForProcesses.isEmpty)

            // Upload twice: the second is a no-op.
            #expect(try await server.post(Array(events[0..<3])).status == 200)
            #expect(try await server.post(Array(events[0..<3])).status == 200)
            let all = Userpackage_RangesForSystem([(log.process, ClockRanges([1...10]))])
            let (first, _) = try await server.get(RequestPaths.events(system: system, ranges: all), as: Userpackage_Events.self)
            #expect(first.events.count == 3)

            // A different event at an existing clock (equivocation) loses to the first one.
            var other = ProcessLog(key: log.key, process: log.process)
            let rival = try other.post("rival at clock 1", at: 1)
            #expect(try await server.post([rival]).status == 200)
            let (slotOne, _) = try await server.get(
                RequestPaths.events(system: system, ranges: Userpackage_RangesForSystem([(log.process, ClockRanges([1...1]))])),
                as: Userpackage_Events.self
            )
            #expect(try slotOne.events.map { try VerifiedEvent($0) } == [events[0]])

            // The delete (clock 6) removes the stored reply (clock 3); re-uploading it is refused
            // silently, and the reference from the reply disappears with it.
            #expect(try await server.post(Array(events[3...])).status == 200)
            #expect(try await server.post([events[2]]).status == 200)
            let (after, _) = try await server.get(RequestPaths.events(system: system, ranges: all), as: Userpackage_Events.self)
            #expect(Set(try after.events.map { try VerifiedEvent($0).logicalClock }) == [1, 2, 4, 5, 6])
            var replies = Userpackage_QueryReferencesRequest()
            replies.reference = events[0].pointer.reference
            replies.requestEvents.fromType = ContentType.post.rawValue
            let (noReplies, _) = try await server.get(
                RequestPaths.queryReferences(replies),
                as: Userpackage_QueryReferencesResponse.self
            )
            #expect(noReplies.items.isEmpty)
            let (ranges, _) = try await server.get(RequestPaths.ranges(system: system), as: Userpackage_RangesForSystem.self)
            #expect(try ranges.clockRanges().first?.ranges == ClockRanges([1...6]))

            // A delete and its target in one batch: the target is never stored.
            var second = ProcessLog(key: .generate())
            let post = try second.post("short-lived")
            let delete = try second.delete(post)
            #expect(try await server.post([post, delete]).status == 200)
            let (secondEvents, _) = try await server.get(
                RequestPaths.events(
                    system: second.key.system,
                    ranges: Userpackage_RangesForSystem([(second.process, ClockRanges([1...2]))])
                ),
                as: Userpackage_Events.self
            )
            #expect(try secondEvents.events.map { try VerifiedEvent($0) } == [delete])
        }
    }

    /// A batch big enough to be verified on all cores (ADR 0026): two bad signatures refuse it
    /// naming the first, with nothing stored; the good batch — posts and a Delete of one of them,
    /// whose content ingest reads from what verification parsed — is stored whole.
    @Test func aLargeBatchIsVerifiedInParallelAndRefusedAtItsFirstBadEvent() async throws {
        try await Self.withServer { server in
            var log = ProcessLog(key: .generate())
            var events: [VerifiedEvent] = []
            for n in 1...40 { events.append(try log.post("parallel batch post \(n)", at: UInt64(n))) }
            events.append(try log.delete(events[4]))
            let system = log.key.system

            var tampered = events.map(\.signedEvent)
            for position in [31, 13] {
                var signature = [UInt8](tampered[position].signature)
                signature[5] ^= 0x40
                tampered[position].signature = Data(signature)
            }
            var body = Userpackage_Events()
            body.events = tampered
            let rejected = try await server.post(body.serialized)
            #expect(rejected.status == 400)
            #expect(rejected.body.contains("event 13"), "\(rejected.body)")
            #expect(!rejected.body.contains("event 31"))
            let (empty, _) = try await server.get(RequestPaths.ranges(system: system), as: Userpackage_RangesForSystem.self)
            #expect(empty.rangesForProcesses.isEmpty)

            #expect(try await server.post(events).status == 200)
            let all = Userpackage_RangesForSystem([(log.process, ClockRanges([1...41]))])
            let (stored, _) = try await server.get(RequestPaths.events(system: system, ranges: all), as: Userpackage_Events.self)
            let clocks = try stored.events.map { try VerifiedEvent($0).logicalClock }
            #expect(Set(clocks) == Set((1...41).filter { $0 != 5 }.map(UInt64.init)))
            #expect(try stored.events.map { try VerifiedEvent($0) }.allSatisfy { events.contains($0) })
        }
    }

    @Test func malformedRequestsGet400WithAMessage() async throws {
        try await Self.withServer { server in
            let system = SystemKeyPair.generate().system
            let cases: [(String, String)] = [
                ("/ranges", "system: missing"),
                ("/ranges?system=***", "system: not base64"),
                ("/ranges?system=AAAA", "system"),
                ("/ranges?system=" + Base64.encode(Userpackage_PublicKey.ed25519([1, 2, 3]).serialized, .urlSafe), "32 bytes"),
                ("/events?system=\(system.queryID)", "ranges: missing"),
                ("/events?system=\(system.queryID)&ranges=_w", "ranges"),
                ("/query_latest?system=\(system.queryID)&event_types=%%", "event_types"),
                ("/query_index?system=\(system.queryID)", "content_type: missing"),
                ("/query_index?system=\(system.queryID)&content_type=-1", "content_type"),
                ("/query_index?system=\(system.queryID)&content_type=3&limit=0", "limit"),
                ("/query_references?query=" + Base64.encode([0x0A, 0x02, 0x08, 0x01], .urlSafe), "reference_type"),
                ("/explore?cursor=AAAA", "cursor"),
                ("/search", "search: missing"),
                ("/search?search=x&search_type=people", "search_type"),
                ("/ranges?system=\(system.queryID)&system=\(system.queryID)", "given twice"),
            ]
            for (path, message) in cases {
                let response = try await server.get(path)
                #expect(response.status == 400, "\(path): \(response.status) \(response.body)")
                #expect(response.body.contains(message), "\(path): \(response.body)")
                #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true)
            }
            // Inverted ranges.
            var inverted = Userpackage_RangesForSystem()
            var forProcess = Userpackage_RangesForProcess()
            forProcess.process = .random()
            var range = Userpackage_Range()
            range.low = 5
            range.high = 2
            forProcess.ranges = [range]
            inverted.rangesForProcesses = [forProcess]
            let invertedResponse = try await server.get(
                "/events?system=\(system.queryID)&ranges=\(RequestPaths.parameter(inverted))"
            )
            #expect(invertedResponse.status == 400)
            #expect(invertedResponse.body.contains("inverted"))

            // Bodies that are not Events, or events that break the rules.
            let garbage = try await server.post([0xFF, 0xFF, 0xFF])
            #expect(garbage.status == 400)
            #expect(garbage.body.contains("not valid protobuf"))
            var noIndices = Userpackage_Event()
            let key = SystemKeyPair.generate()
            noIndices.system = key.system
            noIndices.process = .random()
            noIndices.logicalClock = 1
            noIndices.vectorClock = Userpackage_VectorClock()
            var signed = Userpackage_SignedEvent()
            signed.event = Data(noIndices.serialized)
            signed.signature = Data(key.sign(noIndices.serialized))
            var body = Userpackage_Events()
            body.events = [signed]
            let missing = try await server.post(body.serialized)
            #expect(missing.status == 400)
            #expect(missing.body.contains("indices"))

            // Unknown paths and CORS preflight.
            #expect(try await server.get("/nothing").status == 404)
            let preflight = try await HTTPTestClient.send(
                port: server.port,
                method: "OPTIONS",
                "/events",
                headers: ["Origin": "https://example.org", "Access-Control-Request-Method": "POST"]
            )
            #expect(preflight.headers["access-control-allow-origin"] == "*")
            #expect(preflight.headers["access-control-allow-methods"]?.contains("POST") == true)
            #expect(preflight.headers["access-control-allow-headers"]?.lowercased().contains("x-polycentric-user-agent") == true)
            #expect(preflight.headers["access-control-max-age"] == "300")
        }
    }

    @Test func exploreSearchAndClaims() async throws {
        try await Self.withServer { server in
            var alice = ProcessLog(key: .generate())
            var bob = ProcessLog(key: .generate())
            let first = try alice.post("swift servers on debian", at: 1_000)
            let second = try bob.post("postgres full text search", at: 2_000)
            let third = try alice.post("debian packaging notes", at: 3_000)
            let bobName = try bob.set(.username, value: Array("bobby tables".utf8), at: 2_500)
            #expect(try await server.post([first, second, third, bobName]).status == 200)

            let (page, exploreResponse) = try await server.get(
                RequestPaths.explore(limit: 2),
                as: Userpackage_ResultEventsAndRelatedEventsAndCursor.self
            )
            #expect(exploreResponse.headers["cache-control"] == "public, s-maxage=5, max-age=5")
            #expect(try page.resultEvents.events.map { try VerifiedEvent($0) } == [third, second])
            #expect(page.cursor.count == 16)
            let (rest, _) = try await server.get(
                RequestPaths.explore(cursor: [UInt8](page.cursor), limit: 2),
                as: Userpackage_ResultEventsAndRelatedEventsAndCursor.self
            )
            #expect(try rest.resultEvents.events.map { try VerifiedEvent($0) } == [first])

            let (found, searchResponse) = try await server.get(
                RequestPaths.search("debian"),
                as: Userpackage_ResultEventsAndRelatedEventsAndCursor.self
            )
            #expect(searchResponse.headers["cache-control"] == nil)
            #expect(try found.resultEvents.events.map { try VerifiedEvent($0) } == [third, first])
            let (profiles, _) = try await server.get(
                RequestPaths.search("bobby", type: "profiles"),
                as: Userpackage_ResultEventsAndRelatedEventsAndCursor.self
            )
            #expect(try profiles.resultEvents.events.map { try VerifiedEvent($0) } == [bobName])

            // Bob claims a GitHub account; a verifier vouches for it.
            var claim = Userpackage_Claim()
            claim.claimType = 10
            var field = Userpackage_ClaimFieldEntry()
            field.key = 0
            field.value = "bobby-gh"
            claim.claimFields = [field]
            let claimEvent = try bob.append(.claim, content: claim.serialized, unixMilliseconds: 4_000)
            var verifier = ProcessLog(key: .generate())
            let vouch = try verifier.append(.vouch, references: [claimEvent.pointer.reference], unixMilliseconds: 5_000)
            #expect(try await server.post([claimEvent, vouch]).status == 200)

            var resolve = Userpackage_QueryClaimToSystemRequest()
            resolve.claimType = 10
            resolve.trustRoot = verifier.key.system
            resolve.matchAnyField = "bobby-gh"
            let (resolved, _) = try await server.get(
                RequestPaths.resolveClaim(resolve),
                as: Userpackage_QueryClaimToSystemResponse.self
            )
            #expect(resolved.matches.count == 1)
            #expect(try resolved.matches.first.map { try VerifiedEvent($0.claim) } == claimEvent)
            #expect(try resolved.matches.first?.proofChain.map { try VerifiedEvent($0) } == [vouch])
            resolve.trustRoot = alice.key.system
            let (untrusted, _) = try await server.get(
                RequestPaths.resolveClaim(resolve),
                as: Userpackage_QueryClaimToSystemResponse.self
            )
            #expect(untrusted.matches.isEmpty)

            var find = Userpackage_FindClaimAndVouchRequest()
            find.vouchingSystem = verifier.key.system
            find.claimingSystem = bob.key.system
            find.claimType = 10
            find.fields = [field]
            let (pair, findResponse) = try await server.get(
                RequestPaths.findClaimAndVouch(find),
                as: Userpackage_FindClaimAndVouchResponse.self
            )
            #expect(findResponse.headers["cache-control"] == "no-cache")
            #expect(try VerifiedEvent(pair.vouch) == vouch)
            #expect(try VerifiedEvent(pair.claim) == claimEvent)
            find.claimingSystem = alice.key.system
            #expect(try await server.get(RequestPaths.findClaimAndVouch(find)).status == 404)
        }
    }
}
