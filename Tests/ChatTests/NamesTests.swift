import ChatTerminal
import GatewayWire
import Primitives
import Testing

@testable import ChatClient

extension ChatEngine {
    func publishForTest(_ name: String, of user: String) { self.rememberPublishedName(name, of: user) }
}

/// Names for users (issue 19): petnames given here, names users publish, and how commands
/// resolve `@name`, a name, a prefix or an id — with clear errors when it is not one user.
@Suite struct NamesTests {
    static let carol = "c9f44590594c" + String(repeating: "1", count: 52)
    static let carl = "c9f4aaaa0000" + String(repeating: "2", count: 52)
    static let dave = "d00d" + String(repeating: "3", count: 60)

    static func engine(_ name: String) async throws -> ChatEngine {
        let engine = try await EngineRulesTests.engine(name)
        await engine.rememberForTest([Self.carol, Self.carl, Self.dave])
        return engine
    }

    @Test func aPetnameNamesOneUserEverywhere() async throws {
        let engine = try await Self.engine("petname")
        try await engine.setPetname("cc", for: UserID(Hex.decode(Self.carol)!))
        #expect(try await engine.resolveUser("@cc").hex == Self.carol)
        #expect(try await engine.resolveUser("CC").hex == Self.carol)
        #expect(await engine.label(Self.carol) == "cc (c9f4…)")
        #expect(await engine.label(Self.dave) == String(Self.dave.prefix(12)))
        // A name that reads as an id prefix of someone else still means the petname's user.
        try await engine.setPetname("d00d", for: UserID(Hex.decode(Self.carl)!))
        #expect(try await engine.resolveUser("d00d").hex == Self.carl)
        // One name, one user; names that are not names.
        let taken = await #expect(throws: ChatError.self) {
            try await engine.setPetname("cc", for: UserID(Hex.decode(Self.dave)!))
        }
        #expect(taken?.message.contains("already names cc (c9f4…)") == true)
        for bad in ["", "has space", String(repeating: "x", count: 33), Self.dave] {
            await #expect(throws: ChatError.self) { try await engine.setPetname(bad, for: UserID(Hex.decode(Self.dave)!)) }
        }
        // Cleared, the name no longer resolves.
        try await engine.setPetname(nil, for: UserID(Hex.decode(Self.carol)!))
        let gone = await #expect(throws: ChatError.self) { _ = try await engine.resolveUser("@cc") }
        #expect(gone?.code == .notFound)
    }

    @Test func publishedNamesResolveAndCollisionsAreAmbiguous() async throws {
        let engine = try await Self.engine("published")
        await engine.publishForTest("alice", of: Self.carol)
        #expect(try await engine.resolveUser("@alice").hex == Self.carol)
        #expect(try await engine.resolveUser("alice").hex == Self.carol)
        #expect(await engine.label(Self.carol) == "alice (c9f4…)")
        // Anyone may publish any name: two users called alice are ambiguous, listed by name and id.
        await engine.publishForTest("Alice", of: Self.dave)
        let error = await #expect(throws: ChatError.self) { _ = try await engine.resolveUser("@alice") }
        #expect(error?.code == .ambiguous)
        #expect(error?.message.contains("alice (c9f4…) c9f44590594c") == true)
        #expect(error?.message.contains("Alice (d00d…) d00d33333333") == true)
        // A petname settles it.
        try await engine.setPetname("work-alice", for: UserID(Hex.decode(Self.dave)!))
        #expect(try await engine.resolveUser("@work-alice").hex == Self.dave)
        #expect(await engine.label(Self.dave) == "work-alice (d00d…)")
        // Names and prefixes that say nothing.
        let unknown = await #expect(throws: ChatError.self) { _ = try await engine.resolveUser("@bob") }
        #expect(unknown?.code == .notFound && unknown?.message.contains("polychat contacts name USER bob") == true)
        let junk = await #expect(throws: ChatError.self) { _ = try await engine.resolveUser("bob smith") }
        #expect(junk?.code == .badArgument)
    }

    @Test func aDMIsNamedByItsPeer() async throws {
        let engine = try await Self.engine("dm-name")
        await engine.insertForTest(
            EngineRulesTests.room(String(repeating: "a", count: 32), "dm", kind: .dm, peer: Self.carol, members: [Self.carol])
        )
        try await engine.setPetname("cc", for: UserID(Hex.decode(Self.carol)!))
        #expect(try await engine.conversation(named: "@cc").peer == Self.carol)
        let record = try await engine.conversation(named: "@cc")
        #expect(Listing.conversation(record, peer: await engine.label(Self.carol)).contains("dm with cc (c9f4…)"))
        let none = await #expect(throws: ChatError.self) {
            _ = try await engine.conversation(named: "@\(String(Self.dave.prefix(8)))")
        }
        #expect(none?.code == .notFound)
        // The terminal UI titles the DM by the name given.
        #expect(ChatScreen.title(record, petnames: await engine.petnames) == "@cc")
        #expect(ChatScreen.title(record) == "@\(Listing.short(Self.carol))")
    }
}
