import MLS
import Primitives

/// `message-protection.json`: PublicMessage/PrivateMessage unprotect of the given messages, then
/// protect + unprotect round trips, for a proposal, a commit and application data.
enum MessageProtectionCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let group_id: HexBytes
        let epoch: UInt64
        let tree_hash: HexBytes
        let confirmed_transcript_hash: HexBytes
        let signature_priv: HexBytes
        let signature_pub: HexBytes
        let encryption_secret: HexBytes
        let sender_data_secret: HexBytes
        let membership_key: HexBytes
        let proposal: HexBytes
        let proposal_priv: HexBytes
        let proposal_pub: HexBytes
        let commit: HexBytes
        let commit_priv: HexBytes
        let commit_pub: HexBytes
        let application: HexBytes
        let application_priv: HexBytes
    }

    static let senderLeaf: UInt32 = 1

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        let context = GroupContext(
            cipherSuite: e.cipher_suite,
            groupID: e.group_id.bytes,
            epoch: e.epoch,
            treeHash: e.tree_hash.bytes,
            confirmedTranscriptHash: e.confirmed_transcript_hash.bytes,
            extensions: []
        )
        let keys = Keys(
            crypto: crypto,
            context: context,
            membershipKey: SecretBytes(e.membership_key.bytes),
            senderDataSecret: SecretBytes(e.sender_data_secret.bytes),
            encryptionSecret: SecretBytes(e.encryption_secret.bytes),
            signaturePrivate: SecretBytes(e.signature_priv.bytes),
            signaturePublic: e.signature_pub.bytes
        )

        let proposal = try check("decode proposal") { try Proposal.decode(e.proposal.bytes) }
        let commit = try check("decode commit") { try Commit.decode(e.commit.bytes) }
        let cases: [(String, FramedContent.Body, HexBytes?, HexBytes)] = [
            ("proposal", .proposal(proposal), e.proposal_pub, e.proposal_priv),
            ("commit", .commit(commit), e.commit_pub, e.commit_priv),
            ("application", .application(e.application.bytes), nil, e.application_priv),
        ]
        for (name, body, publicBytes, privateBytes) in cases {
            if let publicBytes {
                let received = try keys.unprotect(publicBytes.bytes, name: "\(name)_pub")
                try expectEqual(received.content.body, body, "\(name)_pub content")
            }
            let received = try keys.unprotect(privateBytes.bytes, name: "\(name)_priv")
            try expectEqual(received.content.body, body, "\(name)_priv content")

            // Our own protection, then unprotection.
            let tag: [UInt8]? = body.contentType == .commit ? crypto.mac(key: [1, 2, 3], data: [4]) : nil
            for wireFormat in [WireFormat.publicMessage, .privateMessage]
            where !(wireFormat == .publicMessage && body.contentType == .application) {
                let message = try keys.protect(body, wireFormat: wireFormat, confirmationTag: tag)
                let back = try keys.unprotect(message.encoded, name: "\(name) round trip \(wireFormat)")
                try expectEqual(back.content.body, body, "\(name) round trip \(wireFormat)")
            }
        }
        // Application data may not travel as a PublicMessage.
        do {
            _ = try keys.protect(.application(e.application.bytes), wireFormat: .publicMessage, confirmationTag: nil)
            throw VectorFailure("application data was accepted as a PublicMessage")
        } catch let error as MLSError where error.code == .invalidContentType {}
    }

    struct Keys {
        let crypto: MLSCrypto
        let context: GroupContext
        let membershipKey: SecretBytes
        let senderDataSecret: SecretBytes
        let encryptionSecret: SecretBytes
        let signaturePrivate: SecretBytes
        let signaturePublic: [UInt8]

        func unprotect(_ bytes: [UInt8], name: String) throws -> AuthenticatedContent {
            let message = try check("decode \(name)") { try MLSMessage.decode(bytes) }
            try expectEqual(message.encoded, bytes, "\(name) re-encoding")
            switch message {
            case .publicMessage(let m):
                return try m.unprotect(
                    membershipKey: self.membershipKey,
                    context: self.context,
                    signaturePublicKey: self.signaturePublic,
                    crypto: self.crypto
                )
            case .privateMessage(let m):
                var tree = SecretTree(crypto: self.crypto, encryptionSecret: self.encryptionSecret, leafCount: 2)
                return try m.unprotect(
                    secretTree: &tree,
                    senderDataSecret: self.senderDataSecret,
                    context: self.context,
                    crypto: self.crypto,
                    signaturePublicKey: { $0 == MessageProtectionCheck.senderLeaf ? self.signaturePublic : nil }
                )
            default:
                throw VectorFailure("\(name) is a \(message.wireFormat), not a framed message")
            }
        }

        func protect(_ body: FramedContent.Body, wireFormat: WireFormat, confirmationTag: [UInt8]?) throws -> MLSMessage {
            let content = FramedContent(
                groupID: self.context.groupID,
                epoch: self.context.epoch,
                sender: .member(leafIndex: MessageProtectionCheck.senderLeaf),
                authenticatedData: Array("aad".utf8),
                body: body
            )
            let authenticated = try AuthenticatedContent.sign(
                wireFormat: wireFormat,
                content: content,
                signaturePrivateKey: self.signaturePrivate,
                context: self.context,
                confirmationTag: confirmationTag,
                crypto: self.crypto
            )
            if wireFormat == .publicMessage {
                return .publicMessage(
                    try PublicMessage.protect(
                        authenticated,
                        membershipKey: self.membershipKey,
                        context: self.context,
                        crypto: self.crypto
                    )
                )
            }
            var tree = SecretTree(crypto: self.crypto, encryptionSecret: self.encryptionSecret, leafCount: 2)
            return .privateMessage(
                try PrivateMessage.protect(
                    authenticated,
                    secretTree: &tree,
                    senderDataSecret: self.senderDataSecret,
                    crypto: self.crypto,
                    paddingSize: 7
                )
            )
        }
    }
}

