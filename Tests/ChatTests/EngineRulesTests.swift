import Foundation
import GatewayWire
import MLS
import PolycentricClient
import Primitives
import Testing

@testable import ChatClient

/// Test-only access to an engine's state (the tests' module; nothing in polychat calls it).
extension ChatEngine {
    func insertForTest(_ record: ConversationRecord) { self.state.conversations.append(record) }
    var directoryForTest: [ConversationHint] { self.state.directory ?? [] }
    func rememberForTest(_ users: [String]) { self.rememberContacts(users) }
}

/// polychat's rules that need no server: naming users by prefix, the identity export's
/// conversation directory, KeyPackage renewal, command suggestions.
@Suite struct EngineRulesTests {
    static func engine(_ name: String) async throws -> ChatEngine {
        let directory = StateDirectory(path: scratch(name) + "/state")
        return try await ChatEngine.initialize(
            directory: directory,
            deviceName: name,
            socialURL: "http://127.0.0.1:1",
            gatewayURL: "http://127.0.0.1:1",
            passphrase: nil,
            environment: ["POLYCHAT_HOME": directory.path]
        )
    }

    static func room(
        _ id: String,
        _ name: String,
        kind: ConversationRecord.Kind = .room,
        peer: String? = nil,
        members: [String]
    )
        -> ConversationRecord
    {
        ConversationRecord(
            id: id,
            name: name,
            kind: kind,
            peer: peer,
            group: nil,
            lastSeq: 3,
            messages: [],
            unread: 0,
            left: false,
            members: members
        )
    }

    /// Issue 15: polychat printed 12-character prefixes everywhere but accepted only whole ids.
    @Test func usersAreNamedByAUniquePrefixOfSomeoneKnown() async throws {
        let engine = try await Self.engine("prefix")
        let carol = "c9f44590594c" + String(repeating: "1", count: 52)
        let carl = "c9f4aaaa0000" + String(repeating: "2", count: 52)
        let dave = "d00d" + String(repeating: "3", count: 60)
        await engine.insertForTest(Self.room(String(repeating: "0", count: 64), "team", members: [engine.userID, carol]))
        await engine.rememberForTest([carl, dave])

        #expect(try await engine.resolveUser("c9f44590594c") == Hex.decode(carol).map(UserID.init))
        #expect(try await engine.resolveUser("C9F4459") == Hex.decode(carol).map(UserID.init))
        #expect(try await engine.resolveUser("d00d") == Hex.decode(dave).map(UserID.init))
        // A whole id needs no acquaintance.
        let stranger = String(repeating: "e", count: 64)
        #expect(try await engine.resolveUser(stranger) == Hex.decode(stranger).map(UserID.init))
        for (text, code) in [
            ("c9f4", ChatError.Code.ambiguous), ("abcdef", .notFound), ("c9f", .badArgument), ("zzzz", .notFound),
            ("zz zz", .badArgument),
        ] {
            do {
                _ = try await engine.resolveUser(text)
                Issue.record("\(text) named a user")
            } catch {
                #expect(error.code == code, "\(text): \(error)")
                if code == .ambiguous {
                    #expect(error.message.contains("c9f44590594c") && error.message.contains("c9f4aaaa0000"))
                }
            }
        }
    }

