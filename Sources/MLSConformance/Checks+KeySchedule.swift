import MLS
import Primitives

/// `secret-tree.json`: sender-data keys and the handshake/application ratchets.
enum SecretTreeCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let sender_data: SenderData
        let encryption_secret: HexBytes
        let leaves: [[Generation]]

        struct SenderData: Decodable {
            let sender_data_secret: HexBytes
            let ciphertext: HexBytes
            let key: HexBytes
            let nonce: HexBytes
        }
        struct Generation: Decodable {
            let generation: UInt32
            let application_key: HexBytes
            let application_nonce: HexBytes
            let handshake_key: HexBytes
            let handshake_nonce: HexBytes
        }
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        let (key, nonce) = try PrivateMessage.senderDataKey(
            senderDataSecret: SecretBytes(e.sender_data.sender_data_secret.bytes),
            ciphertext: e.sender_data.ciphertext.bytes,
            crypto: crypto
        )
        try expectEqual(key, e.sender_data.key.bytes, "sender data key")
        try expectEqual(nonce, e.sender_data.nonce.bytes, "sender data nonce")

        var tree = SecretTree(
            crypto: crypto,
            encryptionSecret: SecretBytes(e.encryption_secret.bytes),
            leafCount: UInt32(e.leaves.count),
            limits: .init(maximumForwardDistance: UInt32.max - 1, maximumSkippedKeys: 0)
        )
        for (leaf, generations) in e.leaves.enumerated() {
            for g in generations {
                let application = try tree.key(leaf: UInt32(leaf), kind: .application, generation: g.generation)
                try expectEqual(
                    application.key.bytes,
                    g.application_key.bytes,
                    "leaf \(leaf) generation \(g.generation) application key"
                )
                try expectEqual(
                    application.nonce,
                    g.application_nonce.bytes,
                    "leaf \(leaf) generation \(g.generation) application nonce"
                )
                let handshake = try tree.key(leaf: UInt32(leaf), kind: .handshake, generation: g.generation)
                try expectEqual(
                    handshake.key.bytes,
                    g.handshake_key.bytes,
                    "leaf \(leaf) generation \(g.generation) handshake key"
                )
                try expectEqual(
                    handshake.nonce,
                    g.handshake_nonce.bytes,
                    "leaf \(leaf) generation \(g.generation) handshake nonce"
                )
            }
        }
    }
}

/// `key-schedule.json`: every epoch secret over five epochs.
enum KeyScheduleCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let group_id: HexBytes
        let initial_init_secret: HexBytes
        let epochs: [Epoch]

        struct Epoch: Decodable {
            let tree_hash: HexBytes
            let commit_secret: HexBytes
            let psk_secret: HexBytes
            let confirmed_transcript_hash: HexBytes
            let group_context: HexBytes
            let joiner_secret: HexBytes
            let welcome_secret: HexBytes
            let init_secret: HexBytes
            let sender_data_secret: HexBytes
            let encryption_secret: HexBytes
            let exporter_secret: HexBytes
            let epoch_authenticator: HexBytes
            let external_secret: HexBytes
            let confirmation_key: HexBytes
            let membership_key: HexBytes
            let resumption_psk: HexBytes
            let external_pub: HexBytes
            let exporter: Exporter

            /// The label is used as the text it is (the vectors happen to fill it with hex digits).
            struct Exporter: Decodable {
                let label: String
                let context: HexBytes
                let length: Int
                let secret: HexBytes
            }
        }
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        var initSecret = e.initial_init_secret.bytes
        for (n, epoch) in e.epochs.enumerated() {
            let context = GroupContext(
                cipherSuite: e.cipher_suite,
                groupID: e.group_id.bytes,
                epoch: UInt64(n),
                treeHash: epoch.tree_hash.bytes,
                confirmedTranscriptHash: epoch.confirmed_transcript_hash.bytes,
                extensions: []
            )
            try expectEqual(context.encoded, epoch.group_context.bytes, "epoch \(n) group context")
            let s = try EpochSecrets(
                crypto: crypto,
                initSecret: initSecret,
                commitSecret: epoch.commit_secret.bytes,
                pskSecret: epoch.psk_secret.bytes,
                groupContext: context
            )
            let pairs: [([UInt8], HexBytes, String)] = [
                (s.joinerSecret.bytes, epoch.joiner_secret, "joiner_secret"),
                (s.welcomeSecret.bytes, epoch.welcome_secret, "welcome_secret"),
                (s.initSecret.bytes, epoch.init_secret, "init_secret"),
                (s.senderDataSecret.bytes, epoch.sender_data_secret, "sender_data_secret"),
                (s.encryptionSecret.bytes, epoch.encryption_secret, "encryption_secret"),
                (s.exporterSecret.bytes, epoch.exporter_secret, "exporter_secret"),
                (s.epochAuthenticator, epoch.epoch_authenticator, "epoch_authenticator"),
                (s.externalSecret.bytes, epoch.external_secret, "external_secret"),
                (s.confirmationKey.bytes, epoch.confirmation_key, "confirmation_key"),
                (s.membershipKey.bytes, epoch.membership_key, "membership_key"),
                (s.resumptionPSK.bytes, epoch.resumption_psk, "resumption_psk"),
            ]
            for (actual, expected, name) in pairs { try expectEqual(actual, expected.bytes, "epoch \(n) \(name)") }
            try expectEqual(try s.externalKeyPair(crypto: crypto).publicKey, epoch.external_pub.bytes, "epoch \(n) external_pub")
            let x = epoch.exporter
            try expectEqual(
                try s.export(crypto: crypto, label: x.label, context: x.context.bytes, length: x.length),
                x.secret.bytes,
                "epoch \(n) MLS-Exporter"
            )
            initSecret = s.initSecret.bytes
        }
    }
}

/// `transcript-hashes.json`: confirmed/interim hashes and the confirmation tag.
enum TranscriptHashesCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let confirmation_key: HexBytes
        let authenticated_content: HexBytes
        let interim_transcript_hash_before: HexBytes
        let confirmed_transcript_hash_after: HexBytes
        let interim_transcript_hash_after: HexBytes
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        let content = try check("decode AuthenticatedContent") { try AuthenticatedContent.decode(e.authenticated_content.bytes) }
        try expectEqual(content.encoded, e.authenticated_content.bytes, "AuthenticatedContent re-encoding")
        guard content.content.contentType == .commit, let tag = content.auth.confirmationTag else {
            throw VectorFailure("the AuthenticatedContent is not a commit")
        }
        let confirmed = TranscriptHash.confirmed(
            interim: e.interim_transcript_hash_before.bytes,
            content: content,
            crypto: crypto
        )
        try expectEqual(confirmed, e.confirmed_transcript_hash_after.bytes, "confirmed_transcript_hash_after")
        let expectedTag = TranscriptHash.confirmationTag(
            confirmationKey: SecretBytes(e.confirmation_key.bytes),
            confirmed: confirmed,
            crypto: crypto
        )
        try expectEqual(tag, expectedTag, "confirmation_tag")
        try expectEqual(
            TranscriptHash.interim(confirmed: confirmed, confirmationTag: tag, crypto: crypto),
            e.interim_transcript_hash_after.bytes,
            "interim_transcript_hash_after"
        )
    }
}