/// `messages.json`: every structure decodes and re-encodes byte for byte.
enum MessagesCheck {
    struct Entry: Decodable {
        let mls_welcome: HexBytes
        let mls_group_info: HexBytes
        let mls_key_package: HexBytes
        let ratchet_tree: HexBytes
        let group_secrets: HexBytes
        let add_proposal: HexBytes
        let update_proposal: HexBytes
        let remove_proposal: HexBytes
        let pre_shared_key_proposal: HexBytes
        let re_init_proposal: HexBytes
        let external_init_proposal: HexBytes
        let group_context_extensions_proposal: HexBytes
        let commit: HexBytes
        let public_message_application: HexBytes
        let public_message_proposal: HexBytes
        let public_message_commit: HexBytes
        let private_message: HexBytes
    }

    static func run(_ e: Entry) throws {
        try roundTrip(MLSMessage.self, e.mls_welcome, "mls_welcome", wireFormat: .welcome)
        try roundTrip(MLSMessage.self, e.mls_group_info, "mls_group_info", wireFormat: .groupInfo)
        try roundTrip(MLSMessage.self, e.mls_key_package, "mls_key_package", wireFormat: .keyPackage)
        try roundTrip(RatchetTreeNodes.self, e.ratchet_tree, "ratchet_tree")
        try roundTrip(GroupSecrets.self, e.group_secrets, "group_secrets")
        try roundTrip(Proposal.Add.self, e.add_proposal, "add_proposal")
        try roundTrip(Proposal.Update.self, e.update_proposal, "update_proposal")
        try roundTrip(Proposal.Remove.self, e.remove_proposal, "remove_proposal")
        try roundTrip(Proposal.PreSharedKey.self, e.pre_shared_key_proposal, "pre_shared_key_proposal")
        try roundTrip(Proposal.ReInit.self, e.re_init_proposal, "re_init_proposal")
        try roundTrip(Proposal.ExternalInit.self, e.external_init_proposal, "external_init_proposal")
        try roundTrip(
            Proposal.GroupContextExtensions.self,
            e.group_context_extensions_proposal,
            "group_context_extensions_proposal"
        )
        try roundTrip(Commit.self, e.commit, "commit")
        try roundTrip(MLSMessage.self, e.public_message_application, "public_message_application", wireFormat: .publicMessage)
        try roundTrip(MLSMessage.self, e.public_message_proposal, "public_message_proposal", wireFormat: .publicMessage)
        try roundTrip(MLSMessage.self, e.public_message_commit, "public_message_commit", wireFormat: .publicMessage)
        try roundTrip(MLSMessage.self, e.private_message, "private_message", wireFormat: .privateMessage)
    }

    private static func roundTrip<T: MLSCodable>(
        _ type: T.Type,
        _ hex: HexBytes,
        _ name: String,
        wireFormat: WireFormat? = nil
    ) throws {
        let value = try check("decode \(name)") { try T.decode(hex.bytes) }
        try expectEqual(value.encoded, hex.bytes, "\(name) re-encoding")
        if let wireFormat, let message = value as? MLSMessage {
            try expectEqual(message.wireFormat, wireFormat, "\(name) wire format")
        }
    }
}
