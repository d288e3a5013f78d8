import Noise
import Primitives
import Testing

/// Every vector of the two Noise vector files (Tests/Vectors/noise: cacophony's 944 and snow's
/// 408) replayed both ways: each message written by its sender must equal the vector's bytes and
/// read back by the other side to the payload; after the handshake, cacophony's handshake hash.
/// A file passes whole, or the failing protocol names are listed.
@Suite struct NoiseVectorTests {
    struct File: Decodable {
        var vectors: [Vector]
    }

    struct Vector: Decodable {
        struct Message: Decodable {
            var payload: HexBytes
            var ciphertext: HexBytes
        }

        var protocol_name: String
        var init_prologue: HexBytes
        var resp_prologue: HexBytes
        var init_ephemeral: HexBytes?
        var resp_ephemeral: HexBytes?
        var init_static: HexBytes?
        var resp_static: HexBytes?
        var init_remote_static: HexBytes?
        var resp_remote_static: HexBytes?
        var init_psks: [HexBytes]?
        var resp_psks: [HexBytes]?
        var handshake_hash: HexBytes?
        var messages: [Message]
    }

    /// Replays one vector; nil when it passes, else what went wrong.
    static func replay(_ vector: Vector) -> String? {
        do {
            let noise = try NoiseProtocol(name: vector.protocol_name)
            func side(_ initiator: Bool) throws -> NoiseHandshake {
                let keys =
                    initiator
                    ? (
                        vector.init_prologue, vector.init_static, vector.init_remote_static, vector.init_psks,
                        vector.init_ephemeral
                    )
                    : (
                        vector.resp_prologue, vector.resp_static, vector.resp_remote_static, vector.resp_psks,
                        vector.resp_ephemeral
                    )
                return try NoiseHandshake(
                    noise,
                    initiator: initiator,
                    prologue: keys.0.bytes,
                    staticKey: try keys.1.map { try noise.dh.keyPair(privateKey: SecretBytes($0.bytes)) },
                    remoteStatic: keys.2?.bytes,
                    psks: (keys.3 ?? []).map { SecretBytes($0.bytes) },
                    ephemeral: keys.4.map { SecretBytes($0.bytes) }
                )
            }
            var initiator = try side(true)
            var responder = try side(false)
            let handshakeLength = noise.pattern.messages.count
            var transports: (initiator: NoiseTransport, responder: NoiseTransport)?
            for (index, message) in vector.messages.enumerated() {
                let fromInitiator = noise.pattern.oneWay || index % 2 == 0
                let written: [UInt8]
                let read: [UInt8]
                if index < handshakeLength {
                    if fromInitiator {
                        written = try initiator.writeMessage(message.payload.bytes)
                        read = try responder.readMessage(written)
                    } else {
                        written = try responder.writeMessage(message.payload.bytes)
                        read = try initiator.readMessage(written)
                    }
                    if let a = initiator.transport, let b = responder.transport { transports = (a, b) }
                } else {
                    guard var pair = transports else { return "message \(index): the handshake did not finish" }
                    if fromInitiator {
                        written = try pair.initiator.encrypt(message.payload.bytes)
                        read = try pair.responder.decrypt(written)
                    } else {
                        written = try pair.responder.encrypt(message.payload.bytes)
                        read = try pair.initiator.decrypt(written)
                    }
                    transports = pair
                }
                guard written == message.ciphertext.bytes else { return "message \(index): other bytes than the vector's" }
                guard read == message.payload.bytes else { return "message \(index): read back another payload" }
                if index == handshakeLength - 1, let expected = vector.handshake_hash?.bytes {
                    guard initiator.handshakeHash == expected, responder.handshakeHash == expected else {
                        return "another handshake hash"
                    }
                }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func failures(_ file: String) throws -> (count: Int, failures: [String]) {
        let vectors = try VectorFiles.load("noise/\(file)", as: File.self).vectors
        let failures = vectors.compactMap { vector in Self.replay(vector).map { "\(vector.protocol_name): \($0)" } }
        return (vectors.count, failures)
    }

    @Test func cacophonyPassesWhole() throws {
        let (count, failures) = try Self.failures("cacophony.json")
        #expect(count == 944)
        #expect(failures.isEmpty, "\(failures.count) of \(count) failed:\n\(failures.joined(separator: "\n"))")
    }

    @Test func snowPassesWhole() throws {
        let (count, failures) = try Self.failures("snow.json")
        #expect(count == 408)
        #expect(failures.isEmpty, "\(failures.count) of \(count) failed:\n\(failures.joined(separator: "\n"))")
    }
}