    /// Issue 15: a device made from an export listed its user's rooms by id until another
    /// member came online; the export now carries names, kinds and DM peers.
    @Test func theExportCarriesTheConversationDirectory() async throws {
        let phone = try await Self.engine("export")
        let peer = String(repeating: "b", count: 64)
        await phone.insertForTest(Self.room(String(repeating: "1", count: 64), "family", members: [phone.userID, peer]))
        await phone.insertForTest(
            Self.room(String(repeating: "2", count: 64), "dm", kind: .dm, peer: peer, members: [phone.userID, peer])
        )
        var left = Self.room(String(repeating: "3", count: 64), "old", members: [phone.userID])
        left.left = true
        await phone.insertForTest(left)
        let bytes = try await phone.exportIdentity(passphrase: "pass")
        #expect(Array(bytes.prefix(4)) == Array("PCX2".utf8))
        // Nothing readable without the passphrase.
        #expect(!String(decoding: bytes, as: UTF8.self).contains("family"))
        let export = try ChatEngine.readExport(bytes, passphrase: "pass")
        #expect(export.conversations.map(\.name) == ["family", "dm"])
        #expect(export.conversations.last?.peer == peer)
        #expect(export.conversations.last?.kind == .dm)

        let second = StateDirectory(path: scratch("export2") + "/state")
        let laptop = try await ChatEngine.initialize(
            directory: second,
            deviceName: "laptop",
            socialURL: "http://127.0.0.1:1",
            gatewayURL: "http://127.0.0.1:1",
            passphrase: nil,
            importing: export,
            environment: ["POLYCHAT_HOME": second.path]
        )
        #expect(laptop.userID == phone.userID)
        #expect(
            await laptop.directoryForTest.map(\.id) == [String(repeating: "1", count: 64), String(repeating: "2", count: 64)]
        )
    }

    /// Exports made by polychat before the directory (`PCX1`: the bundle alone) still import.
    @Test func anOlderExportStillImports() async throws {
        let phone = try await Self.engine("pcx1")
        let salt = SecureRandom.bytes(count: PasswordHash.saltSize)
        let vault = Vault(key: try Vault.derive("old", salt), mode: .passphrase)
        let bundle = await phone.social.exportBundle()
        let old = Array("PCX1".utf8) + salt + (try vault.seal(bundle, name: "identity-export"))
        let export = try ChatEngine.readExport(old, passphrase: "old")
        #expect(export.bundle == bundle)
        #expect(export.conversations.isEmpty)
        #expect(throws: ChatError.self) {
            _ = try ChatEngine.readExport(Array("PCX9".utf8) + salt + [1, 2, 3], passphrase: "old")
        }
    }

    /// KeyPackages are published for 60 days and renewed 14 days before they expire; secrets
    /// of expired ones go 30 days after (issue 15: they were published for ever).
    @Test func keyPackagesAreRenewedBeforeTheyExpire() {
        let now: UInt64 = 1_800_000_000
        let day: UInt64 = 86_400
        func plan(_ count: Int, _ lastResort: Bool, _ stored: [(Bool, UInt64?)]) -> ChatEngine.KeyPackagePlan {
            ChatEngine.keyPackagePlan(count: count, hasLastResort: lastResort, stored: stored.map { ($0.0, $0.1) }, now: now)
        }
        let fresh = Array(repeating: (false, Optional(now + 50 * day)), count: 20) + [(true, Optional(now + 50 * day))]
        #expect(plan(20, true, fresh) == .init(upload: 0, lastResort: false, forget: []))
        // A first run: 20 and a last resort.
        #expect(plan(0, false, []) == .init(upload: 20, lastResort: true, forget: []))
        // Claimed down to 10: top up to 20.
        #expect(plan(10, true, Array(fresh.prefix(10)) + [fresh[20]]) == .init(upload: 10, lastResort: false, forget: []))
        // 11 left: not yet.
        #expect(plan(11, true, Array(fresh.prefix(11)) + [fresh[20]]).upload == 0)
        // All 20 expire within the renewal window: replaced although the gateway still counts them.
        let expiring = Array(repeating: (false, Optional(now + 10 * day)), count: 20) + [(true, Optional(now + 10 * day))]
        #expect(plan(20, true, expiring) == .init(upload: 20, lastResort: true, forget: []))
        // Expired more than 30 days ago: forgotten; expired less: kept. Unreadable ones kept.
        let old: [(Bool, UInt64?)] = [(false, now - 31 * day), (false, now - 29 * day), (false, nil), (true, now - 40 * day)]
        #expect(plan(0, false, old).forget == [0, 3])
        // KeyPackages of older polychats (lifetime to the end of time) never count as expiring.
        #expect(plan(20, true, Array(repeating: (false, UInt64.max), count: 20) + [(true, UInt64.max)]).upload == 0)
        // What polychat publishes fits the gateway's and MLS's maximum.
        let lifetime = ChatEngine.lifetime(now: now)
        #expect(lifetime.notBefore < now && lifetime.notAfter > now + 50 * day)
        #expect(lifetime.notAfter - lifetime.notBefore <= ChatEngine.maxKeyPackageLifetime)
    }

    @Test func mistypedCommandsGetSuggestions() {
        let commands = [
            "init", "whoami", "post", "reply", "follow", "unfollow", "feed", "profile", "rooms", "room", "send", "read", "chat",
        ]
        #expect(Suggestion.closest(to: "psot", among: commands) == ["post"])
        #expect(Suggestion.closest(to: "sned", among: commands) == ["send"])
        #expect(Suggestion.closest(to: "frobnicate", among: commands).isEmpty)
        #expect(Suggestion.closest(to: "rom", among: commands).first == "room")
        #expect(Suggestion.distance("", "abc") == 3)
        #expect(Suggestion.distance("ab", "ba") == 1)
    }
}
