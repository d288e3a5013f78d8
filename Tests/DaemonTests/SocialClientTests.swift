import Polycentric
import PolycentricClient
import TestSupport
import Testing

/// `SocialAccount` and `PolycentricServer` against the real `polygated`.
@Suite struct SocialClientTests {
    @Test func twoUsersPostFollowSyncAndReadTheirFeed() async throws {
        try await SocialAPITests.withServer { running in
            let server = try PolycentricServer(baseURL: "http://127.0.0.1:\(running.port)/", userAgent: "polygate-tests")
            var alice = SocialAccount.create()
            var bob = SocialAccount.create()
            try alice.setUsername("alice", at: 1_000)
            try alice.setDescription("writes about Debian", at: 1_001)
            let hello = try alice.post("hello from alice", at: 2_000)
            let second = try alice.post("second post", at: 3_000)
            let oops = try alice.post("oops", at: 4_000)
            try bob.setUsername("bob", at: 1_500)
            try bob.follow(alice.system, at: 5_000)
            let bobReply = try bob.post("welcome!", replyTo: hello, at: 5_500)
            try bob.like(hello, at: 5_600)

            // 21 events for alice's first sync needs two POSTs of at most 20.
            var fillers: [VerifiedEvent] = []
            for n in 0..<16 { fillers.append(try alice.post("filler \(n)", at: 100 + UInt64(n))) }
            #expect(try await alice.sync(to: server) == 21)
            #expect(try await bob.sync(to: server) == 4)
            #expect(try await alice.sync(to: server) == 0)  // nothing missing any more

            // Bob's feed: the systems he follows, newest first.
            #expect(bob.following.map(\.key) == [alice.system.key])
            let feed = try await SocialAccount.feed(of: bob.following, from: server, limit: 3)
            #expect(feed == [oops, second, hello])
            let profile = try await SocialAccount.profile(of: alice.system, from: server)
            #expect(profile.username == "alice")
            #expect(profile.description == "writes about Debian")

            // Alice deletes a post; after her next sync it leaves Bob's feed.
            try alice.delete(oops, at: 6_000)
            #expect(try await alice.sync(to: server) == 1)
            #expect(try await SocialAccount.feed(of: bob.following, from: server, limit: 3) == [second, hello, fillers[15]])

            // Replies and likes on alice's first post.
            var query = Userpackage_QueryReferencesRequest()
            query.reference = hello.pointer.reference
            query.requestEvents.fromType = ContentType.post.rawValue
            var likes = Userpackage_QueryReferencesRequestCountLWWElementReferences()
            likes.value = .init(Opinion.like)
            likes.fromType = ContentType.opinion.rawValue
            query.countLwwElementReferences = [likes]
            let references = try await server.references(query)
            #expect(references.items.map(\.event) == [bobReply])
            #expect(references.counts == [1])

            // Unfollow: nobody is followed any more.
            try bob.unfollow(alice.system, at: 7_000)
            #expect(bob.following.isEmpty)

            // Alice on a new device: import her export, download her log from the server.
            var laptop = try SocialAccount(importing: alice.exportBundle())
            #expect(laptop.system == alice.system)
            #expect(laptop.log.process != alice.log.process)
            var fresh = SocialAccount(key: alice.key)
            try await fresh.download(from: server)
            #expect(Set(fresh.events.values) == Set(alice.events.values))
            #expect(fresh.username == "alice")
            try laptop.post("from the laptop")
            #expect(try await laptop.sync(to: server) == 1)
        }
    }

    @Test func serverErrorsAreTyped() async throws {
        #expect(throws: ServerError.self) { try PolycentricServer(baseURL: "ftp://example.org") }
        let port = TestEnvironment.freePort()
        let nobody = try PolycentricServer(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(5))
        let error = await #expect(throws: ServerError.self) { try await nobody.ranges(of: SystemKeyPair.generate().system) }
        #expect(error?.code == .unreachable)
        try await SocialAPITests.withServer { running in
            let server = try PolycentricServer(baseURL: "http://127.0.0.1:\(running.port)")
            var bogus = Userpackage_QueryReferencesRequest()
            bogus.reference.referenceType = 9
            let refused = await #expect(throws: ServerError.self) { try await server.references(bogus) }
            #expect(refused?.code == .status)
            #expect(refused?.status == 400)
            #expect(refused?.message.contains("reference_type") == true)
        }
    }
}
