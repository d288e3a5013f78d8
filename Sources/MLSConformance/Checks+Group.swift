import MLS
import Primitives

/// `welcome.json`: decrypting a Welcome's secrets and GroupInfo, verifying signature and tag.
enum WelcomeCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let init_priv: HexBytes
        let key_package: HexBytes
        let signer_pub: HexBytes
        let welcome: HexBytes
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        guard case .keyPackage(let keyPackage) = try check("decode key_package", { try MLSMessage.decode(e.key_package.bytes) })
        else {
            throw VectorFailure("key_package is not a KeyPackage")
        }
        guard case .welcome(let welcome) = try check("decode welcome", { try MLSMessage.decode(e.welcome.bytes) }) else {
            throw VectorFailure("welcome is not a Welcome")
        }
        let reference = crypto.keyPackageRef(keyPackage)
        guard let entry = welcome.secrets.first(where: { $0.newMember == reference }) else {
            throw VectorFailure("no EncryptedGroupSecrets for the KeyPackage")
        }
        let secrets = try GroupSecrets.decode(
            try crypto.decryptWithLabel(
                privateKey: SecretBytes(e.init_priv.bytes),
                label: "Welcome",
                context: welcome.encryptedGroupInfo,
                ciphertext: entry.encryptedGroupSecrets
            )
        )
        try expectEqual(secrets.psks.isEmpty, true, "the Welcome names no PSKs")
        let psk = try KeySchedule.pskSecret([], crypto: crypto)
        let welcomeSecret = try KeySchedule.welcomeSecret(joinerSecret: secrets.joinerSecret, pskSecret: psk, crypto: crypto)
        let (key, nonce) = try KeySchedule.welcomeKey(welcomeSecret: welcomeSecret, crypto: crypto)
        let groupInfo = try GroupInfo.decode(
            try crypto.suite.aead.open(key: key, nonce: nonce, associatedData: [], ciphertext: welcome.encryptedGroupInfo)
        )
        guard
            crypto.verifyWithLabel(
                publicKey: e.signer_pub.bytes,
                label: "GroupInfoTBS",
                content: groupInfo.toBeSigned,
                signature: groupInfo.signature
            )
        else {
            throw VectorFailure("GroupInfo signature does not verify")
        }
        let epoch = try EpochSecrets(
            crypto: crypto,
            joinerSecret: secrets.joinerSecret,
            pskSecret: psk,
            groupContext: groupInfo.groupContext
        )
        let tag = TranscriptHash.confirmationTag(
            confirmationKey: epoch.confirmationKey,
            confirmed: groupInfo.groupContext.confirmedTranscriptHash,
            crypto: crypto
        )
        try expectEqual(tag, groupInfo.confirmationTag, "confirmation_tag")
    }
}

/// `passive-client-*.json`: join from a Welcome, then follow the group's commits epoch by epoch.
enum PassiveClientCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let external_psks: [PSK]
        let key_package: HexBytes
        let signature_priv: HexBytes
        let encryption_priv: HexBytes
        let init_priv: HexBytes
        let welcome: HexBytes
        let ratchet_tree: HexBytes?
        let initial_epoch_authenticator: HexBytes
        let epochs: [Epoch]

        struct PSK: Decodable {
            let psk_id: HexBytes
            let psk: HexBytes
        }
        struct Epoch: Decodable {
            let proposals: [HexBytes]
            let commit: HexBytes
            let epoch_authenticator: HexBytes
        }
    }

    static func run(_ e: Entry) throws {
        guard case .keyPackage(let keyPackage) = try check("decode key_package", { try MLSMessage.decode(e.key_package.bytes) })
        else {
            throw VectorFailure("key_package is not a KeyPackage")
        }
        guard case .welcome(let welcome) = try check("decode welcome", { try MLSMessage.decode(e.welcome.bytes) }) else {
            throw VectorFailure("welcome is not a Welcome")
        }
        let tree = try e.ratchet_tree.map { tree in try check("decode ratchet_tree") { try RatchetTreeNodes.decode(tree.bytes) } }
        var psks: [[UInt8]: SecretBytes] = [:]
        for psk in e.external_psks { psks[psk.psk_id.bytes] = SecretBytes(psk.psk.bytes) }
        var group = try MLSGroup(
            welcome: welcome,
            keyPackage: KeyPackageSecrets(
                keyPackage: keyPackage,
                initPrivateKey: SecretBytes(e.init_priv.bytes),
                encryptionPrivateKey: SecretBytes(e.encryption_priv.bytes),
                signingKey: SecretBytes(e.signature_priv.bytes)
            ),
            ratchetTree: tree,
            externalPSKs: psks
        )
        try expectEqual(group.epochAuthenticator, e.initial_epoch_authenticator.bytes, "initial epoch_authenticator")
        for (number, epoch) in e.epochs.enumerated() {
            for (index, proposal) in epoch.proposals.enumerated() {
                let message = try check("decode epoch \(number) proposal \(index)") { try MLSMessage.decode(proposal.bytes) }
                do {
                    _ = try group.process(message)
                } catch {
                    throw VectorFailure("epoch \(number) proposal \(index): \(error)")
                }
            }
            let commit = try check("decode epoch \(number) commit") { try MLSMessage.decode(epoch.commit.bytes) }
            do {
                _ = try group.process(commit)
            } catch {
                throw VectorFailure("epoch \(number) commit: \(error)")
            }
            try expectEqual(group.epochAuthenticator, epoch.epoch_authenticator.bytes, "epoch \(number) epoch_authenticator")
        }
    }
}
