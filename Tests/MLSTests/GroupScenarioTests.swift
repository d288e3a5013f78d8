import MLS
import Primitives
import Testing

/// An in-memory ordering Delivery Service: one log per group, the first commit of an epoch wins.
struct SimulatedDS {
    struct Entry {
        var message: MLSMessage
        var sender: String
        var isCommit: Bool
    }

    private(set) var log: [Entry] = []
    private(set) var epoch: UInt64 = 0

    /// Submits a message that must be accepted.
    mutating func send(_ message: MLSMessage, from sender: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let accepted = self.submit(message, from: sender)
        #expect(accepted, "the DS refused a message from \(sender)", sourceLocation: sourceLocation)
    }

    /// Appends `message` unless it is a commit for an epoch that already ended.
    mutating func submit(_ message: MLSMessage, from sender: String) -> Bool {
        let (epoch, isCommit): (UInt64, Bool)
        switch message {
        case .publicMessage(let m): (epoch, isCommit) = (m.content.epoch, m.content.contentType == .commit)
        case .privateMessage(let m): (epoch, isCommit) = (m.epoch, m.contentType == .commit)
        default: return false
        }
        if isCommit {
            guard epoch == self.epoch else { return false }
            self.epoch += 1
        }
        self.log.append(Entry(message: message, sender: sender, isCommit: isCommit))
        return true
    }
}

/// A simulated client: identity keys and its view of one group.
struct Member {
    let name: String
    let signingKey: SecretBytes
    var group: MLSGroup?
    /// How far into the DS log this member has read.
    var cursor = 0

    static let suite = CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519

    init(_ name: String, suite: CipherSuite = Member.suite) {
        self.name = name
        self.signingKey = suite.signature.generatePrivateKey()
    }

    var credential: Credential { .basic(identity: Array(self.name.utf8)) }

    func keyPackage(suite: CipherSuite = Member.suite) throws -> KeyPackageSecrets {
        try KeyPackage.make(cipherSuite: suite, credential: self.credential, signingKey: self.signingKey)
    }

    /// Reads every new message of the log (its own commits as echoes, skipping its other own
    /// messages, as a client does with its device id); returns the application data received.
    @discardableResult
    mutating func catchUp(_ ds: SimulatedDS) throws -> [String] {
        var received: [String] = []
        while self.cursor < ds.log.count {
            let entry = ds.log[self.cursor]
            self.cursor += 1
            guard self.group!.isActive, entry.sender != self.name || entry.isCommit else { continue }
            if case .application(let data, _, _) = try self.group!.process(entry.message) {
                received.append(String(decoding: data, as: UTF8.self))
            }
        }
        return received
    }

    /// Sends application data.
    mutating func say(_ text: String, _ ds: inout SimulatedDS) throws {
        let message = try self.group!.encrypt(Array(text.utf8))
        let accepted = ds.submit(message, from: self.name)
        #expect(accepted)
    }
}

@Suite struct GroupScenarioTests {
    static func makeGroup(_ creator: inout Member, suite: CipherSuite = Member.suite) throws {
        creator.group = try MLSGroup.create(
            cipherSuite: suite,
            leafNode: try LeafNode.template(credential: creator.credential, signingKey: creator.signingKey, cipherSuite: suite),
            signingKey: creator.signingKey
        )
    }

