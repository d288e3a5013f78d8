package import Primitives

/// A `HandshakeState` (§5.3) for one side of a handshake, as a value: ``writeMessage(_:)`` and
/// ``readMessage(_:)`` in turn until ``transport`` is set. Nothing here does I/O.
package struct NoiseHandshake: Sendable {
    /// Noise messages are at most this long (§3).
    package static let maximumMessageLength = 65_535

    package let noise: NoiseProtocol
    package let isInitiator: Bool
    private var symmetric: NoiseSymmetricState
    private var localStatic: NoiseKeyPair?
    private var localEphemeral: NoiseKeyPair?
    /// The ephemeral private key to use instead of a fresh one (test vectors only).
    private var fixedEphemeral: SecretBytes?
    /// rs: the peer's static public key, known before or learnt during the handshake.
    package private(set) var remoteStatic: [UInt8]?
    private var remoteEphemeral: [UInt8]?
    private var psks: [SecretBytes]
    private var messageIndex = 0
    /// The two `CipherState`s once the last handshake message is written or read.
    package private(set) var transport: NoiseTransport?

    /// Initialize(): the pattern's pre-messages are hashed after the prologue.
    ///
    /// - Parameters:
    ///   - staticKey: s, when the pattern has this side send or pre-share one.
    ///   - remoteStatic: rs, when the pattern has the peer's pre-shared (`<- s` before `...`).
    ///   - psks: the PSKs in the order the pattern's `psk` tokens use them.
    ///   - ephemeral: a fixed ephemeral private key, for test vectors; nil: a fresh one.
    /// - Throws: ``NoiseError/Code/missingKey`` when the pattern needs a key not given.
    package init(
        _ noise: NoiseProtocol,
        initiator: Bool,
        prologue: [UInt8] = [],
        staticKey: NoiseKeyPair? = nil,
        remoteStatic: [UInt8]? = nil,
        psks: [SecretBytes] = [],
        ephemeral: SecretBytes? = nil
    ) throws(NoiseError) {
        self.noise = noise
        self.isInitiator = initiator
        self.symmetric = NoiseSymmetricState(noise)
        self.localStatic = staticKey
        self.remoteStatic = remoteStatic
        self.psks = psks
        self.fixedEphemeral = ephemeral
        guard psks.count >= noise.pattern.pskCount, psks.allSatisfy({ $0.count == 32 }) else {
            throw NoiseError(.missingKey, "\(noise.name) needs \(noise.pattern.pskCount) PSKs of 32 bytes")
        }
        self.symmetric.mixHash(prologue)
        for (tokens, initiatorSide) in [(noise.pattern.initiatorPreMessage, true), (noise.pattern.responderPreMessage, false)] {
            let mine = initiatorSide == initiator
            for token in tokens {
                guard token == .s else {
                    throw NoiseError(.unknownProtocol, "\(noise.name): only static keys can be pre-shared here")
                }
                guard let key = mine ? staticKey?.publicKey : remoteStatic else {
                    throw NoiseError(
                        .missingKey,
                        "\(noise.name) needs \(mine ? "this side's static key" : "the peer's static public key") before the handshake"
                    )
                }
                self.symmetric.mixHash(key)
            }
        }
    }

    /// Whether this side writes the next handshake message.
    package var isMyTurn: Bool {
        guard self.transport == nil, self.messageIndex < self.noise.pattern.messages.count else { return false }
        return self.noise.pattern.oneWay ? self.isInitiator : (self.messageIndex % 2 == 0) == self.isInitiator
    }

    /// h: the handshake hash so far; after the handshake, the channel binding (§11.2).
    package var handshakeHash: [UInt8] { self.symmetric.handshakeHash }

    /// WriteMessage(payload): the next handshake message, carrying `payload` (encrypted once a
    /// key exists).
    ///
    /// - Throws: ``NoiseError/Code/outOfOrder`` when it is not this side's turn,
    ///   ``NoiseError/Code/missingKey``, ``NoiseError/Code/tooLong``.
    package mutating func writeMessage(_ payload: [UInt8] = []) throws(NoiseError) -> [UInt8] {
        guard self.isMyTurn else { throw NoiseError(.outOfOrder, "not this side's turn to write a handshake message") }
        var message: [UInt8] = []
        for token in self.noise.pattern.messages[self.messageIndex] {
            switch token {
            case .e:
                let pair =
                    try self.fixedEphemeral.map { (key) throws(NoiseError) in try self.noise.dh.keyPair(privateKey: key) }
                    ?? self.noise.dh.generateKeyPair()
                self.localEphemeral = pair
                message += pair.publicKey
                self.symmetric.mixHash(pair.publicKey)
                if self.noise.pattern.usesPSK { self.symmetric.mixKey(pair.publicKey) }
            case .s:
                guard let pair = self.localStatic else {
                    throw NoiseError(.missingKey, "\(self.noise.name) needs this side's static key")
                }
                message += try self.symmetric.encryptAndHash(pair.publicKey)
            case .psk:
                self.symmetric.mixKeyAndHash(self.psks.removeFirst().bytes)
            case .ee, .es, .se, .ss:
                try self.mix(token)
            }
        }
        message += try self.symmetric.encryptAndHash(payload)
        guard message.count <= Self.maximumMessageLength else {
            throw NoiseError(.tooLong, "a handshake message of \(message.count) bytes")
        }
        self.advance()
        return message
    }

    /// ReadMessage(message): the payload of the peer's next handshake message.
    ///
    /// - Throws: ``NoiseError/Code/outOfOrder``, ``NoiseError/Code/truncated``,
    ///   ``NoiseError/Code/decryptFailed``, ``NoiseError/Code/invalidKey``.
    package mutating func readMessage(_ message: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard self.transport == nil, self.messageIndex < self.noise.pattern.messages.count, !self.isMyTurn else {
            throw NoiseError(.outOfOrder, "no handshake message from the peer is due")
        }
        guard message.count <= Self.maximumMessageLength else {
            throw NoiseError(.tooLong, "a handshake message of \(message.count) bytes")
        }
        var rest = message[...]
        func take(_ count: Int) throws(NoiseError) -> [UInt8] {
            guard rest.count >= count else { throw NoiseError(.truncated, "a handshake message shorter than its keys") }
            defer { rest = rest.dropFirst(count) }
            return Array(rest.prefix(count))
        }
        for token in self.noise.pattern.messages[self.messageIndex] {
            switch token {
            case .e:
                let key = try take(self.noise.dh.length)
                self.remoteEphemeral = key
                self.symmetric.mixHash(key)
                if self.noise.pattern.usesPSK { self.symmetric.mixKey(key) }
            case .s:
                let length = self.noise.dh.length + (self.symmetric.cipherState.hasKey ? NoiseCipher.tagLength : 0)
                self.remoteStatic = try self.symmetric.decryptAndHash(try take(length))
            case .psk:
                self.symmetric.mixKeyAndHash(self.psks.removeFirst().bytes)
            case .ee, .es, .se, .ss:
                try self.mix(token)
            }
        }
        let payload = try self.symmetric.decryptAndHash(Array(rest))
        self.advance()
        return payload
    }

    /// The DH tokens: `es` is DH(e, rs) for the initiator and DH(s, re) for the responder, and
    /// so on.
    private mutating func mix(_ token: NoisePattern.Token) throws(NoiseError) {
        let (mineIsEphemeral, theirsIsEphemeral): (Bool, Bool) =
            switch token {
            case .ee: (true, true)
            case .ss: (false, false)
            case .es: self.isInitiator ? (true, false) : (false, true)
            default: self.isInitiator ? (false, true) : (true, false)  // se
            }
        guard let mine = mineIsEphemeral ? self.localEphemeral : self.localStatic else {
            throw NoiseError(.missingKey, "\(self.noise.name) needs this side's \(mineIsEphemeral ? "ephemeral" : "static") key")
        }
        guard let theirs = theirsIsEphemeral ? self.remoteEphemeral : self.remoteStatic else {
            throw NoiseError(.missingKey, "\(self.noise.name) needs the peer's \(theirsIsEphemeral ? "ephemeral" : "static") key")
        }
        self.symmetric.mixKey(try self.noise.dh.agree(mine, theirs).bytes)
    }

    private mutating func advance() {
        self.messageIndex += 1
        guard self.messageIndex == self.noise.pattern.messages.count else { return }
        let (initiatorSends, responderSends) = self.symmetric.split()
        self.transport = NoiseTransport(
            send: self.isInitiator ? initiatorSends : responderSends,
            receive: self.isInitiator ? responderSends : initiatorSends,
            handshakeHash: self.symmetric.handshakeHash
        )
    }
}
