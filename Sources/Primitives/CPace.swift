import CSodium

/// CPace, a balanced password-authenticated key exchange (draft-irtf-cfrg-cpace-13), with the
/// cipher suite CPACE-RISTR255-SHA512: the group ristretto255 (libsodium) and SHA-512.
///
/// One value is one party's run (§6.2): `init` derives the generator from the password (PRS),
/// the channel identifier (CI) and the session identifier (sid), samples a scalar and computes
/// the party's ``message``; `finish(peer:)` checks the peer's message and returns the
/// intermediate session key ISK (64 bytes), which callers should pass through a KDF before
/// use (§3, §9.3). The value cannot be copied and `finish` consumes it, so a secret scalar
/// serves one run only (§9.9).
///
/// The static functions are the draft's steps, one each, so that every test vector of
/// Appendix B.3 can be checked. The shared point K is returned only to this package's own code
/// and tests: the draft forbids exposing it (§9.3).
package struct CPace: ~Copyable, Sendable {
    /// What a party sends: its share Y and the associated data AD that goes with it in clear
    /// (§6.1: `Ya, ADa` from A, `Yb, ADb` from B).
    package struct Message: Sendable, Hashable {
        package var share: [UInt8]
        package var associatedData: [UInt8]

        package init(share: [UInt8], associatedData: [UInt8] = []) {
            self.share = share
            self.associatedData = associatedData
        }
    }

    /// How the transcript orders the two messages (§3.3, §5.3): the initiator's message first
    /// (`transcript_ir`), or, when either party may speak first, ordered concatenation
    /// (`transcript_oc`).
    package enum Role: Sendable, Hashable {
        case initiator
        case responder
        case symmetric
    }

    /// Bytes of an encoded ristretto255 element, a share Y (G.field_size_bytes, §7.3).
    package static let shareSize = 32
    /// Bytes of a scalar (little-endian).
    package static let scalarSize = 32
    /// Bytes of ISK: the SHA-512 output.
    package static let iskSize = 64
    /// G_Ristretto255.DSI (§7.3).
    package static let dsi = Array("CPaceRistretto255".utf8)
    /// G.I, the encoding of the neutral element (§5.2, §7.3): 32 zero bytes for ristretto255.
    package static let identity = [UInt8](repeating: 0, count: 32)
    /// H.s_in_bytes, the input block size of SHA-512 (§5.1).
    static let hashBlockSize = 128

    private let scalar: SecretBytes
    private let sessionID: [UInt8]
    private let role: Role
    /// This party's message, to send to the peer.
    package let message: Message

    /// Starts a run (§6.2): `g = calculate_generator(H, PRS, CI, sid)`, `y = sample_scalar()`,
    /// `Y = scalar_mult(y, g)`. `scalar` is for test vectors only; by default a fresh one is
    /// sampled. Every optional input defaults to the empty string, as in the draft.
    ///
    /// - Throws: ``PrimitivesError`` when `scalar` is not a usable scalar.
    package init(
        password: [UInt8],
        channelID: [UInt8] = [],
        sessionID: [UInt8] = [],
        associatedData: [UInt8] = [],
        role: Role,
        scalar: SecretBytes? = nil
    ) throws(PrimitivesError) {
        let scalar = scalar ?? Self.sampleScalar()
        let generator = try Self.generator(password: password, channelID: channelID, sessionID: sessionID)
        self.message = Message(share: try Self.share(scalar: scalar, generator: generator), associatedData: associatedData)
        self.scalar = scalar
        self.sessionID = sessionID
        self.role = role
    }

    /// Ends the run with the peer's message (§6.2): `K = scalar_mult_vfy(y, Y_peer)`, abort if
    /// `K = G.I`, then ISK over the transcript this party's role calls for.
    ///
    /// - Throws: ``PrimitivesError`` with `invalidPublicKey` when the peer's share is not a valid
    ///   encoding or is the neutral element: the run must be abandoned.
    package consuming func finish(peer: Message) throws(PrimitivesError) -> SecretBytes {
        let k = try Self.sharedSecret(scalar: self.scalar, peerShare: peer.share)
        let transcript =
            switch self.role {
            case .initiator: Self.transcriptIR(initiator: self.message, responder: peer)
            case .responder: Self.transcriptIR(initiator: peer, responder: self.message)
            case .symmetric: Self.transcriptOC(self.message, peer)
            }
        return Self.isk(sessionID: self.sessionID, sharedSecret: k, transcript: transcript)
    }
}

