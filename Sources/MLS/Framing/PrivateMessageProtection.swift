package import Primitives

extension PrivateMessage {
    /// Encrypts signed content as a PrivateMessage (RFC 9420 §6.3): the content with the sender's
    /// next handshake or application key, the sender data with a key from `sender_data_secret`
    /// and a sample of the ciphertext.
    ///
    /// - Parameters:
    ///   - secretTree: the sender's secret tree; its ratchet advances.
    ///   - paddingSize: zero bytes appended to the plaintext to hide its length.
    ///   - reuseGuard: 4 bytes; random unless a test fixes them.
    package static func protect(
        _ authenticated: AuthenticatedContent,
        secretTree: inout SecretTree,
        senderDataSecret: SecretBytes,
        crypto: MLSCrypto,
        paddingSize: Int = 0,
        reuseGuard: [UInt8] = SecureRandom.bytes(count: 4)
    ) throws(MLSError) -> PrivateMessage {
        let content = authenticated.content
        guard case .member(let leaf) = content.sender else {
            throw MLSError(.invalidSender, "only members send PrivateMessages")
        }
        guard authenticated.wireFormat == .privateMessage else {
            throw MLSError(.invalidArgument, "content signed for \(authenticated.wireFormat), not a PrivateMessage")
        }
        guard reuseGuard.count == 4, paddingSize >= 0 else { throw MLSError(.invalidArgument, "reuse guard or padding") }
        let kind: SecretTree.RatchetKind = content.contentType == .application ? .application : .handshake
        let keyAndNonce = try secretTree.nextKey(leaf: leaf, kind: kind)

        var plaintext = MLSWriter()
        content.body.encode(to: &plaintext)
        authenticated.auth.encode(to: &plaintext)
        plaintext.writeBytes([UInt8](repeating: 0, count: paddingSize))

        let aad = Self.contentAAD(content)
        let ciphertext: [UInt8]
        do {
            ciphertext = try crypto.suite.aead.seal(
                key: keyAndNonce.key.bytes,
                nonce: Self.guarded(keyAndNonce.nonce, reuseGuard),
                associatedData: aad,
                plaintext: plaintext.bytes
            )
        } catch {
            throw MLSError(error)
        }

        let senderData = SenderData(leafIndex: leaf, generation: keyAndNonce.generation, reuseGuard: reuseGuard)
        let (key, nonce) = try Self.senderDataKey(senderDataSecret: senderDataSecret, ciphertext: ciphertext, crypto: crypto)
        let encryptedSenderData: [UInt8]
        do {
            encryptedSenderData = try crypto.suite.aead.seal(
                key: key,
                nonce: nonce,
                associatedData: Self.senderDataAAD(content.groupID, content.epoch, content.contentType),
                plaintext: senderData.encoded
            )
        } catch {
            throw MLSError(error)
        }
        return PrivateMessage(
            groupID: content.groupID,
            epoch: content.epoch,
            contentType: content.contentType,
            authenticatedData: content.authenticatedData,
            encryptedSenderData: encryptedSenderData,
            ciphertext: ciphertext
        )
    }

