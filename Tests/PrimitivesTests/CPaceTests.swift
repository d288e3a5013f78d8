import Foundation
import Primitives
import Testing

/// CPACE-RISTR255-SHA512 against every vector of draft-irtf-cfrg-cpace-13 Appendix B.3 and the
/// string functions of Appendix A, then whole runs between two parties.
@Suite struct CPaceTests {
    struct Vectors: Decodable {
        let source: String
        let suite: String
        let functions: Functions
        let protocol_: Flow
        let scalar_mult_valid: ScalarMultValid
        let scalar_mult_vfy_invalid: ScalarMultInvalid

        enum CodingKeys: String, CodingKey {
            case source, suite, functions, scalar_mult_valid, scalar_mult_vfy_invalid
            case protocol_ = "protocol"
        }

        struct Functions: Decodable {
            let prepend_len: [PrependLen]
            let lv_cat: LvCat
            let lexiographically_larger: [Larger]
            let o_cat: [OCat]
            let transcript_ir: [Transcript]
            let transcript_oc: [Transcript]
        }

        struct PrependLen: Decodable {
            let input: HexBytes
            let output: HexBytes
        }

        struct LvCat: Decodable {
            let inputs: [HexBytes]
            let output: HexBytes
        }

        struct Larger: Decodable {
            let bytes1: HexBytes
            let bytes2: HexBytes
            let larger: Bool
        }

        struct OCat: Decodable {
            let bytes1: HexBytes
            let bytes2: HexBytes
            let output: HexBytes
        }

        struct Transcript: Decodable {
            let Ya: HexBytes
            let ADa: HexBytes
            let Yb: HexBytes
            let ADb: HexBytes
            let output: HexBytes
        }

        /// B.3.1 to B.3.7.
        struct Flow: Decodable {
            let H_s_in_bytes: Int
            let PRS: HexBytes
            let ZPAD_length: Int
            let DSI: HexBytes
            let CI: HexBytes
            let sid: HexBytes
            let generator_string: HexBytes
            let hash_result: HexBytes
            let g: HexBytes
            let ADa: HexBytes
            let ya: HexBytes
            let Ya: HexBytes
            let ADb: HexBytes
            let yb: HexBytes
            let Yb: HexBytes
            let K: HexBytes
            let DSI_ISK: HexBytes
            let transcript_ir: HexBytes
            let ISK_input_ir: HexBytes
            let ISK_IR: HexBytes
            let transcript_oc: HexBytes
            let ISK_input_oc: HexBytes
            let ISK_SY: HexBytes
            let sid_output_ir: HexBytes
            let sid_output_oc: HexBytes
        }

        /// B.3.10.
        struct ScalarMultValid: Decodable {
            let s: HexBytes
            let X: HexBytes
            let scalar_mult: HexBytes
            let scalar_mult_vfy: HexBytes
        }

        /// B.3.11.
        struct ScalarMultInvalid: Decodable {
            let s: HexBytes
            let Y_i1: HexBytes
            let Y_i2: HexBytes
        }
    }

    static func load() throws -> Vectors {
        try VectorFiles.load("cpace/cpace-ristretto255-sha512.json", as: Vectors.self)
    }

    static func messageA(_ p: Vectors.Flow) -> CPace.Message { CPace.Message(share: p.Ya.bytes, associatedData: p.ADa.bytes) }
    static func messageB(_ p: Vectors.Flow) -> CPace.Message { CPace.Message(share: p.Yb.bytes, associatedData: p.ADb.bytes) }

    @Test func theFileNamesItsSource() throws {
        let v = try Self.load()
        #expect(v.source.contains("draft-irtf-cfrg-cpace-13"))
        #expect(v.source.contains("B.3"))
        #expect(v.suite == "CPACE-RISTR255-SHA512")
    }

    // MARK: Appendix A: string functions

    @Test func prependLenAndLvCatMatchAppendixA1() throws {
        let f = try Self.load().functions
        #expect(f.prepend_len.count == 4)
        for vector in f.prepend_len {
            #expect(CPace.prependLength(vector.input.bytes) == vector.output.bytes, "\(vector.input.bytes.count) bytes")
        }
        let parts = f.lv_cat.inputs.map(\.bytes)
        #expect(parts.count == 4)
        #expect(CPace.lvCat(parts[0], parts[1], parts[2], parts[3]) == f.lv_cat.output.bytes)
    }

