import MLS
import Primitives
import Testing

/// Protection and every way unprotection must fail, each with its own error code.
@Suite struct MessageProtectionTests {
    struct Group {
        let crypto: MLSCrypto
        let context: GroupContext
        let membershipKey = SecretBytes.random(count: 32)
        let senderDataSecret = SecretBytes.random(count: 32)
        let encryptionSecret = SecretBytes.random(count: 32)
        let signingKey: SecretBytes
        let verifyingKey: [UInt8]

        init(suite: CipherSuite = .mls128DHKEMX25519AES128GCMSHA256Ed25519) throws {
            self.crypto = MLSCrypto(suite: suite)
            self.context = GroupContext(
                cipherSuite: suite.id,
                groupID: SecureRandom.bytes(count: 16),
                epoch: 42,
                treeHash: SecureRandom.bytes(count: suite.secretSize),
                confirmedTranscriptHash: SecureRandom.bytes(count: suite.secretSize),
                extensions: []
            )
            self.signingKey = suite.signature.generatePrivateKey()
            self.verifyingKey = try suite.signature.publicKey(for: self.signingKey)
        }

        var tree: SecretTree { SecretTree(crypto: self.crypto, encryptionSecret: self.encryptionSecret, leafCount: 4) }

        func signed(_ body: FramedContent.Body, wireFormat: WireFormat, sender: UInt32 = 2) throws -> AuthenticatedContent {
            let content = FramedContent(
                groupID: self.context.groupID,
                epoch: self.context.epoch,
                sender: .member(leafIndex: sender),
                authenticatedData: [7],
                body: body
            )
            return try AuthenticatedContent.sign(
                wireFormat: wireFormat,
                content: content,
                signaturePrivateKey: self.signingKey,
                context: self.context,
                confirmationTag: body.contentType == .commit ? [1, 2, 3] : nil,
                crypto: self.crypto
            )
        }

        func receive(_ message: PrivateMessage, tree: inout SecretTree) throws -> AuthenticatedContent {
            try message.unprotect(
                secretTree: &tree,
                senderDataSecret: self.senderDataSecret,
                context: self.context,
                crypto: self.crypto,
                signaturePublicKey: { $0 == 2 ? self.verifyingKey : nil }
            )
        }
    }

