import GatewayWire
import Primitives
import Testing

/// Pairing codes and the keys of a pairing (ADR 0023), as values.
@Suite struct PairingCodeTests {
    @Test func codesAreSixteenCrockfordCharactersAndReadBack() throws {
        let code = PairingCode(id: [0x08, 0x42, 0x10, 0x84, 0x21], secret: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(code.text == "1111-1111-ZZZZ-ZZZZ")
        #expect(code.idText == "11111111")
        #expect(PairingCode(id: [0, 0, 0, 0, 0], secret: [0, 0, 0, 0, 1]).text == "0000-0000-0000-0001")
        for _ in 0..<100 {
            let random = PairingCode.random(id: SecureRandom.bytes(count: 5))
            #expect(try PairingCode(parsing: random.text) == random)
            #expect(PairingCode.id(parsing: random.idText) == random.id)
        }
        // Typing is forgiving: case, spaces, dashes, and I, L, O for 1, 1, 0.
        #expect(try PairingCode(parsing: "iiii llll zzzz-zzzz") == code)
        #expect(try PairingCode(parsing: "oooo0000000O000l").text == "0000-0000-0000-0001")
        // Two random codes for one id differ in their secret halves.
        #expect(PairingCode.random(id: code.id).secret != PairingCode.random(id: code.id).secret)
    }

    @Test func aMistypedCodeSaysWhatACodeLooksLike() {
        #expect(throws: PairingCode.Problem.self) { try PairingCode(parsing: "1111-1111-ZZZZ-ZZZ") }
        do {
            _ = try PairingCode(parsing: "1111-1111-ZZZZ-ZZZ")
        } catch {
            #expect(error.description.contains("16 letters and digits") && error.description.contains("this has 15"))
        }
        do {
            _ = try PairingCode(parsing: "1111-1111-ZZZZ-ZZZU")
        } catch {
            #expect(error.description.hasPrefix("'U' is not in a pairing code"))
        }
        #expect(PairingCode.id(parsing: "1111111") == nil)
        #expect(PairingCode.id(parsing: "1111-111") == nil)
        #expect(PairingCode.id(parsing: "1111111U") == nil)
    }

    /// Both ends of a CPace run with the code's secret as the password.
    static func keys(
        _ initiatorSecret: [UInt8],
        _ responderSecret: [UInt8]
    ) throws -> (PairingKeys, PairingKeys, [UInt8], [UInt8]) {
        let channel = PairingKeys.channelID(gatewayID: "gw_test")
        let session = SecureRandom.bytes(count: 16)
        let initiator = try CPace(password: initiatorSecret, channelID: channel, sessionID: session, role: .initiator)
        let responder = try CPace(password: responderSecret, channelID: channel, sessionID: session, role: .responder)
        let (a, b) = (initiator.message, responder.message)
        return (
            try PairingKeys(isk: try initiator.finish(peer: b)), try PairingKeys(isk: try responder.finish(peer: a)),
            a.share, b.share
        )
    }

    @Test func theSameSecretGivesBothDevicesTheSameKeysAndVerificationString() throws {
        let id = SecureRandom.bytes(count: 5)
        let secret = SecureRandom.bytes(count: 5)
        let (old, new, ya, yb) = try Self.keys(secret, secret)
        #expect(old.verification == new.verification)
        #expect(old.verification.count == 7 && old.verification.dropFirst(3).first == " ")
        #expect(old.verification.filter(\.isNumber).count == 6)
        #expect(old.transfer.bytes == new.transfer.bytes && old.transfer.count == 32)
        // Each side checks the other's confirmation; its own does not pass for the other's.
        let fromNew = new.confirmation(initiator: false, pairingID: id, initiatorShare: ya, responderShare: yb)
        #expect(old.verify(fromNew, fromInitiator: false, pairingID: id, initiatorShare: ya, responderShare: yb))
        #expect(!old.verify(fromNew, fromInitiator: true, pairingID: id, initiatorShare: ya, responderShare: yb))
        // Bound to this pairing and these shares.
        #expect(!old.verify(fromNew, fromInitiator: false, pairingID: [0, 0, 0, 0, 0], initiatorShare: ya, responderShare: yb))
        #expect(!old.verify(fromNew, fromInitiator: false, pairingID: id, initiatorShare: yb, responderShare: ya))
        let fromOld = old.confirmation(initiator: true, pairingID: id, initiatorShare: ya, responderShare: yb)
        #expect(new.verify(fromOld, fromInitiator: true, pairingID: id, initiatorShare: ya, responderShare: yb))
    }

    @Test func aWrongSecretIsCaughtByTheConfirmation() throws {
        let id = SecureRandom.bytes(count: 5)
        var wrong = SecureRandom.bytes(count: 5)
        let secret = SecureRandom.bytes(count: 5)
        if wrong == secret { wrong[0] ^= 1 }
        let (old, new, ya, yb) = try Self.keys(secret, wrong)
        #expect(old.transfer.bytes != new.transfer.bytes)
        let fromNew = new.confirmation(initiator: false, pairingID: id, initiatorShare: ya, responderShare: yb)
        #expect(!old.verify(fromNew, fromInitiator: false, pairingID: id, initiatorShare: ya, responderShare: yb))
    }
}