    @Test(arguments: CipherSuite.all)
    func twoMemberDM(suite: CipherSuite) throws {
        var ds = SimulatedDS()
        var alice = Member("alice", suite: suite)
        let bob = Member("bob", suite: suite)
        try Self.makeGroup(&alice, suite: suite)
        let bobKeys = try bob.keyPackage(suite: suite)

        let result = try alice.group!.addMembers([bobKeys.keyPackage])
        #expect(alice.group!.hasPendingCommit)
        #expect(alice.group!.epoch == 0)  // nothing changes before the echo
        let accepted = ds.submit(result.commit, from: "alice")
        #expect(accepted)
        try alice.catchUp(ds)
        #expect(alice.group!.epoch == 1)
        #expect(!alice.group!.hasPendingCommit)

        var bobMember = bob
        bobMember.group = try MLSGroup(welcome: try #require(result.welcome), keyPackage: bobKeys)
        bobMember.cursor = ds.log.count
        #expect(bobMember.group!.epoch == 1)
        #expect(bobMember.group!.epochAuthenticator == alice.group!.epochAuthenticator)
        #expect(bobMember.group!.members.map(\.leaf) == [0, 1])

        try alice.say("hi bob", &ds)
        try bobMember.say("hi alice", &ds)
        try alice.say("how are you?", &ds)
        #expect(try bobMember.catchUp(ds) == ["hi bob", "how are you?"])
        #expect(try alice.catchUp(ds) == ["hi alice"])
        #expect(
            try alice.group!.export(label: "polychat", context: [1], length: 32)
                == (try bobMember.group!.export(label: "polychat", context: [1], length: 32))
        )
    }

    /// All active members agree on the epoch and its authenticator.
    static func expectInSync(_ members: [Member], _ note: Comment? = nil) {
        let active = members.filter { $0.group?.isActive == true }
        guard let first = active.first else { return }
        for member in active.dropFirst() {
            #expect(member.group!.epoch == first.group!.epoch, note)
            #expect(member.group!.epochAuthenticator == first.group!.epochAuthenticator, "\(member.name) vs \(first.name)")
        }
    }

