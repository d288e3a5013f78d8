package import Primitives

/// A client's secrets for one KeyPackage: what it needs to join from a Welcome.
package struct KeyPackageSecrets: Sendable {
    package var keyPackage: KeyPackage
    package var initPrivateKey: SecretBytes
    package var encryptionPrivateKey: SecretBytes
    package var signingKey: SecretBytes

    package init(keyPackage: KeyPackage, initPrivateKey: SecretBytes, encryptionPrivateKey: SecretBytes, signingKey: SecretBytes)
    {
        self.keyPackage = keyPackage
        self.initPrivateKey = initPrivateKey
        self.encryptionPrivateKey = encryptionPrivateKey
        self.signingKey = signingKey
    }
}

extension MLSGroup {
    /// Joins a group from a Welcome (RFC 9420 §12.4.3.1).
    ///
    /// - Parameters:
    ///   - ratchetTree: the tree when the Welcome's GroupInfo has no `ratchet_tree` extension.
    ///   - externalPSKs: PSKs the Welcome may name, by PSK id.
    /// - Throws: ``MLSError`` — `invalidWelcome` when it is not for this KeyPackage, `unknownPSK`,
    ///   `decryptionFailed`, `invalidSignature`, tree validation codes, `invalidConfirmationTag`.
    package init(
        welcome: Welcome,
        keyPackage secrets: KeyPackageSecrets,
        ratchetTree: RatchetTreeNodes? = nil,
        externalPSKs: [[UInt8]: SecretBytes] = [:],
        configuration: Configuration = Configuration()
    ) throws(MLSError) {
        let keyPackage = secrets.keyPackage
        guard welcome.cipherSuite == keyPackage.cipherSuite else {
            throw MLSError(.invalidWelcome, "the Welcome's cipher suite differs from the KeyPackage's")
        }
        let crypto = try MLSCrypto(suiteID: welcome.cipherSuite)
        let reference = crypto.keyPackageRef(keyPackage)
        guard let entry = welcome.secrets.first(where: { $0.newMember == reference }) else {
            throw MLSError(.invalidWelcome, "the Welcome is not addressed to this KeyPackage")
        }
        let groupSecrets: GroupSecrets
        do {
            groupSecrets = try GroupSecrets.decode(
                try crypto.decryptWithLabel(
                    privateKey: secrets.initPrivateKey,
                    label: "Welcome",
                    context: welcome.encryptedGroupInfo,
                    ciphertext: entry.encryptedGroupSecrets
                )
            )
        } catch let error as MLSDecodingError {
            throw MLSError(error)
        } catch {
            throw error as! MLSError
        }

        var psks: [KeySchedule.PSK] = []
        for id in groupSecrets.psks {
            guard case .external(let pskID) = id.kind, let secret = externalPSKs[pskID] else {
                throw MLSError(.unknownPSK, "the Welcome names a PSK this client does not have")
            }
            psks.append(KeySchedule.PSK(id: id, secret: secret))
        }
        let pskSecret = try KeySchedule.pskSecret(psks, crypto: crypto)
        let welcomeSecret = try KeySchedule.welcomeSecret(
            joinerSecret: groupSecrets.joinerSecret,
            pskSecret: pskSecret,
            crypto: crypto
        )
        let (key, nonce) = try KeySchedule.welcomeKey(welcomeSecret: welcomeSecret, crypto: crypto)
        let groupInfo: GroupInfo
        do {
            groupInfo = try GroupInfo.decode(
                try crypto.suite.aead.open(key: key, nonce: nonce, associatedData: [], ciphertext: welcome.encryptedGroupInfo)
            )
        } catch let error as PrimitivesError {
            throw MLSError(.decryptionFailed, "the Welcome's GroupInfo does not decrypt", primitive: error)
        } catch {
            throw MLSError(error as! MLSDecodingError)
        }
        let context = groupInfo.groupContext
        guard context.cipherSuite == keyPackage.cipherSuite, context.version == keyPackage.version else {
            throw MLSError(.invalidWelcome, "the group's cipher suite or version differs from the KeyPackage's")
        }

        var tree = try Self.ratchetTree(groupInfo: groupInfo, given: ratchetTree)
        guard let signer = tree.leaf(groupInfo.signer),
            crypto.verifyWithLabel(
                publicKey: signer.signatureKey,
                label: "GroupInfoTBS",
                content: groupInfo.toBeSigned,
                signature: groupInfo.signature
            )
        else {
            throw MLSError(.invalidSignature, "the GroupInfo signature does not verify with leaf \(groupInfo.signer)")
        }
        try tree.validate(context: context, crypto: crypto)
        guard let ownLeaf = tree.occupiedLeaves.first(where: { tree.leaf($0) == keyPackage.leafNode }) else {
            throw MLSError(.invalidWelcome, "the tree has no leaf for this KeyPackage")
        }

        var privateKeys = [TreeMath.node(ofLeaf: ownLeaf): secrets.encryptionPrivateKey]
        if let pathSecret = groupSecrets.pathSecret {
            let ancestor = TreeMath.commonAncestor(TreeMath.node(ofLeaf: ownLeaf), TreeMath.node(ofLeaf: groupInfo.signer))
            var secret = pathSecret
            var reached = false
            for node in tree.filteredDirectPath(groupInfo.signer) {
                if node == ancestor { reached = true } else if reached { secret = try crypto.deriveSecret(secret, label: "path") }
                guard reached else { continue }
                let pair = try TreeKEM.nodeKeyPair(pathSecret: secret, crypto: crypto)
                guard pair.publicKey == tree.encryptionKey(node) else {
                    throw MLSError(.invalidWelcome, "the Welcome's path secret does not give node \(node)'s key")
                }
                privateKeys[node] = pair.privateKey
            }
            guard reached else { throw MLSError(.invalidWelcome, "the common ancestor with the signer is not on its path") }
        }

        let epochSecrets = try EpochSecrets(
            crypto: crypto,
            joinerSecret: groupSecrets.joinerSecret,
            pskSecret: pskSecret,
            groupContext: context
        )
        let expectedTag = TranscriptHash.confirmationTag(
            confirmationKey: epochSecrets.confirmationKey,
            confirmed: context.confirmedTranscriptHash,
            crypto: crypto
        )
        guard ConstantTime.equal(expectedTag, groupInfo.confirmationTag) else {
            throw MLSError(.invalidConfirmationTag, "the GroupInfo's confirmation tag does not verify")
        }

        self.crypto = crypto
        self.configuration = configuration
        self.context = context
        self.tree = tree
        self.ownLeaf = ownLeaf
        self.signingKey = secrets.signingKey
        self.privateKeys = privateKeys
        self.epochSecrets = epochSecrets
        self.secretTree = SecretTree(
            crypto: crypto,
            encryptionSecret: epochSecrets.encryptionSecret,
            leafCount: tree.leafCount,
            limits: configuration.secretTreeLimits
        )
        self.confirmationTag = groupInfo.confirmationTag
        self.interimTranscriptHash = TranscriptHash.interim(
            confirmed: context.confirmedTranscriptHash,
            confirmationTag: groupInfo.confirmationTag,
            crypto: crypto
        )
        self.externalPSKs = externalPSKs
        self.resumptionPSKs[context.epoch] = epochSecrets.resumptionPSK
    }

