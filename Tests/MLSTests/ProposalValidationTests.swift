import MLS
import Primitives
import Testing

/// Proposal-list rules (RFC 9420 §12.2) and commit discipline, each failing with its own code.
@Suite struct ProposalValidationTests {
    /// Alice, Bob and Carol in epoch 1, plus the DS log.
    struct Room {
        var ds = SimulatedDS()
        var alice = Member("alice")
        var bob = Member("bob")
        var carol = Member("carol")

        init() throws {
            try GroupScenarioTests.makeGroup(&self.alice)
            let bobKeys = try self.bob.keyPackage()
            let carolKeys = try self.carol.keyPackage()
            let add = try self.alice.group!.addMembers([bobKeys.keyPackage, carolKeys.keyPackage])
            self.ds.send(add.commit, from: "alice")
            try self.alice.catchUp(self.ds)
            self.bob.group = try MLSGroup(welcome: add.welcome!, keyPackage: bobKeys)
            self.carol.group = try MLSGroup(welcome: add.welcome!, keyPackage: carolKeys)
            self.bob.cursor = self.ds.log.count
            self.carol.cursor = self.ds.log.count
        }

        mutating func sync() throws {
            try self.alice.catchUp(self.ds)
            try self.bob.catchUp(self.ds)
            try self.carol.catchUp(self.ds)
        }
    }