    /// Decrypts and verifies a PrivateMessage.
    ///
    /// - Parameters:
    ///   - secretTree: the receiver's secret tree; the key used is consumed.
    ///   - signaturePublicKey: returns the signature key of a leaf, nil for a blank leaf.
    /// - Throws: ``MLSError`` — `wrongGroup`, `wrongEpoch`, `decryptionFailed`, `invalidSender`,
    ///   `generationConsumed`/`generationTooFar`, `malformed`, `invalidPadding`, `invalidSignature`.
    package func unprotect(
        secretTree: inout SecretTree,
        senderDataSecret: SecretBytes,
        context: GroupContext,
        crypto: MLSCrypto,
        signaturePublicKey: (UInt32) -> [UInt8]?
    ) throws(MLSError) -> AuthenticatedContent {
        guard self.groupID == context.groupID else { throw MLSError(.wrongGroup, "PrivateMessage for another group") }
        guard self.epoch == context.epoch else {
            throw MLSError(.wrongEpoch, "PrivateMessage for epoch \(self.epoch), the group is at \(context.epoch)")
        }
        let (key, nonce) = try Self.senderDataKey(senderDataSecret: senderDataSecret, ciphertext: self.ciphertext, crypto: crypto)
        let senderDataBytes: [UInt8]
        do {
            senderDataBytes = try crypto.suite.aead.open(
                key: key,
                nonce: nonce,
                associatedData: Self.senderDataAAD(self.groupID, self.epoch, self.contentType),
                ciphertext: self.encryptedSenderData
            )
        } catch {
            throw MLSError(.decryptionFailed, "sender data", primitive: error)
        }
        let senderData: SenderData
        do {
            senderData = try SenderData.decode(senderDataBytes)
        } catch {
            throw MLSError(error)
        }
        guard let publicKey = signaturePublicKey(senderData.leafIndex) else {
            throw MLSError(.invalidSender, "sender data names leaf \(senderData.leafIndex), which is blank or outside the tree")
        }
        let kind: SecretTree.RatchetKind = self.contentType == .application ? .application : .handshake
        let keyAndNonce = try secretTree.key(leaf: senderData.leafIndex, kind: kind, generation: senderData.generation)

        let content = FramedContent(
            groupID: self.groupID,
            epoch: self.epoch,
            sender: .member(leafIndex: senderData.leafIndex),
            authenticatedData: self.authenticatedData,
            body: .application([])
        )
        let plaintext: [UInt8]
        do {
            plaintext = try crypto.suite.aead.open(
                key: keyAndNonce.key.bytes,
                nonce: Self.guarded(keyAndNonce.nonce, senderData.reuseGuard),
                associatedData: Self.contentAAD(content, contentType: self.contentType),
                ciphertext: self.ciphertext
            )
        } catch {
            throw MLSError(.decryptionFailed, "PrivateMessage content", primitive: error)
        }

        var reader = MLSReader(plaintext, context: "PrivateMessageContent")
        var framed = content
        let auth: FramedContentAuthData
        do {
            framed.body = try FramedContent.Body.decode(self.contentType, from: &reader)
            auth = try FramedContentAuthData(from: &reader, contentType: self.contentType)
        } catch {
            throw MLSError(error)
        }
        guard reader.readRemaining().allSatisfy({ $0 == 0 }) else {
            throw MLSError(.invalidPadding, "PrivateMessageContent padding is not all zero")
        }
        let authenticated = AuthenticatedContent(wireFormat: .privateMessage, content: framed, auth: auth)
        try authenticated.verifySignature(publicKey: publicKey, context: context, crypto: crypto)
        return authenticated
    }

    // MARK: Helpers

    /// `PrivateContentAAD`.
    private static func contentAAD(_ content: FramedContent, contentType: ContentType? = nil) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeOpaque(content.groupID)
        writer.writeUInt64(content.epoch)
        writer.write(contentType ?? content.contentType)
        writer.writeOpaque(content.authenticatedData)
        return writer.bytes
    }

    /// `SenderDataAAD`.
    private static func senderDataAAD(_ groupID: [UInt8], _ epoch: UInt64, _ contentType: ContentType) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeOpaque(groupID)
        writer.writeUInt64(epoch)
        writer.write(contentType)
        return writer.bytes
    }

    /// The sender-data key and nonce from the first Nh bytes of the content ciphertext.
    package static func senderDataKey(
        senderDataSecret: SecretBytes,
        ciphertext: [UInt8],
        crypto: MLSCrypto
    ) throws(MLSError) -> (key: [UInt8], nonce: [UInt8]) {
        let sample = Array(ciphertext.prefix(crypto.hashSize))
        let aead = crypto.suite.aead
        let secret = senderDataSecret.bytes
        return (
            try crypto.expandWithLabel(secret: secret, label: "key", context: sample, length: aead.keySize),
            try crypto.expandWithLabel(secret: secret, label: "nonce", context: sample, length: aead.nonceSize)
        )
    }

    /// The nonce with the reuse guard XORed into its first four bytes.
    private static func guarded(_ nonce: [UInt8], _ reuseGuard: [UInt8]) -> [UInt8] {
        var result = nonce
        for index in 0..<4 { result[index] ^= reuseGuard[index] }
        return result
    }
}