    /// The tree from the GroupInfo's `ratchet_tree` extension, or the one given out of band.
    static func ratchetTree(groupInfo: GroupInfo, given: RatchetTreeNodes?) throws(MLSError) -> RatchetTree {
        if let ext = groupInfo.extensions.first(where: { $0.type == MLSCode.Extension.ratchetTree }) {
            do {
                return try RatchetTree(try RatchetTreeNodes.decode(ext.data))
            } catch let error as MLSDecodingError {
                throw MLSError(error)
            } catch {
                throw error as! MLSError
            }
        }
        guard let given else { throw MLSError(.invalidWelcome, "no ratchet tree: none in the GroupInfo and none given") }
        return try RatchetTree(given)
    }
}

/// The `external_pub` GroupInfo extension.
package struct ExternalPub: MLSCodable, Hashable {
    package var publicKey: [UInt8]
    package init(publicKey: [UInt8]) { self.publicKey = publicKey }
    package init(from reader: inout MLSReader) throws(MLSDecodingError) { self.publicKey = try reader.readOpaque() }
    package func encode(to writer: inout MLSWriter) { writer.writeOpaque(self.publicKey) }
}

extension MLSGroup {
    /// A signed GroupInfo of the current epoch with `external_pub` (for external joins) and,
    /// when configured, the ratchet tree.
    package func groupInfo() throws(MLSError) -> GroupInfo {
        var extensions = [
            Extension(
                type: MLSCode.Extension.externalPub,
                data: ExternalPub(publicKey: try self.epochSecrets.externalKeyPair(crypto: self.crypto).publicKey).encoded
            )
        ]
        if self.configuration.includeRatchetTreeInWelcome {
            extensions.append(Extension(type: MLSCode.Extension.ratchetTree, data: self.tree.exported.encoded))
        }
        var info = GroupInfo(
            groupContext: self.context,
            extensions: extensions,
            confirmationTag: self.confirmationTag,
            signer: self.ownLeaf,
            signature: []
        )
        info.signature = try self.crypto.signWithLabel(
            privateKey: self.signingKey,
            label: "GroupInfoTBS",
            content: info.toBeSigned
        )
        return info
    }

