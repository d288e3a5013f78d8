import Noise
import Primitives
import Testing

/// The Noise handshake and transport as values: what the sealed gateway session relies on
/// (NK with the gateway's static key, ADR 0025) and every refusal.
@Suite struct NoiseHandshakeTests {
    static let nk = try! NoiseProtocol(name: "Noise_NK_25519_ChaChaPoly_SHA256")

    /// A completed NK handshake: the client's and the gateway's transports.
    static func handshake(
        prologue: [UInt8] = Array("polygate".utf8)
    ) throws -> (client: NoiseTransport, gateway: NoiseTransport, gatewayKey: NoiseKeyPair) {
        let gatewayKey = Self.nk.dh.generateKeyPair()
        var client = try NoiseHandshake(Self.nk, initiator: true, prologue: prologue, remoteStatic: gatewayKey.publicKey)
        var gateway = try NoiseHandshake(Self.nk, initiator: false, prologue: prologue, staticKey: gatewayKey)
        #expect(try gateway.readMessage(try client.writeMessage(Array("hello".utf8))) == Array("hello".utf8))
        #expect(try client.readMessage(try gateway.writeMessage()) == [])
        return (try #require(client.transport), try #require(gateway.transport), gatewayKey)
    }

    @Test func nkGivesBothSidesTheSameChannelBinding() throws {
        let (client, gateway, _) = try Self.handshake()
        #expect(client.handshakeHash == gateway.handshakeHash)
        #expect(client.handshakeHash.count == 32)
        // Two sessions never share keys or a binding (fresh ephemerals).
        let (other, _, _) = try Self.handshake()
        #expect(other.handshakeHash != client.handshakeHash)
    }

    @Test func alteredReplayedAndReorderedTransportMessagesAreRefused() throws {
        var (client, gateway, _) = try Self.handshake()
        let first = try client.encrypt(Array("first".utf8))
        let second = try client.encrypt(Array("second".utf8))
        // Reordered: the second before the first.
        var reordered = gateway
        #expect(throws: NoiseError.self) { try reordered.decrypt(second) }
        // Altered: one bit.
        var altered = gateway
        var flipped = first
        flipped[2] ^= 0x01
        #expect(throws: NoiseError.self) { try altered.decrypt(flipped) }
        // In order: fine; replayed: refused.
        #expect(try gateway.decrypt(first) == Array("first".utf8))
        let replay = #expect(throws: NoiseError.self) { try gateway.decrypt(first) }
        #expect(replay?.code == .decryptFailed)
        #expect(try gateway.decrypt(second) == Array("second".utf8))
        // The other direction has its own key: a client message is no gateway message.
        #expect(throws: NoiseError.self) { try client.decrypt(first) }
        let reply = try gateway.encrypt(Array("reply".utf8))
        #expect(try client.decrypt(reply) == Array("reply".utf8))
    }

    @Test func aClientWithAnotherGatewayKeyIsRefusedAtItsFirstMessage() throws {
        let wrong = Self.nk.dh.generateKeyPair()
        var client = try NoiseHandshake(Self.nk, initiator: true, remoteStatic: wrong.publicKey)
        var gateway = try NoiseHandshake(Self.nk, initiator: false, staticKey: Self.nk.dh.generateKeyPair())
        // NK's first payload is sealed under `es`: even empty, it carries a tag only the holder
        // of the key the client pinned can verify.
        let first = try client.writeMessage()
        #expect(first.count == 32 + 16)
        let refused = #expect(throws: NoiseError.self) { try gateway.readMessage(first) }
        #expect(refused?.code == .decryptFailed)
    }

    @Test func prologuesMustAgree() throws {
        let key = Self.nk.dh.generateKeyPair()
        var client = try NoiseHandshake(Self.nk, initiator: true, prologue: [1], remoteStatic: key.publicKey)
        var gateway = try NoiseHandshake(Self.nk, initiator: false, prologue: [2], staticKey: key)
        #expect(throws: NoiseError.self) { try gateway.readMessage(try client.writeMessage()) }
    }

    @Test func messagesOutOfTurnMissingKeysAndUnknownNamesAreRefused() throws {
        let key = Self.nk.dh.generateKeyPair()
        var client = try NoiseHandshake(Self.nk, initiator: true, remoteStatic: key.publicKey)
        var gateway = try NoiseHandshake(Self.nk, initiator: false, staticKey: key)
        #expect(throws: NoiseError.self) { try gateway.writeMessage() }
        #expect(throws: NoiseError.self) { try client.readMessage([0]) }
        let first = try client.writeMessage()
        #expect(throws: NoiseError.self) { try client.writeMessage() }
        #expect((#expect(throws: NoiseError.self) { try gateway.readMessage(Array(first.prefix(10))) })?.code == .truncated)
        _ = try gateway.readMessage(first)
        _ = try client.readMessage(try gateway.writeMessage())
        #expect(client.transport != nil && gateway.transport != nil)
        #expect(throws: NoiseError.self) { try client.writeMessage() }

        let missing = #expect(throws: NoiseError.self) { try NoiseHandshake(Self.nk, initiator: true) }
        #expect(missing?.code == .missingKey)
        #expect(
            (#expect(throws: NoiseError.self) {
                try NoiseHandshake(NoiseProtocol(name: "Noise_NNpsk0_25519_ChaChaPoly_SHA256"), initiator: true)
            })?.code == .missingKey
        )
        for name in [
            "Noise_NK_25519_ChaChaPoly", "Noise_QQ_25519_ChaChaPoly_SHA256", "Noise_NK_25519_AESCTR_SHA256",
            "Noise_NKfallback_25519_ChaChaPoly_SHA256", "Noise_NKpsk9_25519_ChaChaPoly_SHA256", "Noise_NK_P256_ChaChaPoly_SHA256",
        ] {
            let error = #expect(throws: NoiseError.self, "\(name)") { try NoiseProtocol(name: name) }
            #expect(error?.code == .unknownProtocol)
        }
    }

    @Test func transportMessagesAreAtMost65535Bytes() throws {
        var (client, gateway, _) = try Self.handshake()
        let largest = [UInt8](repeating: 7, count: 65_535 - 16)
        #expect(try gateway.decrypt(try client.encrypt(largest)) == largest)
        #expect((#expect(throws: NoiseError.self) { try client.encrypt(largest + [0]) })?.code == .tooLong)
        #expect(
            (#expect(throws: NoiseError.self) {
                try gateway.decrypt(largest + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            })?.code == .tooLong
        )
    }

    @Test func aVectorReplayedWithOneByteChangedFails() throws {
        var vector = try VectorFiles.load("noise/cacophony.json", as: NoiseVectorTests.File.self).vectors.first {
            $0.protocol_name == "Noise_NK_25519_ChaChaPoly_SHA256"
        }
        #expect(vector.map(NoiseVectorTests.replay) == .some(nil))
        var bytes = try #require(vector?.messages[1].ciphertext.bytes)
        bytes[bytes.count - 1] ^= 0x80
        vector?.messages[1].ciphertext = HexBytes(bytes: bytes)
        #expect(vector.flatMap(NoiseVectorTests.replay) == "message 1: other bytes than the vector's")
    }

    @Test func descriptionsHoldNoSecrets() throws {
        let pair = Self.nk.dh.generateKeyPair()
        let text = "\(pair)"
        #expect(text.contains(Hex.encode(pair.publicKey)))
        #expect(!text.contains(Hex.encode(pair.privateKey.bytes)))
    }
}