// MARK: - The draft's steps

extension CPace {
    /// `prepend_len(data)` (§5.3, Appendix A.1.1): the length of `data` in LEB128, then `data`.
    package static func prependLength(_ data: [UInt8]) -> [UInt8] {
        var length = data.count
        var encoded: [UInt8] = []
        repeat {
            let low = UInt8(length & 0x7F)
            length >>= 7
            encoded.append(length == 0 ? low : low | 0x80)
        } while length != 0
        return encoded + data
    }

    /// `lv_cat(a0, a1, …)` (§5.3, Appendix A.1.3): `prepend_len(a0) || prepend_len(a1) || …`.
    package static func lvCat(_ parts: [UInt8]...) -> [UInt8] {
        parts.reduce(into: []) { $0 += Self.prependLength($1) }
    }

    /// `generator_string(G.DSI, PRS, CI, sid, H.s_in_bytes)` (§7.1, Appendix A.2): DSI and
    /// PRS zero-padded to fill the first SHA-512 block, then CI and sid, each length-prefixed.
    /// The result contains the password.
    package static func generatorString(password: [UInt8], channelID: [UInt8], sessionID: [UInt8]) -> [UInt8] {
        let paddingCount = max(
            0,
            Self.hashBlockSize - 1 - Self.prependLength(password).count - Self.prependLength(Self.dsi).count
        )
        return Self.lvCat(Self.dsi, password, [UInt8](repeating: 0, count: paddingCount), channelID, sessionID)
    }

    /// `G.calculate_generator(H, PRS, CI, sid)` for ristretto255 (§7.3): SHA-512 of the
    /// generator string (64 bytes, 2 × field_size_bytes), mapped to the group by ristretto255's
    /// element derivation (libsodium `crypto_core_ristretto255_from_hash`). Returned encoded,
    /// and as a secret: whoever knows it can test passwords offline.
    ///
    /// - Throws: ``PrimitivesError`` if libsodium fails (it does not for 64-byte input).
    package static func generator(
        password: [UInt8],
        channelID: [UInt8],
        sessionID: [UInt8]
    ) throws(PrimitivesError) -> SecretBytes {
        Primitives.initialize()
        var string = Self.generatorString(password: password, channelID: channelID, sessionID: sessionID)
        defer { sodium_memzero(&string, string.count) }
        var hash = HashFunction.sha512.hash(string)
        defer { sodium_memzero(&hash, hash.count) }
        var point = [UInt8](repeating: 0, count: Self.shareSize)
        defer { sodium_memzero(&point, point.count) }
        guard crypto_core_ristretto255_from_hash(&point, hash) == 0 else {
            throw PrimitivesError(.libraryFailure, "CPace generator")
        }
        return SecretBytes(point)
    }

    /// `G.sample_scalar()` (§7.3): uniform between 1 and group_order − 1, the draft's
    /// alternative to masked random bytes (libsodium `crypto_core_ristretto255_scalar_random`).
    package static func sampleScalar() -> SecretBytes {
        Primitives.initialize()
        var scalar = [UInt8](repeating: 0, count: Self.scalarSize)
        defer { sodium_memzero(&scalar, scalar.count) }
        crypto_core_ristretto255_scalar_random(&scalar)
        return SecretBytes(scalar)
    }