    /// The Welcome for the members a commit added (called on the new epoch's state).
    func welcome(
        groupInfo: GroupInfo,
        joinerSecret: [UInt8],
        pskSecret: [UInt8],
        psks: [PreSharedKeyID],
        added: [UInt32: LeafNode],
        keyPackages: [KeyPackage],
        pathSecrets: [UInt32: [UInt8]],
        committer: UInt32
    ) throws(MLSError) -> Welcome {
        let (key, nonce) = try KeySchedule.welcomeKey(welcomeSecret: self.epochSecrets.welcomeSecret.bytes, crypto: self.crypto)
        let encryptedGroupInfo: [UInt8]
        do {
            encryptedGroupInfo = try self.crypto.suite.aead.seal(
                key: key,
                nonce: nonce,
                associatedData: [],
                plaintext: groupInfo.encoded
            )
        } catch {
            throw MLSError(error)
        }
        var secrets: [EncryptedGroupSecrets] = []
        var leafByKey: [[UInt8]: UInt32] = [:]
        for (leaf, node) in added { leafByKey[node.encryptionKey] = leaf }
        for keyPackage in keyPackages {
            guard let leaf = leafByKey[keyPackage.leafNode.encryptionKey] else { continue }
            let ancestor = TreeMath.commonAncestor(TreeMath.node(ofLeaf: leaf), TreeMath.node(ofLeaf: committer))
            let groupSecrets = GroupSecrets(joinerSecret: joinerSecret, pathSecret: pathSecrets[ancestor], psks: psks)
            let ciphertext = try self.crypto.encryptWithLabel(
                publicKey: keyPackage.initKey,
                label: "Welcome",
                context: encryptedGroupInfo,
                plaintext: groupSecrets.encoded
            )
            secrets.append(
                EncryptedGroupSecrets(newMember: self.crypto.keyPackageRef(keyPackage), encryptedGroupSecrets: ciphertext)
            )
        }
        return Welcome(cipherSuite: self.context.cipherSuite, secrets: secrets, encryptedGroupInfo: encryptedGroupInfo)
    }
}
