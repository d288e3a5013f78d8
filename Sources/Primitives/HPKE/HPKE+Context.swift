extension HPKE {
    /// An HPKE encryption context (RFC 9180 §5): seals or opens a sequence of messages and exports
    /// secrets. A context is used by one side only; the sequence number advances with each message.
    package struct Context: Sendable {
        package let suite: Suite
        private let key: SecretBytes
        private let baseNonce: [UInt8]
        private let exporterSecret: SecretBytes
        /// Messages sealed or opened so far.
        package private(set) var sequenceNumber: UInt64 = 0

        /// `KeySchedule(mode, shared_secret, info, psk, psk_id)`.
        init(
            suite: Suite,
            mode: Mode,
            sharedSecret: SecretBytes,
            info: [UInt8],
            psk: [UInt8],
            pskID: [UInt8]
        ) throws(PrimitivesError) {
            self.suite = suite
            let kdf = LabeledKDF(hash: suite.kdf.hash, suiteID: suite.suiteID)
            let pskIDHash = kdf.extract(salt: [], label: "psk_id_hash", ikm: pskID)
            let infoHash = kdf.extract(salt: [], label: "info_hash", ikm: info)
            let context = [mode.rawValue] + pskIDHash + infoHash
            let secret = kdf.extract(salt: sharedSecret.bytes, label: "secret", ikm: psk)
            let keySize = suite.aead.algorithm?.keySize ?? 0
            let nonceSize = suite.aead.algorithm?.nonceSize ?? 0
            self.key = SecretBytes(try kdf.expand(prk: secret, label: "key", info: context, length: keySize))
            self.baseNonce = try kdf.expand(prk: secret, label: "base_nonce", info: context, length: nonceSize)
            self.exporterSecret = SecretBytes(
                try kdf.expand(prk: secret, label: "exp", info: context, length: suite.kdf.hash.outputSize)
            )
        }

        /// Encrypts the next message.
        package mutating func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws(PrimitivesError) -> [UInt8] {
            guard let aead = self.suite.aead.algorithm else {
                throw PrimitivesError(.messageLimitReached, "HPKE seal (export-only)")
            }
            let ciphertext = try aead.seal(
                key: self.key.bytes,
                nonce: try self.nonce(),
                associatedData: associatedData,
                plaintext: plaintext
            )
            self.sequenceNumber += 1
            return ciphertext
        }

        /// Decrypts the next message.
        package mutating func open(_ ciphertext: [UInt8], associatedData: [UInt8] = []) throws(PrimitivesError) -> [UInt8] {
            guard let aead = self.suite.aead.algorithm else {
                throw PrimitivesError(.messageLimitReached, "HPKE open (export-only)")
            }
            let plaintext = try aead.open(
                key: self.key.bytes,
                nonce: try self.nonce(),
                associatedData: associatedData,
                ciphertext: ciphertext
            )
            self.sequenceNumber += 1
            return plaintext
        }

        /// `Export(exporter_context, L)`.
        package func export(context: [UInt8], length: Int) throws(PrimitivesError) -> [UInt8] {
            let kdf = LabeledKDF(hash: self.suite.kdf.hash, suiteID: self.suite.suiteID)
            guard length <= 255 * self.suite.kdf.hash.outputSize else { throw PrimitivesError(.invalidLength, "HPKE export") }
            return try kdf.expand(prk: self.exporterSecret.bytes, label: "sec", info: context, length: length)
        }

        /// base_nonce XOR I2OSP(seq, Nn).
        private func nonce() throws(PrimitivesError) -> [UInt8] {
            guard self.sequenceNumber < UInt64.max else { throw PrimitivesError(.messageLimitReached, "HPKE nonce") }
            var nonce = self.baseNonce
            var sequence = self.sequenceNumber
            var index = nonce.count - 1
            while sequence > 0 && index >= 0 {
                nonce[index] ^= UInt8(sequence & 0xFF)
                sequence >>= 8
                index -= 1
            }
            return nonce
        }
    }

    // MARK: - Set-up

    /// A pre-shared key and its identifier (PSK modes).
    package struct PreSharedKey: Sendable {
        package var key: SecretBytes
        package var id: [UInt8]
        package init(key: SecretBytes, id: [UInt8]) {
            self.key = key
            self.id = id
        }
    }

    /// Sets up the sender's side: base mode, or PSK / auth / auth-PSK when `psk` and/or `sender`
    /// are given.
    ///
    /// - Returns: the encapsulated key to send and the sealing context.
    package static func makeSender(
        suite: Suite,
        recipientKey: [UInt8],
        info: [UInt8],
        psk: PreSharedKey? = nil,
        sender: (privateKey: SecretBytes, publicKey: [UInt8])? = nil
    ) throws(PrimitivesError) -> (encapsulatedKey: [UInt8], context: Context) {
        try Self.makeSender(
            suite: suite,
            recipientKey: recipientKey,
            info: info,
            psk: psk,
            sender: sender,
            ephemeral: try suite.kem.generateKeyPair()
        )
    }

    /// As ``makeSender(suite:recipientKey:info:psk:sender:)`` with a given ephemeral key (for
    /// known-answer tests; never reuse an ephemeral key).
    package static func makeSender(
        suite: Suite,
        recipientKey: [UInt8],
        info: [UInt8],
        psk: PreSharedKey?,
        sender: (privateKey: SecretBytes, publicKey: [UInt8])?,
        ephemeral: (privateKey: SecretBytes, publicKey: [UInt8])
    ) throws(PrimitivesError) -> (encapsulatedKey: [UInt8], context: Context) {
        let (sharedSecret, encapsulatedKey) = try suite.kem.encapsulate(
            recipient: recipientKey,
            ephemeral: ephemeral,
            sender: sender
        )
        let context = try Context(
            suite: suite,
            mode: Self.mode(psk: psk, authenticated: sender != nil),
            sharedSecret: sharedSecret,
            info: info,
            psk: psk?.key.bytes ?? [],
            pskID: psk?.id ?? []
        )
        return (encapsulatedKey, context)
    }

    /// Sets up the recipient's side; `senderPublicKey` selects auth mode, `psk` a PSK mode.
    package static func makeRecipient(
        suite: Suite,
        encapsulatedKey: [UInt8],
        recipientKey: SecretBytes,
        info: [UInt8],
        psk: PreSharedKey? = nil,
        senderPublicKey: [UInt8]? = nil
    ) throws(PrimitivesError) -> Context {
        let sharedSecret = try suite.kem.decapsulate(encapsulatedKey, recipient: recipientKey, senderPublicKey: senderPublicKey)
        return try Context(
            suite: suite,
            mode: Self.mode(psk: psk, authenticated: senderPublicKey != nil),
            sharedSecret: sharedSecret,
            info: info,
            psk: psk?.key.bytes ?? [],
            pskID: psk?.id ?? []
        )
    }

    private static func mode(psk: PreSharedKey?, authenticated: Bool) -> Mode {
        switch (psk != nil, authenticated) {
        case (false, false): .base
        case (true, false): .psk
        case (false, true): .auth
        case (true, true): .authPSK
        }
    }

    // MARK: - Single shot

    /// Base-mode single-shot encryption: `SealBase`.
    package static func seal(
        suite: Suite,
        recipientKey: [UInt8],
        info: [UInt8],
        associatedData: [UInt8],
        plaintext: [UInt8]
    ) throws(PrimitivesError) -> (encapsulatedKey: [UInt8], ciphertext: [UInt8]) {
        var (encapsulatedKey, context) = try Self.makeSender(suite: suite, recipientKey: recipientKey, info: info)
        return (encapsulatedKey, try context.seal(plaintext, associatedData: associatedData))
    }

    /// Base-mode single-shot decryption: `OpenBase`.
    package static func open(
        suite: Suite,
        encapsulatedKey: [UInt8],
        recipientKey: SecretBytes,
        info: [UInt8],
        associatedData: [UInt8],
        ciphertext: [UInt8]
    ) throws(PrimitivesError) -> [UInt8] {
        var context = try Self.makeRecipient(
            suite: suite,
            encapsulatedKey: encapsulatedKey,
            recipientKey: recipientKey,
            info: info
        )
        return try context.open(ciphertext, associatedData: associatedData)
    }
}