    @Test func orderedConcatenationMatchesAppendixA3() throws {
        let f = try Self.load().functions
        #expect(f.lexiographically_larger.count == 6)
        for vector in f.lexiographically_larger {
            #expect(
                CPace.isLexicographicallyLarger(vector.bytes1.bytes, vector.bytes2.bytes) == vector.larger,
                "\(vector.bytes1) > \(vector.bytes2)"
            )
        }
        #expect(f.o_cat.count == 2)
        for vector in f.o_cat {
            #expect(CPace.orderedConcatenation(vector.bytes1.bytes, vector.bytes2.bytes) == vector.output.bytes)
        }
    }

    @Test func transcriptsMatchAppendixA3() throws {
        let f = try Self.load().functions
        #expect(f.transcript_ir.count == 2 && f.transcript_oc.count == 2)
        for vector in f.transcript_ir {
            let a = CPace.Message(share: vector.Ya.bytes, associatedData: vector.ADa.bytes)
            let b = CPace.Message(share: vector.Yb.bytes, associatedData: vector.ADb.bytes)
            #expect(CPace.transcriptIR(initiator: a, responder: b) == vector.output.bytes)
        }
        for vector in f.transcript_oc {
            let a = CPace.Message(share: vector.Ya.bytes, associatedData: vector.ADa.bytes)
            let b = CPace.Message(share: vector.Yb.bytes, associatedData: vector.ADb.bytes)
            #expect(CPace.transcriptOC(a, b) == vector.output.bytes)
            #expect(CPace.transcriptOC(b, a) == vector.output.bytes)
        }
    }

    // MARK: Appendix B.3: ristretto255 and SHA-512

    /// B.3.1: generator string, its hash and the generator.
    @Test func generatorMatchesB31() throws {
        let p = try Self.load().protocol_
        #expect(p.H_s_in_bytes == 128)
        #expect(CPace.dsi == p.DSI.bytes)
        let string = CPace.generatorString(password: p.PRS.bytes, channelID: p.CI.bytes, sessionID: p.sid.bytes)
        #expect(Hex.encode(string) == p.generator_string.description)
        // lv_cat(DSI, PRS, ZPAD, …): ZPAD's length byte follows 1 + 17 + 1 + 8 bytes.
        #expect(Int(string[27]) == p.ZPAD_length)
        #expect(HashFunction.sha512.hash(string) == p.hash_result.bytes)
        let g = try CPace.generator(password: p.PRS.bytes, channelID: p.CI.bytes, sessionID: p.sid.bytes)
        #expect(Hex.encode(g.bytes) == p.g.description)
    }

    /// B.3.2 and B.3.3: Ya and Yb from the given scalars.
    @Test func sharesMatchB32AndB33() throws {
        let p = try Self.load().protocol_
        let g = try CPace.generator(password: p.PRS.bytes, channelID: p.CI.bytes, sessionID: p.sid.bytes)
        #expect(Hex.encode(try CPace.share(scalar: SecretBytes(p.ya.bytes), generator: g)) == p.Ya.description)
        #expect(Hex.encode(try CPace.share(scalar: SecretBytes(p.yb.bytes), generator: g)) == p.Yb.description)
    }

    /// B.3.4: K from either side.
    @Test func sharedPointMatchesB34() throws {
        let p = try Self.load().protocol_
        let ka = try CPace.sharedSecret(scalar: SecretBytes(p.ya.bytes), peerShare: p.Yb.bytes)
        let kb = try CPace.sharedSecret(scalar: SecretBytes(p.yb.bytes), peerShare: p.Ya.bytes)
        #expect(Hex.encode(ka.bytes) == p.K.description)
        #expect(Hex.encode(kb.bytes) == p.K.description)
    }

    /// B.3.5: ISK, initiator-responder.
    @Test func initiatorResponderISKMatchesB35() throws {
        let p = try Self.load().protocol_
        #expect(CPace.dsi + Array("_ISK".utf8) == p.DSI_ISK.bytes)
        let transcript = CPace.transcriptIR(initiator: Self.messageA(p), responder: Self.messageB(p))
        #expect(Hex.encode(transcript) == p.transcript_ir.description)
        #expect(CPace.lvCat(p.DSI_ISK.bytes, p.sid.bytes, p.K.bytes) + transcript == p.ISK_input_ir.bytes)
        let isk = CPace.isk(sessionID: p.sid.bytes, sharedSecret: SecretBytes(p.K.bytes), transcript: transcript)
        #expect(isk.count == CPace.iskSize)
        #expect(Hex.encode(isk.bytes) == p.ISK_IR.description)
    }

    /// B.3.6: ISK, parallel execution (ordered concatenation).
    @Test func orderedConcatenationISKMatchesB36() throws {
        let p = try Self.load().protocol_
        let transcript = CPace.transcriptOC(Self.messageA(p), Self.messageB(p))
        #expect(Hex.encode(transcript) == p.transcript_oc.description)
        #expect(CPace.transcriptOC(Self.messageB(p), Self.messageA(p)) == transcript)
        #expect(CPace.lvCat(p.DSI_ISK.bytes, p.sid.bytes, p.K.bytes) + transcript == p.ISK_input_oc.bytes)
        let isk = CPace.isk(sessionID: p.sid.bytes, sharedSecret: SecretBytes(p.K.bytes), transcript: transcript)
        #expect(Hex.encode(isk.bytes) == p.ISK_SY.description)
    }

    /// B.3.7: the optional session identifier output (§9.6).
    @Test func sessionIDOutputMatchesB37() throws {
        let p = try Self.load().protocol_
        let ir = CPace.transcriptIR(initiator: Self.messageA(p), responder: Self.messageB(p))
        let oc = CPace.transcriptOC(Self.messageA(p), Self.messageB(p))
        #expect(Hex.encode(CPace.sessionIDOutput(transcript: ir)) == p.sid_output_ir.description)
        #expect(Hex.encode(CPace.sessionIDOutput(transcript: oc)) == p.sid_output_oc.description)
    }

    /// B.3.2 to B.3.6 once more, through two parties given the vector's scalars.
    @Test(arguments: [CPace.Role.initiator, .symmetric])
    func partiesWithTheVectorScalarsReachTheVectorISK(role: CPace.Role) throws {
        let p = try Self.load().protocol_
        let a = try CPace(
            password: p.PRS.bytes,
            channelID: p.CI.bytes,
            sessionID: p.sid.bytes,
            associatedData: p.ADa.bytes,
            role: role,
            scalar: SecretBytes(p.ya.bytes)
        )
        let b = try CPace(
            password: p.PRS.bytes,
            channelID: p.CI.bytes,
            sessionID: p.sid.bytes,
            associatedData: p.ADb.bytes,
            role: role == .initiator ? .responder : .symmetric,
            scalar: SecretBytes(p.yb.bytes)
        )
        let (messageA, messageB) = (a.message, b.message)
        #expect(messageA == Self.messageA(p))
        #expect(messageB == Self.messageB(p))
        let iskA = try a.finish(peer: messageB)
        let iskB = try b.finish(peer: messageA)
        let expected = role == .initiator ? p.ISK_IR : p.ISK_SY
        #expect(Hex.encode(iskA.bytes) == expected.description)
        #expect(Hex.encode(iskB.bytes) == expected.description)
    }

    /// B.3.10: scalar_mult and scalar_mult_vfy with a valid point.
    @Test func scalarMultMatchesB310() throws {
        let v = try Self.load().scalar_mult_valid
        let s = SecretBytes(v.s.bytes)
        #expect(Hex.encode(try CPace.share(scalar: s, generator: SecretBytes(v.X.bytes))) == v.scalar_mult.description)
        #expect(Hex.encode(try CPace.sharedSecret(scalar: s, peerShare: v.X.bytes).bytes) == v.scalar_mult_vfy.description)
    }

    /// B.3.11: a string that is no ristretto255 encoding (Y_i1) and the neutral element (Y_i2)
    /// are refused, and a run that receives either aborts.
    @Test func invalidSharesAreRefusedAsB311Requires() throws {
        let v = try Self.load().scalar_mult_vfy_invalid
        let p = try Self.load().protocol_
        #expect(v.Y_i2.bytes == CPace.identity)
        for bad in [v.Y_i1.bytes, v.Y_i2.bytes] {
            let error = #expect(throws: PrimitivesError.self) {
                try CPace.sharedSecret(scalar: SecretBytes(v.s.bytes), peerShare: bad)
            }
            #expect(error?.code == .invalidPublicKey)
            #expect(error?.description == "CPace peer share: invalid_public_key")
            for role in [CPace.Role.initiator, .responder, .symmetric] {
                let runError = #expect(throws: PrimitivesError.self) {
                    let party = try CPace(password: p.PRS.bytes, sessionID: p.sid.bytes, role: role)
                    _ = try party.finish(peer: CPace.Message(share: bad, associatedData: p.ADb.bytes))
                }
                #expect(runError?.code == .invalidPublicKey)
            }
        }
    }

    // MARK: Edges

    @Test func malformedScalarsAndSharesAreRefused() throws {
        let p = try Self.load().protocol_
        let g = try CPace.generator(password: p.PRS.bytes, channelID: p.CI.bytes, sessionID: p.sid.bytes)
        var highBit = p.ya.bytes
        highBit[31] |= 0x80
        for scalar in [highBit, Array(p.ya.bytes.prefix(31)), [UInt8](repeating: 0, count: 32)] {
            #expect(throws: PrimitivesError.self) { try CPace.share(scalar: SecretBytes(scalar), generator: g) }
        }
        #expect(throws: PrimitivesError.self) { try CPace.sharedSecret(scalar: SecretBytes(highBit), peerShare: p.Yb.bytes) }
        for share in [Array(p.Yb.bytes.prefix(31)), p.Yb.bytes + [0], []] {
            let error = #expect(throws: PrimitivesError.self) {
                try CPace.sharedSecret(scalar: SecretBytes(p.ya.bytes), peerShare: share)
            }
            #expect(error?.code == .invalidPublicKey)
        }
    }

    @Test func sampledScalarsAreFreshAndUsable() throws {
        let first = CPace.sampleScalar()
        let second = CPace.sampleScalar()
        #expect(first.count == CPace.scalarSize)
        #expect(first != second)
        #expect(first.withUnsafeBytes { $0[31] } < 0x10)  // below the group order, about 2^252
        #expect("\(first)" == "SecretBytes(32 bytes)")
    }

    // MARK: Whole runs

    struct Run {
        let iskA: SecretBytes
        let iskB: SecretBytes
    }

    static func run(
        passwordA: String,
        passwordB: String,
        channelID: [UInt8] = Array("polygate test channel".utf8),
        sessionIDA: [UInt8] = [1, 2, 3, 4],
        sessionIDB: [UInt8] = [1, 2, 3, 4],
        symmetric: Bool = false
    ) throws -> Run {
        let a = try CPace(
            password: Array(passwordA.utf8),
            channelID: channelID,
            sessionID: sessionIDA,
            associatedData: Array("device A".utf8),
            role: symmetric ? .symmetric : .initiator
        )
        let b = try CPace(
            password: Array(passwordB.utf8),
            channelID: channelID,
            sessionID: sessionIDB,
            associatedData: Array("device B".utf8),
            role: symmetric ? .symmetric : .responder
        )
        let (messageA, messageB) = (a.message, b.message)
        #expect(messageA.share.count == CPace.shareSize)
        #expect(messageA.share != messageB.share)
        return Run(iskA: try a.finish(peer: messageB), iskB: try b.finish(peer: messageA))
    }

    @Test(arguments: [false, true])
    func samePasswordSameISK(symmetric: Bool) throws {
        let run = try Self.run(passwordA: "correct horse", passwordB: "correct horse", symmetric: symmetric)
        #expect(run.iskA.count == CPace.iskSize)
        #expect(run.iskA == run.iskB)
        let again = try Self.run(passwordA: "correct horse", passwordB: "correct horse", symmetric: symmetric)
        #expect(again.iskA != run.iskA)  // fresh scalars, fresh key
    }

    @Test(arguments: [false, true])
    func differentInputsDifferentISKs(symmetric: Bool) throws {
        let password = try Self.run(passwordA: "correct horse", passwordB: "correct hörse", symmetric: symmetric)
        #expect(password.iskA != password.iskB)
        let sessionID = try Self.run(passwordA: "pw", passwordB: "pw", sessionIDB: [1, 2, 3, 5], symmetric: symmetric)
        #expect(sessionID.iskA != sessionID.iskB)
    }

    /// Both sides claiming the initiator role see different transcripts and so different keys.
    @Test func mismatchedRolesDisagree() throws {
        let a = try CPace(password: Array("pw".utf8), role: .initiator)
        let b = try CPace(password: Array("pw".utf8), role: .initiator)
        let (messageA, messageB) = (a.message, b.message)
        let iskA = try a.finish(peer: messageB)
        let iskB = try b.finish(peer: messageA)
        #expect(iskA != iskB)
    }
}