    static func expectCode(_ code: MLSError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as MLSError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected MLSError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func committerMayNotRemoveItselfOrCommitItsOwnUpdateByValue() throws {
        var room = try Room()
        Self.expectCode(.committerChangesItself) { _ = try room.alice.group!.removeMembers([0]) }
        var leaf = room.alice.group!.tree.leaf(0)!
        leaf.source = .update
        Self.expectCode(.committerChangesItself) {
            _ = try room.alice.group!.commitPending(proposals: [.update(.init(leafNode: leaf))])
        }
        #expect(!room.alice.group!.hasPendingCommit)  // nothing is left half-done
    }

    @Test func conflictingAndDuplicateProposalsAreRefused() throws {
        var room = try Room()
        Self.expectCode(.conflictingProposals) { _ = try room.alice.group!.removeMembers([1, 1]) }
        Self.expectCode(.invalidProposal) { _ = try room.alice.group!.removeMembers([7]) }
        let dave = Member("dave")
        let daveKeys = try dave.keyPackage()
        Self.expectCode(.conflictingProposals) {
            _ = try room.alice.group!.addMembers([daveKeys.keyPackage, daveKeys.keyPackage])
        }
        // Bob's signature key again: a client already in the group.
        let bobAgain = try KeyPackage.make(
            cipherSuite: Member.suite,
            credential: room.bob.credential,
            signingKey: room.bob.signingKey
        )
        Self.expectCode(.conflictingProposals) { _ = try room.alice.group!.addMembers([bobAgain.keyPackage]) }
        let gce = Proposal.groupContextExtensions(.init(extensions: []))
        Self.expectCode(.duplicateProposal) { _ = try room.alice.group!.commitPending(proposals: [gce, gce]) }
        let psk = Proposal.preSharedKey(
            .init(psk: PreSharedKeyID(kind: .external(pskID: [1]), nonce: [UInt8](repeating: 0, count: 32)))
        )
        room.alice.group!.addExternalPSK(id: [1], secret: SecretBytes([9]))
        Self.expectCode(.duplicateProposal) { _ = try room.alice.group!.commitPending(proposals: [psk, psk]) }
        let shortNonce = Proposal.preSharedKey(.init(psk: PreSharedKeyID(kind: .external(pskID: [1]), nonce: [1])))
        Self.expectCode(.invalidProposal) { _ = try room.alice.group!.commitPending(proposals: [shortNonce]) }
        let reinitPSK = Proposal.preSharedKey(
            .init(
                psk: PreSharedKeyID(
                    kind: .resumption(usage: .reinit, groupID: room.alice.group!.groupID, epoch: 1),
                    nonce: [UInt8](repeating: 0, count: 32)
                )
            )
        )
        Self.expectCode(.invalidProposal) { _ = try room.alice.group!.commitPending(proposals: [reinitPSK]) }
        let unknownPSK = Proposal.preSharedKey(
            .init(psk: PreSharedKeyID(kind: .external(pskID: [2]), nonce: [UInt8](repeating: 0, count: 32)))
        )
        Self.expectCode(.unknownPSK) { _ = try room.alice.group!.commitPending(proposals: [unknownPSK]) }
    }

    /// A correctly signed KeyPackage of a new client that reuses an encryption key already in
    /// the tree (or one an earlier Add in the same commit brings) is refused.
    /// With a clock, a KeyPackage out of its lifetime is not added; with a maximum total
    /// lifetime (RFC 9420 §7.2), neither is one that lives longer (issue 15: polychat's groups
    /// had no clock and added expired KeyPackages; nothing checked a maximum).
    @Test func keyPackageLifetimesAreCheckedAgainstTheClockAndTheMaximum() throws {
        var room = try Room()
        let now: UInt64 = 1_800_000_000
        room.alice.group!.configuration.now = { now }
        room.alice.group!.configuration.maxKeyPackageLifetime = 90 * 86_400
        let dave = Member("dave")
        func keyPackage(_ notBefore: UInt64, _ notAfter: UInt64) throws -> KeyPackage {
            try KeyPackage.make(
                cipherSuite: Member.suite,
                credential: dave.credential,
                signingKey: dave.signingKey,
                lifetime: Lifetime(notBefore: notBefore, notAfter: notAfter)
            ).keyPackage
        }
        Self.expectCode(.invalidKeyPackage) {
            _ = try room.alice.group!.addMembers([try keyPackage(now - 100 * 86_400, now - 10 * 86_400)])
        }
        Self.expectCode(.invalidKeyPackage) { _ = try room.alice.group!.addMembers([try keyPackage(now + 3600, now + 86_400)]) }
        Self.expectCode(.invalidKeyPackage) { _ = try room.alice.group!.addMembers([try keyPackage(0, UInt64.max)]) }
        Self.expectCode(.invalidKeyPackage) {
            _ = try room.alice.group!.addMembers([try keyPackage(now - 86_400, now + 89 * 86_400 + 1)])
        }
        #expect(!room.alice.group!.hasPendingCommit)
        // Exactly the maximum, around now: added.
        _ = try room.alice.group!.addMembers([try keyPackage(now - 86_400, now + 89 * 86_400)])
        #expect(room.alice.group!.hasPendingCommit)
    }

    @Test func addsMayNotReuseEncryptionKeys() throws {
        var room = try Room()
        let crypto = MLSCrypto(suite: Member.suite)
        func keyPackage(_ member: Member, encryptionKey: [UInt8]) throws -> KeyPackage {
            var keyPackage = try member.keyPackage().keyPackage
            keyPackage.leafNode.encryptionKey = encryptionKey
            try keyPackage.leafNode.sign(privateKey: member.signingKey, crypto: crypto, groupID: [], leafIndex: 0)
            keyPackage.signature = try crypto.signWithLabel(
                privateKey: member.signingKey,
                label: "KeyPackageTBS",
                content: keyPackage.toBeSigned
            )
            return keyPackage
        }
        let bobsKey = room.alice.group!.tree.leaf(1)!.encryptionKey
        let dave = Member("dave")
        Self.expectCode(.duplicateKey) { _ = try room.alice.group!.addMembers([try keyPackage(dave, encryptionKey: bobsKey)]) }

        let daveKeys = try dave.keyPackage()
        let erin = try keyPackage(Member("erin"), encryptionKey: daveKeys.keyPackage.leafNode.encryptionKey)
        Self.expectCode(.duplicateKey) { _ = try room.alice.group!.addMembers([daveKeys.keyPackage, erin]) }
        #expect(!room.alice.group!.hasPendingCommit)

        // The same two newcomers with their own keys are fine.
        let add = try room.alice.group!.addMembers([daveKeys.keyPackage, try Member("erin").keyPackage().keyPackage])
        room.ds.send(add.commit, from: "alice")
        try room.sync()
        #expect(room.bob.group!.tree.occupiedLeaves.count == 5)
    }

    @Test func reinitMustBeAloneAndExternalInitOnlyExternal() throws {
        var room = try Room()
        let reinit = Proposal.reinit(.init(groupID: [1, 2, 3], version: MLSCode.mls10, cipherSuite: 1, extensions: []))
        Self.expectCode(.misplacedProposal) {
            _ = try room.alice.group!.commitPending(proposals: [reinit, .remove(.init(removed: 1))])
        }
        Self.expectCode(.misplacedProposal) {
            _ = try room.alice.group!.commitPending(proposals: [.externalInit(.init(kemOutput: [1]))])
        }
        // A ReInit alone closes the group for everyone once committed.
        let result = try room.alice.group!.commitPending(proposals: [reinit])
        #expect(result.outcome.reinit?.groupID == [1, 2, 3])
        room.ds.send(result.commit, from: "alice")
        try room.sync()
        #expect(!room.alice.group!.isActive)
        #expect(!room.bob.group!.isActive)
        Self.expectCode(.invalidState) { _ = try room.bob.group!.encrypt([1]) }
    }

    @Test func pendingCommitDiscipline() throws {
        var room = try Room()
        let first = try room.alice.group!.update()
        Self.expectCode(.invalidState) { _ = try room.alice.group!.update() }  // one pending at a time
        room.alice.group!.discardPendingCommit()
        #expect(!room.alice.group!.hasPendingCommit)
        let second = try room.alice.group!.update()
        // The discarded commit is not ours any more: receiving it is an error, not an echo.
        room.ds.send(first.commit, from: "alice-old")
        Self.expectCode(.invalidState) { try room.alice.catchUp(room.ds) }
        // Bob and Carol follow the first commit (the DS accepted it); Alice must restart from it.
        try room.bob.catchUp(room.ds)
        try room.carol.catchUp(room.ds)
        #expect(room.bob.group!.epoch == 2)
        _ = second
    }

    @Test func groupContextExtensionsAndResumptionPSKsAreCommittedAndFollowed() throws {
        var room = try Room()
        // Require basic credentials of every member (all have them).
        let required = RequiredCapabilities(extensionTypes: [], proposalTypes: [], credentialTypes: [MLSCode.Credential.basic])
        let gce = try room.bob.group!.commitPending(
            proposals: [
                .groupContextExtensions(
                    .init(extensions: [Extension(type: MLSCode.Extension.requiredCapabilities, data: required.encoded)])
                )
            ]
        )
        room.ds.send(gce.commit, from: "bob")
        try room.sync()
        #expect(room.alice.group!.context.extensions.count == 1)
        GroupScenarioTests.expectInSync([room.alice, room.bob, room.carol])

        // A newcomer without basic credentials cannot be added any more.
        let x509Only = Capabilities(
            versions: [1],
            cipherSuites: [1],
            extensions: [],
            proposals: [],
            credentials: [MLSCode.Credential.x509]
        )
        let eve = Member("eve")
        let eveKeys = try KeyPackage.make(
            cipherSuite: Member.suite,
            credential: .x509(certificates: [[0x30]]),
            signingKey: eve.signingKey,
            capabilities: x509Only
        )
        Self.expectCode(.unsupportedCapability) { _ = try room.alice.group!.addMembers([eveKeys.keyPackage]) }

        // Carol injects the resumption PSK of epoch 1 and an external PSK all three hold.
        for index in 0..<3 {
            switch index {
            case 0: room.alice.group!.addExternalPSK(id: Array("shared".utf8), secret: SecretBytes([42]))
            case 1: room.bob.group!.addExternalPSK(id: Array("shared".utf8), secret: SecretBytes([42]))
            default: room.carol.group!.addExternalPSK(id: Array("shared".utf8), secret: SecretBytes([42]))
            }
        }
        let groupID = room.carol.group!.groupID
        let psks: [Proposal] = [
            .preSharedKey(
                .init(
                    psk: PreSharedKeyID(
                        kind: .resumption(usage: .application, groupID: groupID, epoch: 1),
                        nonce: SecureRandom.bytes(count: 32)
                    )
                )
            ),
            .preSharedKey(
                .init(psk: PreSharedKeyID(kind: .external(pskID: Array("shared".utf8)), nonce: SecureRandom.bytes(count: 32)))
            ),
        ]
        let commit = try room.carol.group!.commitPending(proposals: psks)
        room.ds.send(commit.commit, from: "carol")
        try room.sync()
        #expect(room.alice.group!.epoch == 3)
        GroupScenarioTests.expectInSync([room.alice, room.bob, room.carol])
    }

    @Test func externalProposalsNeedAnExternalSenderAndPublicMessages() throws {
        var room = try Room()
        // An Add proposed by the joiner itself (new_member_proposal), committed by reference.
        var dave = Member("dave")
        let daveKeys = try dave.keyPackage()
        let content = FramedContent(
            groupID: room.alice.group!.groupID,
            epoch: room.alice.group!.epoch,
            sender: .newMemberProposal,
            authenticatedData: [],
            body: .proposal(.add(.init(keyPackage: daveKeys.keyPackage)))
        )
        let signed = try AuthenticatedContent.sign(
            wireFormat: .publicMessage,
            content: content,
            signaturePrivateKey: dave.signingKey,
            context: room.alice.group!.context,
            crypto: MLSCrypto(suite: Member.suite)
        )
        room.ds.send(.publicMessage(PublicMessage(content: content, auth: signed.auth, membershipTag: nil)), from: "dave")
        try room.sync()
        let commit = try room.bob.group!.commitPending()
        #expect(commit.outcome.added.count == 1)
        room.ds.send(commit.commit, from: "bob")
        try room.sync()
        dave.group = try MLSGroup(welcome: commit.welcome!, keyPackage: daveKeys)
        GroupScenarioTests.expectInSync([room.alice, room.bob, room.carol, dave])

        // An "external" sender without the external_senders extension is refused.
        var forged = content
        forged.epoch = room.alice.group!.epoch
        forged.sender = .external(senderIndex: 0)
        let forgedSigned = try AuthenticatedContent.sign(
            wireFormat: .publicMessage,
            content: forged,
            signaturePrivateKey: dave.signingKey,
            context: room.alice.group!.context,
            crypto: MLSCrypto(suite: Member.suite)
        )
        Self.expectCode(.invalidSender) {
            _ = try room.alice.group!.process(
                .publicMessage(PublicMessage(content: forged, auth: forgedSigned.auth, membershipTag: nil))
            )
        }
    }
}