    static func expectCode(_ code: MLSError.Code, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(code), nothing was thrown")
        } catch let error as MLSError {
            #expect(error.code == code, "\(error)")
        } catch {
            Issue.record("expected MLSError \(code), got \(error)")
        }
    }

    @Test(arguments: CipherSuite.all)
    func privateMessagesRoundTripInEverySuite(suite: CipherSuite) throws {
        let group = try Group(suite: suite)
        var sender = group.tree
        var receiver = group.tree
        for text in ["first", "second", ""] {
            let message = try PrivateMessage.protect(
                try group.signed(.application(Array(text.utf8)), wireFormat: .privateMessage),
                secretTree: &sender,
                senderDataSecret: group.senderDataSecret,
                crypto: group.crypto,
                paddingSize: 16
            )
            let received = try group.receive(message, tree: &receiver)
            #expect(received.content.body == .application(Array(text.utf8)))
            #expect(received.content.authenticatedData == [7])
        }
    }

    @Test func tamperedCiphertextOrSenderDataFailsToDecrypt() throws {
        let group = try Group()
        var sender = group.tree
        let message = try PrivateMessage.protect(
            try group.signed(.application([1, 2, 3]), wireFormat: .privateMessage),
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto
        )
        var flipped = message
        flipped.ciphertext[flipped.ciphertext.count - 1] ^= 1
        Self.expectCode(.decryptionFailed) {
            var tree = group.tree
            _ = try group.receive(flipped, tree: &tree)
        }
        var badSender = message
        badSender.encryptedSenderData[0] ^= 1
        Self.expectCode(.decryptionFailed) {
            var tree = group.tree
            _ = try group.receive(badSender, tree: &tree)
        }
        var otherData = message
        otherData.authenticatedData = [8]
        Self.expectCode(.decryptionFailed) {
            var tree = group.tree
            _ = try group.receive(otherData, tree: &tree)
        }
    }

    @Test func replayIsRefusedAndFarFutureGenerationsToo() throws {
        let group = try Group()
        var sender = group.tree
        var receiver = group.tree
        let first = try PrivateMessage.protect(
            try group.signed(.application([1]), wireFormat: .privateMessage),
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto
        )
        _ = try group.receive(first, tree: &receiver)
        Self.expectCode(.generationConsumed) { _ = try group.receive(first, tree: &receiver) }
        // Out of order within the window works once.
        let second = try PrivateMessage.protect(
            try group.signed(.application([2]), wireFormat: .privateMessage),
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto
        )
        let third = try PrivateMessage.protect(
            try group.signed(.application([3]), wireFormat: .privateMessage),
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto
        )
        #expect(try group.receive(third, tree: &receiver).content.body == .application([3]))
        #expect(try group.receive(second, tree: &receiver).content.body == .application([2]))
        Self.expectCode(.generationConsumed) { _ = try group.receive(second, tree: &receiver) }
        var limited = group.tree
        limited.limits = .init(maximumForwardDistance: 1, maximumSkippedKeys: 8)
        Self.expectCode(.generationTooFar) { _ = try group.receive(third, tree: &limited) }
    }

    @Test func nonZeroPaddingIsMalformed() throws {
        // Encrypt PrivateMessageContent with a non-zero padding byte using the real keys.
        let group = try Group()
        var sender = group.tree
        let authenticated = try group.signed(.application([5]), wireFormat: .privateMessage)
        let good = try PrivateMessage.protect(
            authenticated,
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto,
            paddingSize: 4,
            reuseGuard: [0, 0, 0, 0]
        )
        var keys = group.tree
        let key = try keys.key(leaf: 2, kind: .application, generation: 0)
        var aad = MLSWriter()
        aad.writeOpaque(good.groupID)
        aad.writeUInt64(good.epoch)
        aad.write(good.contentType)
        aad.writeOpaque(good.authenticatedData)
        var plaintext = try group.crypto.suite.aead.open(
            key: key.key.bytes,
            nonce: key.nonce,
            associatedData: aad.bytes,
            ciphertext: good.ciphertext
        )
        plaintext[plaintext.count - 1] = 9
        let ciphertext = try group.crypto.suite.aead.seal(
            key: key.key.bytes,
            nonce: key.nonce,
            associatedData: aad.bytes,
            plaintext: plaintext
        )
        let (sdKey, sdNonce) = try PrivateMessage.senderDataKey(
            senderDataSecret: group.senderDataSecret,
            ciphertext: ciphertext,
            crypto: group.crypto
        )
        var sdAAD = MLSWriter()
        sdAAD.writeOpaque(good.groupID)
        sdAAD.writeUInt64(good.epoch)
        sdAAD.write(good.contentType)
        let senderData = try group.crypto.suite.aead.seal(
            key: sdKey,
            nonce: sdNonce,
            associatedData: sdAAD.bytes,
            plaintext: SenderData(leafIndex: 2, generation: 0, reuseGuard: [0, 0, 0, 0]).encoded
        )
        var bad = good
        bad.ciphertext = ciphertext
        bad.encryptedSenderData = senderData
        Self.expectCode(.invalidPadding) {
            var tree = group.tree
            _ = try group.receive(bad, tree: &tree)
        }
    }

    @Test func wrongGroupEpochAndBlankSenderAreRefused() throws {
        let group = try Group()
        var sender = group.tree
        let message = try PrivateMessage.protect(
            try group.signed(.application([1]), wireFormat: .privateMessage),
            secretTree: &sender,
            senderDataSecret: group.senderDataSecret,
            crypto: group.crypto
        )
        var otherEpoch = message
        otherEpoch.epoch += 1
        Self.expectCode(.wrongEpoch) {
            var tree = group.tree
            _ = try group.receive(otherEpoch, tree: &tree)
        }
        var otherGroup = message
        otherGroup.groupID = [0]
        Self.expectCode(.wrongGroup) {
            var tree = group.tree
            _ = try group.receive(otherGroup, tree: &tree)
        }
        Self.expectCode(.invalidSender) {
            var tree = group.tree
            _ = try message.unprotect(
                secretTree: &tree,
                senderDataSecret: group.senderDataSecret,
                context: group.context,
                crypto: group.crypto,
                signaturePublicKey: { _ in nil }
            )
        }
    }

    @Test func publicMessageMembershipTagAndSignatureAreChecked() throws {
        let group = try Group()
        let proposal = FramedContent.Body.proposal(.remove(.init(removed: 1)))
        let message = try PublicMessage.protect(
            try group.signed(proposal, wireFormat: .publicMessage),
            membershipKey: group.membershipKey,
            context: group.context,
            crypto: group.crypto
        )
        let back = try message.unprotect(
            membershipKey: group.membershipKey,
            context: group.context,
            signaturePublicKey: group.verifyingKey,
            crypto: group.crypto
        )
        #expect(back.content.body == proposal)

        var badTag = message
        badTag.membershipTag![0] ^= 1
        Self.expectCode(.invalidMembershipTag) {
            _ = try badTag.unprotect(
                membershipKey: group.membershipKey,
                context: group.context,
                signaturePublicKey: group.verifyingKey,
                crypto: group.crypto
            )
        }
        Self.expectCode(.invalidMembershipTag) {
            _ = try message.unprotect(
                membershipKey: .random(count: 32),
                context: group.context,
                signaturePublicKey: group.verifyingKey,
                crypto: group.crypto
            )
        }
        // A forged signature with a membership tag that matches it: the signature check catches it.
        var forged = try group.signed(proposal, wireFormat: .publicMessage)
        forged.auth.signature[0] ^= 1
        let forgedMessage = try PublicMessage.protect(
            forged,
            membershipKey: group.membershipKey,
            context: group.context,
            crypto: group.crypto
        )
        Self.expectCode(.invalidSignature) {
            _ = try forgedMessage.unprotect(
                membershipKey: group.membershipKey,
                context: group.context,
                signaturePublicKey: group.verifyingKey,
                crypto: group.crypto
            )
        }
        let otherKey = try group.crypto.suite.signature.publicKey(for: group.crypto.suite.signature.generatePrivateKey())
        Self.expectCode(.invalidSignature) {
            _ = try message.unprotect(
                membershipKey: group.membershipKey,
                context: group.context,
                signaturePublicKey: otherKey,
                crypto: group.crypto
            )
        }
        Self.expectCode(.invalidContentType) {
            _ = try PublicMessage.protect(
                try group.signed(.application([1]), wireFormat: .publicMessage),
                membershipKey: group.membershipKey,
                context: group.context,
                crypto: group.crypto
            )
        }
    }

    @Test func hpkeDecryptionWithTheWrongKeyFails() throws {
        let crypto = MLSCrypto(suite: .mls128DHKEMX25519AES128GCMSHA256Ed25519)
        let (_, publicKey) = try crypto.deriveKeyPair(SecureRandom.bytes(count: 32))
        let (otherPrivate, _) = try crypto.deriveKeyPair(SecureRandom.bytes(count: 32))
        let ciphertext = try crypto.encryptWithLabel(publicKey: publicKey, label: "UpdatePathNode", context: [1], plaintext: [2])
        Self.expectCode(.decryptionFailed) {
            _ = try crypto.decryptWithLabel(
                privateKey: otherPrivate,
                label: "UpdatePathNode",
                context: [1],
                ciphertext: ciphertext
            )
        }
        Self.expectCode(.unsupportedCipherSuite) { _ = try MLSCrypto(suiteID: 8) }
    }
}