    /// Ten members: a batch add, messages, removes, Update proposals, and two commits racing in
    /// one epoch — the first one the DS accepts wins, the loser discards its pending commit and
    /// retries.
    @Test func tenMemberRoomWithAddsRemovesUpdatesAndRacingCommits() throws {
        var ds = SimulatedDS()
        var members = (0..<10).map { Member("member\($0)") }
        try Self.makeGroup(&members[0])
        let keys = try (1..<10).map { try members[$0].keyPackage() }
        let add = try members[0].group!.addMembers(keys.map(\.keyPackage))
        #expect(add.outcome.added.count == 9)
        ds.send(add.commit, from: members[0].name)
        try members[0].catchUp(ds)
        for index in 1..<10 {
            members[index].group = try MLSGroup(welcome: try #require(add.welcome), keyPackage: keys[index - 1])
            members[index].cursor = ds.log.count
        }
        Self.expectInSync(members)

        // Everyone talks; everyone else reads.
        for index in 0..<10 { try members[index].say("hello from \(index)", &ds) }
        for index in 0..<10 {
            let heard = try members[index].catchUp(ds)
            #expect(heard == (0..<10).filter { $0 != index }.map { "hello from \($0)" })
        }

        // Member 3 removes members 8 and 9.
        let remove = try members[3].group!.removeMembers([8, 9])
        ds.send(remove.commit, from: members[3].name)
        for index in 0..<10 { try members[index].catchUp(ds) }
        #expect(!members[8].group!.isActive)
        #expect(!members[9].group!.isActive)
        #expect(members[0].group!.members.count == 8)
        Self.expectInSync(members)

        // Members 1 and 2 propose Updates; member 5 commits them by reference.
        for index in [1, 2] {
            let proposal = try members[index].group!.proposeUpdate()
            ds.send(proposal, from: members[index].name)
        }
        for index in 0..<8 { try members[index].catchUp(ds) }
        let updates = try members[5].group!.commitPending()
        #expect(updates.outcome.updated.contains(1) && updates.outcome.updated.contains(2))
        ds.send(updates.commit, from: members[5].name)
        for index in 0..<8 { try members[index].catchUp(ds) }
        Self.expectInSync(members)

        // Members 4 and 6 commit in the same epoch; the DS takes 6's first.
        let epoch = members[0].group!.epoch
        let fromFour = try members[4].group!.update()
        let fromSix = try members[6].group!.update()
        ds.send(fromSix.commit, from: members[6].name)
        let rejected = ds.submit(fromFour.commit, from: members[4].name)  // stale epoch
        #expect(!rejected)
        for index in 0..<8 { try members[index].catchUp(ds) }
        #expect(!members[4].group!.hasPendingCommit)  // discarded when 6's commit arrived
        #expect(members[4].group!.epoch == epoch + 1)
        Self.expectInSync(members)
        // Member 4 retries in the new epoch.
        let retry = try members[4].group!.update()
        ds.send(retry.commit, from: members[4].name)
        for index in 0..<8 { try members[index].catchUp(ds) }
        #expect(members[0].group!.epoch == epoch + 2)
        Self.expectInSync(members)

        for index in 0..<8 { try members[index].say("still here \(index)", &ds) }
        for index in 0..<8 { #expect(try members[index].catchUp(ds).count == 7) }
    }

    /// A member offline for 50 epochs reads the whole backlog in order and ends in sync,
    /// including messages sent in every epoch.
    @Test func memberOfflineForFiftyEpochsCatchesUp() throws {
        var ds = SimulatedDS()
        var alice = Member("alice")
        var bob = Member("bob")
        var carol = Member("carol")
        try Self.makeGroup(&alice)
        let bobKeys = try bob.keyPackage()
        let carolKeys = try carol.keyPackage()
        let add = try alice.group!.addMembers([bobKeys.keyPackage, carolKeys.keyPackage])
        ds.send(add.commit, from: alice.name)
        try alice.catchUp(ds)
        bob.group = try MLSGroup(welcome: add.welcome!, keyPackage: bobKeys)
        carol.group = try MLSGroup(welcome: add.welcome!, keyPackage: carolKeys)
        bob.cursor = ds.log.count
        carol.cursor = ds.log.count

        // Carol goes offline; Alice and Bob take turns committing and talking.
        for round in 0..<50 {
            var committer = round % 2 == 0 ? alice : bob
            let result = try committer.group!.update()
            ds.send(result.commit, from: committer.name)
            try committer.say("round \(round)", &ds)
            if round % 2 == 0 { alice = committer } else { bob = committer }
            try alice.catchUp(ds)
            try bob.catchUp(ds)
        }
        #expect(alice.group!.epoch == 51)
        let backlog = try carol.catchUp(ds)
        #expect(backlog == (0..<50).map { "round \($0)" })
        Self.expectInSync([alice, bob, carol])
    }

    /// A client joins by external commit from a published GroupInfo; members process it.
    @Test(arguments: [CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519, .mls256DHKEMX448ChaCha20Poly1305SHA512Ed448])
    func externalJoin(suite: CipherSuite) throws {
        var ds = SimulatedDS()
        var alice = Member("alice", suite: suite)
        var bob = Member("bob", suite: suite)
        var dave = Member("dave", suite: suite)
        try Self.makeGroup(&alice, suite: suite)
        let bobKeys = try bob.keyPackage(suite: suite)
        let add = try alice.group!.addMembers([bobKeys.keyPackage])
        ds.send(add.commit, from: alice.name)
        try alice.catchUp(ds)
        bob.group = try MLSGroup(welcome: add.welcome!, keyPackage: bobKeys)
        bob.cursor = ds.log.count

        let groupInfo = try alice.group!.groupInfo()
        let (group, commit) = try MLSGroup.joinExternally(
            groupInfo: groupInfo,
            leafNode: try LeafNode.template(credential: dave.credential, signingKey: dave.signingKey, cipherSuite: suite),
            signingKey: dave.signingKey
        )
        ds.send(commit, from: dave.name)
        dave.group = group
        dave.cursor = ds.log.count
        try alice.catchUp(ds)
        try bob.catchUp(ds)
        Self.expectInSync([alice, bob, dave])
        #expect(alice.group!.members.count == 3)

        try dave.say("hello, I let myself in", &ds)
        #expect(try alice.catchUp(ds) == ["hello, I let myself in"])
        #expect(try bob.catchUp(ds) == ["hello, I let myself in"])

        // Resync: Dave rejoins replacing his own leaf.
        let (resynced, resync) = try MLSGroup.joinExternally(
            groupInfo: try bob.group!.groupInfo(),
            leafNode: try LeafNode.template(credential: dave.credential, signingKey: dave.signingKey, cipherSuite: suite),
            signingKey: dave.signingKey,
            resync: dave.group!.ownLeaf
        )
        ds.send(resync, from: "dave-again")
        dave.group = resynced
        dave.cursor = ds.log.count
        try alice.catchUp(ds)
        try bob.catchUp(ds)
        Self.expectInSync([alice, bob, dave])
        #expect(alice.group!.members.count == 3)
    }

    /// Group state written to bytes and read back mid-conversation behaves exactly like the
    /// original, including a pending commit, skipped keys and a past epoch's late message.
    @Test func stateSavedAndRestoredMidConversation() throws {
        var ds = SimulatedDS()
        var alice = Member("alice")
        var bob = Member("bob")
        try Self.makeGroup(&alice)
        let bobKeys = try bob.keyPackage()
        let add = try alice.group!.addMembers([bobKeys.keyPackage])
        ds.send(add.commit, from: alice.name)
        try alice.catchUp(ds)
        bob.group = try MLSGroup(welcome: add.welcome!, keyPackage: bobKeys)
        bob.cursor = ds.log.count

        try alice.say("one", &ds)
        try alice.say("two", &ds)
        let late = try alice.group!.encrypt(Array("late".utf8))  // delivered after the next commit
        try alice.say("three", &ds)
        #expect(try bob.catchUp(ds) == ["one", "two", "three"])

        // Bob commits; before the echo, both save their state.
        let update = try bob.group!.update()
        ds.send(update.commit, from: bob.name)
        let bobBytes = bob.group!.serialized()
        let aliceBytes = alice.group!.serialized()
        #expect(bobBytes.starts(with: Array("PGMLSG".utf8)))
        var bobRestored = bob
        bobRestored.group = try MLSGroup(serialized: bobBytes)
        var aliceRestored = alice
        aliceRestored.group = try MLSGroup(serialized: aliceBytes)
        #expect(bobRestored.group!.hasPendingCommit)
        #expect(bobRestored.group!.serialized() == bobBytes)

        try bobRestored.catchUp(ds)
        try aliceRestored.catchUp(ds)
        Self.expectInSync([aliceRestored, bobRestored])
        #expect(aliceRestored.group!.epoch == 2)
        // The late message from epoch 1 still decrypts from the kept past epoch.
        guard case .application(let data, _, _) = try bobRestored.group!.process(late) else {
            Issue.record("the late message did not decrypt")
            return
        }
        #expect(data == Array("late".utf8))
        try aliceRestored.say("after restore", &ds)
        #expect(try bobRestored.catchUp(ds) == ["after restore"])
    }

    @Test func damagedOrForeignStateIsRefused() throws {
        var alice = Member("alice")
        try Self.makeGroup(&alice)
        let bytes = alice.group!.serialized()
        let newerFormat: [UInt8] = Array("PGMLSG".utf8) + [0, 9] + Array(bytes.dropFirst(8))
        let damaged: [[UInt8]] = [Array(bytes.prefix(bytes.count / 2)), bytes + [0], newerFormat, [1, 2, 3]]
        for bad in damaged {
            #expect(throws: MLSError.self) { try MLSGroup(serialized: bad) }
        }
        let restored = try MLSGroup(serialized: bytes)
        #expect(restored.epochAuthenticator == alice.group!.epochAuthenticator)
    }
}