    /// `G.scalar_mult(y, g)` (§7.3): the share `Y = encode(y · g)` for the encoded generator `g`.
    ///
    /// - Throws: ``PrimitivesError`` when `scalar` is not 32 bytes with the top bit clear, or
    ///   the product is the neutral element (a zero scalar).
    package static func share(scalar: SecretBytes, generator: SecretBytes) throws(PrimitivesError) -> [UInt8] {
        try Self.checkScalar(scalar, "CPace share")
        guard generator.count == Self.shareSize else { throw PrimitivesError(.invalidKey, "CPace generator") }
        Primitives.initialize()
        var out = [UInt8](repeating: 0, count: Self.shareSize)
        let rc = scalar.withUnsafeBytes { y in
            generator.withUnsafeBytes { g in
                crypto_scalarmult_ristretto255(
                    &out,
                    y.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    g.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        guard rc == 0 else { throw PrimitivesError(.invalidKey, "CPace share") }
        return out
    }

    /// `K = G.scalar_mult_vfy(y, Y)` with the abort of §6.2: a peer share that does not decode
    /// to a ristretto255 element, or that encodes the neutral element G.I, is refused (§7.3,
    /// §7.3.1), and so is a product equal to G.I.
    ///
    /// - Throws: ``PrimitivesError`` with `invalidPublicKey` for such a share, `invalidKey` for
    ///   a scalar that is not 32 bytes with the top bit clear.
    package static func sharedSecret(scalar: SecretBytes, peerShare: [UInt8]) throws(PrimitivesError) -> SecretBytes {
        let operation = "CPace peer share"
        try Self.checkScalar(scalar, operation)
        Primitives.initialize()
        guard peerShare.count == Self.shareSize,
            crypto_core_ristretto255_is_valid_point(peerShare) == 1,
            sodium_is_zero(peerShare, peerShare.count) == 0
        else { throw PrimitivesError(.invalidPublicKey, operation) }
        var k = [UInt8](repeating: 0, count: Self.shareSize)
        defer { sodium_memzero(&k, k.count) }
        let rc = scalar.withUnsafeBytes {
            crypto_scalarmult_ristretto255(&k, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), peerShare)
        }
        // libsodium returns -1 when the product is the neutral element; checked again for clarity.
        guard rc == 0, sodium_is_zero(k, k.count) == 0 else { throw PrimitivesError(.invalidPublicKey, operation) }
        return SecretBytes(k)
    }

    /// `transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb)` (§5.3, Appendix
    /// A.3.4), for the initiator-responder setting.
    package static func transcriptIR(initiator: Message, responder: Message) -> [UInt8] {
        Self.lvCat(initiator.share, initiator.associatedData) + Self.lvCat(responder.share, responder.associatedData)
    }

    /// `transcript_oc(Ya, ADa, Yb, ADb) = o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb))` (§5.3,
    /// Appendix A.3.6), for the symmetric setting: the same whichever message is passed first.
    package static func transcriptOC(_ a: Message, _ b: Message) -> [UInt8] {
        Self.orderedConcatenation(Self.lvCat(a.share, a.associatedData), Self.lvCat(b.share, b.associatedData))
    }

    /// `o_cat(bytes1, bytes2)` (§5.3, Appendix A.3.2): `b"oc"`, then the lexicographically larger
    /// string, then the other.
    package static func orderedConcatenation(_ bytes1: [UInt8], _ bytes2: [UInt8]) -> [UInt8] {
        let oc = Array("oc".utf8)
        return Self.isLexicographicallyLarger(bytes1, bytes2) ? oc + bytes1 + bytes2 : oc + bytes2 + bytes1
    }

    /// `lexiographically_larger(bytes1, bytes2)` (Appendix A.3.1): the first differing byte
    /// decides; otherwise the longer string is larger.
    package static func isLexicographicallyLarger(_ bytes1: [UInt8], _ bytes2: [UInt8]) -> Bool {
        for (x, y) in zip(bytes1, bytes2) where x != y { return x > y }
        return bytes1.count > bytes2.count
    }

    /// `ISK = H.hash(lv_cat(G.DSI || b"_ISK", sid, K) || transcript)` (§6.2), 64 bytes.
    package static func isk(sessionID: [UInt8], sharedSecret: SecretBytes, transcript: [UInt8]) -> SecretBytes {
        var input = sharedSecret.withUnsafeBytes { Self.lvCat(Self.dsi + Array("_ISK".utf8), sessionID, Array($0)) }
        input += transcript
        defer { sodium_memzero(&input, input.count) }
        var isk = HashFunction.sha512.hash(input)
        defer { sodium_memzero(&isk, isk.count) }
        return SecretBytes(isk)
    }

    /// `sid_output = H.hash(b"CPaceSidOutput" || transcript)` (§9.6): a public session
    /// identifier for runs that had no sid as input. (Appendix B.3.7 labels the prefix
    /// `b"CPaceSidOut"`, but its values are those of §9.6's `b"CPaceSidOutput"`.)
    package static func sessionIDOutput(transcript: [UInt8]) -> [UInt8] {
        HashFunction.sha512.hash(Array("CPaceSidOutput".utf8) + transcript)
    }

    /// A scalar is 32 little-endian bytes; libsodium ignores bit 255, so a scalar with it set is
    /// refused rather than silently changed.
    private static func checkScalar(_ scalar: SecretBytes, _ operation: String) throws(PrimitivesError) {
        guard scalar.count == Self.scalarSize, scalar.withUnsafeBytes({ $0[Self.scalarSize - 1] & 0x80 == 0 }) else {
            throw PrimitivesError(.invalidKey, operation)
        }
    }
}
