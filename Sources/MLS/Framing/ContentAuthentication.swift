package import Primitives

extension FramedContent {
    /// `FramedContentTBS`: what the sender signs. The GroupContext is included for member and
    /// new-member-commit senders.
    package func toBeSigned(wireFormat: WireFormat, context: GroupContext) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeUInt16(MLSCode.mls10)
        writer.write(wireFormat)
        writer.write(self)
        if self.sender.signsGroupContext { writer.write(context) }
        return writer.bytes
    }
}

extension AuthenticatedContent {
    /// Signs `content` for `wireFormat` (and attaches `confirmationTag` for a commit).
    package static func sign(
        wireFormat: WireFormat,
        content: FramedContent,
        signaturePrivateKey: SecretBytes,
        context: GroupContext,
        confirmationTag: [UInt8]? = nil,
        crypto: MLSCrypto
    ) throws(MLSError) -> AuthenticatedContent {
        guard (content.contentType == .commit) == (confirmationTag != nil) else {
            throw MLSError(.invalidArgument, "a confirmation tag goes with commits, and only with them")
        }
        let signature = try crypto.signWithLabel(
            privateKey: signaturePrivateKey,
            label: "FramedContentTBS",
            content: content.toBeSigned(wireFormat: wireFormat, context: context)
        )
        return AuthenticatedContent(
            wireFormat: wireFormat,
            content: content,
            auth: FramedContentAuthData(signature: signature, confirmationTag: confirmationTag)
        )
    }

    /// Checks the signature with the sender's public key.
    ///
    /// - Throws: ``MLSError/Code/invalidSignature``.
    package func verifySignature(publicKey: [UInt8], context: GroupContext, crypto: MLSCrypto) throws(MLSError) {
        let tbs = self.content.toBeSigned(wireFormat: self.wireFormat, context: context)
        guard
            crypto.verifyWithLabel(publicKey: publicKey, label: "FramedContentTBS", content: tbs, signature: self.auth.signature)
        else {
            throw MLSError(
                .invalidSignature,
                "the \(self.content.contentType) from \(self.content.sender) has an invalid signature"
            )
        }
    }

    /// `AuthenticatedContentTBM` for the membership tag.
    func toBeMACed(context: GroupContext) -> [UInt8] {
        var writer = MLSWriter()
        writer.writeBytes(self.content.toBeSigned(wireFormat: self.wireFormat, context: context))
        self.auth.encode(to: &writer)
        return writer.bytes
    }
}

extension PublicMessage {
    /// Encodes signed content as a PublicMessage, adding the membership tag for members.
    ///
    /// - Throws: ``MLSError/Code/invalidContentType`` for application data (RFC 9420 §6: it must be a PrivateMessage).
    package static func protect(
        _ authenticated: AuthenticatedContent,
        membershipKey: SecretBytes,
        context: GroupContext,
        crypto: MLSCrypto
    ) throws(MLSError) -> PublicMessage {
        guard authenticated.content.contentType != .application else {
            throw MLSError(.invalidContentType, "application data must be sent as a PrivateMessage")
        }
        guard authenticated.wireFormat == .publicMessage else {
            throw MLSError(.invalidArgument, "content signed for \(authenticated.wireFormat), not a PublicMessage")
        }
        var tag: [UInt8]?
        if case .member = authenticated.content.sender {
            tag = crypto.mac(key: membershipKey.bytes, data: authenticated.toBeMACed(context: context))
        }
        return PublicMessage(content: authenticated.content, auth: authenticated.auth, membershipTag: tag)
    }

    /// Checks group, epoch, membership tag (members) and signature, and returns the content.
    ///
    /// - Parameter signaturePublicKey: the sender's signature key (looked up by the caller from
    ///   the tree, the external senders, or the message itself).
    package func unprotect(
        membershipKey: SecretBytes,
        context: GroupContext,
        signaturePublicKey: [UInt8],
        crypto: MLSCrypto
    ) throws(MLSError) -> AuthenticatedContent {
        guard self.content.groupID == context.groupID else { throw MLSError(.wrongGroup, "PublicMessage for another group") }
        guard self.content.epoch == context.epoch else {
            throw MLSError(.wrongEpoch, "PublicMessage for epoch \(self.content.epoch), the group is at \(context.epoch)")
        }
        guard self.content.contentType != .application else {
            throw MLSError(.invalidContentType, "application data in a PublicMessage")
        }
        let authenticated = AuthenticatedContent(wireFormat: .publicMessage, content: self.content, auth: self.auth)
        if case .member = self.content.sender {
            guard let tag = self.membershipTag else {
                throw MLSError(.invalidMembershipTag, "member message without membership tag")
            }
            let expected = crypto.mac(key: membershipKey.bytes, data: authenticated.toBeMACed(context: context))
            guard ConstantTime.equal(tag, expected) else {
                throw MLSError(.invalidMembershipTag, "the membership tag does not verify")
            }
        }
        try authenticated.verifySignature(publicKey: signaturePublicKey, context: context, crypto: crypto)
        return authenticated
    }
}
