import Control
import Foundation
import Gateway
import GatewayClient
import GatewayWire
import Noise
import Primitives
import SwiftProtobuf
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sealed sessions through the real daemon (docs/GATEWAY_SPEC.md §14, ADR 0025): a Noise NK
/// channel inside the WebSocket, authentication bound to it, and every refusal.
@Suite struct GatewaySealedTests {
    typealias User = GatewayHarness.User

    /// The gateway's current key, as `GET /v1/info` publishes it.
    static func gatewayKey(_ port: Int) async throws -> [UInt8] {
        let response = try await HTTPTestClient.get(port: port, "/v1/info")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
        let sealed = try #require(document["sealed"] as? [String: Any])
        let keys = try #require(sealed["keys"] as? [[String: Any]])
        let hex = try #require(keys.first?["key"] as? String)
        return try #require(Hex.decode(hex))
    }

    static func sealed<T: Sendable>(
        _ gateway: GatewayHarness,
        key: [UInt8]? = nil,
        _ body: (GatewayConnection) async throws -> T
    ) async throws -> T {
        var pinned = key ?? []
        if key == nil { pinned = try await Self.gatewayKey(gateway.port) }
        return try await GatewayConnection.withWebSocket(
            host: "127.0.0.1",
            port: gateway.port,
            path: "/v1/sealed",
            sealedKey: pinned,
            body
        )
    }

    /// A sealed connection over a raw socket, handshake done: for sending what GatewayClient
    /// never would.
    static func rawSealed(port: Int, key: [UInt8]) throws -> (RawWebSocket, NoiseTransport) {
        let socket = try RawWebSocket.open(port: port, path: "/v1/sealed")
        var handshake = try NoiseHandshake(
            SealedChannel.noise,
            initiator: true,
            prologue: SealedChannel.prologue,
            remoteStatic: key
        )
        socket.send(try handshake.writeMessage())
        let answer = try #require(socket.receive()?.payload)
        _ = try handshake.readMessage(answer)
        return (socket, try #require(handshake.transport))
    }

    @Test func aSealedSessionAuthenticatesSendsAndReceivesLikeAPlainOne() async throws {
        try await GatewayHarness.run { gateway in
            let key = try await Self.gatewayKey(gateway.port)
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.register(b)
            let conv = SecureRandom.bytes(count: 16)
            try await Self.sealed(gateway) { sealed in
                // The gateway's answer lists its keys; the binding is the handshake's.
                let session = try #require(sealed.sealed)
                #expect(session.gatewayKey == key)
                #expect(session.keys.map { [UInt8]($0.publicKey) } == [key])
                #expect(session.keys.first?.retiresMs == 0)
                #expect(session.handshakeHash.count == 32)
                try await eventually("the metrics count the sealed session") {
                    try await HTTPTestClient.get(port: gateway.port, "/metrics").body.contains(
                        "polygate_gateway_sealed_sessions 1"
                    )
                }
                let challenge = try await sealed.challenge()
                #expect(challenge.gatewayID == "gw_test")
                let auth = try await sealed.authenticate(a)
                #expect(!auth.resumeToken.isEmpty)
                try await sealed.createConversation(conv)
                try await sealed.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                // A frame far over one Noise message (65,535 bytes) goes through whole.
                let large = [UInt8](repeating: 0x5A, count: 200_000)
                #expect(try await sealed.send(conv, epoch: 1, large).seq == 2)
                // The plain client reads it; what it sends reaches the sealed one.
                try await gateway.connected(b) { plain in
                    let welcome = try await plain.next("Welcome") { if case .welcome = $0.body { true } else { false } }
                    #expect(welcome.welcome.seq == 1)
                    let backlog = try await plain.backlog()
                    #expect(backlog.count == 1)
                    #expect(backlog.first?.message == Data(large), "the 200,000-byte message arrived altered")
                    try await plain.send(conv, epoch: 1, Array("to the sealed side".utf8))
                }
                let reply = try await sealed.next("the plain client's message") {
                    if case .delivery(let delivery) = $0.body { delivery.seq == 3 } else { false }
                }
                #expect(reply.delivery.message == Data("to the sealed side".utf8))
                // Resume on a new sealed connection: the token, signed over that one's binding.
                try await Self.sealed(gateway) { again in
                    let resumed = try await again.resume(a, token: [UInt8](auth.resumeToken))
                    #expect([UInt8](resumed.deviceID) == a.deviceID.bytes)
                }
            }
        }
    }

    @Test func aSealedSSEStreamCarriesTheSameFrames() async throws {
        try await GatewayHarness.run { gateway in
            let key = try await Self.gatewayKey(gateway.port)
            let (alice, bob) = (User(), User())
            let (a, b) = (try alice.device(), try bob.device())
            try await gateway.register(b)
            let conv = SecureRandom.bytes(count: 16)
            try await GatewayConnection.withSSE(host: "127.0.0.1", port: gateway.port, sealedKey: key) { sse in
                #expect(sse.sealed?.keys.map { [UInt8]($0.publicKey) } == [key])
                let challenge = try await sse.challenge()
                #expect(challenge.streamID.count == 16)
                try await sse.authenticate(a)
                try await sse.createConversation(conv)
                try await sse.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                // POSTs one after the other, each sealed with the next nonce.
                for n in 0..<5 {
                    #expect(try await sse.send(conv, epoch: 1, Array("sealed post \(n)".utf8)).seq == UInt64(2 + n))
                }
                let large = [UInt8](repeating: 0xA5, count: 150_000)
                #expect(try await sse.send(conv, epoch: 1, large).seq == 7)
                try await Self.sealed(gateway) { ws in
                    try await ws.authenticate(b)
                    _ = try await ws.next("Welcome") { if case .welcome = $0.body { true } else { false } }
                    let backlog = try await ws.backlog()
                    #expect(backlog.count == 6)
                    #expect(backlog.last?.message == Data(large), "the 150,000-byte message arrived altered")
                    try await ws.send(conv, epoch: 1, Array("to the sealed stream".utf8))
                }
                let reply = try await sse.next("the WebSocket client's message") {
                    if case .delivery(let delivery) = $0.body { delivery.seq == 8 } else { false }
                }
                #expect(reply.delivery.message == Data("to the sealed stream".utf8))
            }
            // Another key: 403 and what to do; under "required", the plain stream is refused.
            let refused = await #expect(throws: GatewayClientError.self) {
                try await GatewayConnection.withSSE(
                    host: "127.0.0.1",
                    port: gateway.port,
                    sealedKey: SecureRandom.bytes(count: 32)
                ) { _ in }
            }
            #expect(refused?.code == .gatewayKey && refused?.httpStatus == 403)
            let garbage = try await HTTPTestClient.get(port: gateway.port, "/v1/sealed/stream?noise=AAAA")
            #expect(garbage.status == 403)
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/sealed/stream").status == 400)
        }
    }

    @Test func aClientPinningAnotherKeyIsRefusedWith4010() async throws {
        try await GatewayHarness.run { gateway in
            let other = SealedChannel.noise.dh.generateKeyPair().publicKey
            let error = await #expect(throws: GatewayClientError.self) {
                try await Self.sealed(gateway, key: other) { _ in }
            }
            #expect(error?.code == .gatewayKey)
            #expect(error?.closeCode == CloseCode.sealedHandshakeFailed)
            #expect(error?.message.contains("polygated show-key") == true)
        }
    }

    @Test func anAuthenticationNotBoundToTheChannelIsRefused() async throws {
        try await GatewayHarness.run { gateway in
            let device = try User().device()
            try await Self.sealed(gateway) { sealed in
                let challenge = try await sealed.challenge()
                // Signed as on a plain connection: a proxy could have spliced it in.
                let unbound = try device.authenticate(challenge, register: true, binding: nil)
                let error = await #expect(throws: GatewayClientError.self) { try await sealed.call(.authenticate(unbound)) }
                #expect(error?.serverCode == .badSignature)
                try await expectClosed(sealed, CloseCode.authenticationFailed)
            }
            // A plain connection refuses a sealed signature the same way.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { plain in
                let challenge = try await plain.challenge()
                let bound = try device.authenticate(challenge, register: true, binding: SecureRandom.bytes(count: 32))
                let error = await #expect(throws: GatewayClientError.self) { try await plain.call(.authenticate(bound)) }
                #expect(error?.serverCode == .badSignature)
            }
        }
    }

    @Test func alteredReplayedOrReorderedSealedMessagesCloseTheSession() async throws {
        try await GatewayHarness.run { gateway in
            let key = try await Self.gatewayKey(gateway.port)
            for attack in ["altered", "replayed", "reordered"] {
                var (socket, transport) = try Self.rawSealed(port: gateway.port, key: key)
                var ping = Polygate_Gateway_V1_ClientFrame()
                ping.ping.clientTimeMs = 1
                let first = try SealedChannel.seal(try ping.serializedBytes(), with: &transport.send)
                let second = try SealedChannel.seal(try ping.serializedBytes(), with: &transport.send)
                switch attack {
                case "altered":
                    var flipped = first
                    flipped[flipped.count - 1] ^= 1
                    socket.send(flipped)
                case "replayed":
                    socket.send(first)
                    socket.send(first)
                default:
                    socket.send(second)
                }
                // The sealed Challenge, maybe a Pong, then a sealed GoAway 4400 and the close frame.
                var frames: [Polygate_Gateway_V1_ServerFrame] = []
                var closeCode: UInt16?
                while let message = socket.receive() {
                    if let code = message.closeCode {
                        closeCode = code
                        #expect(message.payload?.count == 2, "a sealed close frame carries no reason")
                        break
                    }
                    let opened = try SealedChannel.open(try #require(message.payload), with: &transport.receive)
                    frames.append(try Polygate_Gateway_V1_ServerFrame(serializedBytes: opened))
                }
                #expect(closeCode == CloseCode.protocolError, "\(attack)")
                #expect(frames.first.map { if case .challenge = $0.body { true } else { false } } == true)
                let goAway = try #require(frames.last { if case .goAway = $0.body { true } else { false } })
                #expect(goAway.goAway.code == UInt32(CloseCode.protocolError))
                #expect(goAway.goAway.reason.contains("did not authenticate"))
            }
        }
    }

    @Test func framesArePaddedToTheConfiguredBuckets() async throws {
        try await GatewayHarness.run(gateway: GatewayHarness.baseGatewayConfig + "\nsealed_padding = \"512,8192\"\n") { gateway in
            let info = try await HTTPTestClient.get(port: gateway.port, "/v1/info").body
            #expect(info.contains("\"padding\":[512,8192]"))
            let key = try await Self.gatewayKey(gateway.port)
            var (socket, transport) = try Self.rawSealed(port: gateway.port, key: key)
            // The Challenge (under 100 bytes) and a Pong fill one 512-byte bucket each, plus the tag.
            let challenge = try #require(socket.receive()?.payload)
            #expect(challenge.count == 512 + 16)
            _ = try SealedChannel.open(challenge, with: &transport.receive)
            var ping = Polygate_Gateway_V1_ClientFrame()
            ping.ping.clientTimeMs = 9
            socket.send(try SealedChannel.seal(try ping.serializedBytes(), with: &transport.send))
            let pong = try #require(socket.receive()?.payload)
            #expect(pong.count == 512 + 16)
            let frame = try Polygate_Gateway_V1_ServerFrame(
                serializedBytes: try SealedChannel.open(pong, with: &transport.receive)
            )
            #expect(frame.pong.clientTimeMs == 9)
        }
        // Sizes that are not increasing are refused with the key's name.
        let harness = try DaemonHarness(databaseURL: "postgresql:///unused", extra: "[gateway]\nsealed_padding = \"1024,512\"\n")
        let checked = try await DaemonHarness.run(["check-config", "--config", harness.configPath])
        #expect(checked.status == 78)
        #expect(checked.stderr.contains("gateway.sealed_padding: must be increasing sizes from 64 to 1048576"))
    }

    @Test func garbageOrSilenceInsteadOfAHandshakeEndsTheConnection() async throws {
        try await GatewayHarness.run(gateway: GatewayHarness.config(authTimeout: "1s")) { gateway in
            let garbage = try RawWebSocket.open(port: gateway.port, path: "/v1/sealed")
            garbage.send(Array("not a handshake".utf8))
            #expect(garbage.receive()?.closeCode == CloseCode.sealedHandshakeFailed)
            let silent = try RawWebSocket.open(port: gateway.port, path: "/v1/sealed")
            let started = ContinuousClock.now
            #expect(silent.receive(for: .seconds(10))?.closeCode == CloseCode.authenticationTimeout)
            #expect(ContinuousClock.now - started < .seconds(5))
            // Both count as failed handshakes.
            try await eventually("the metrics count both failures") {
                try await HTTPTestClient.get(port: gateway.port, "/metrics").body
                    .contains("polygate_gateway_sealed_handshake_failures_total 2")
            }
        }
    }

    @Test func thePolicyDecidesWhichRoutesServe() async throws {
        try await GatewayHarness.run(gateway: GatewayHarness.baseGatewayConfig + "\nsealed = \"required\"\n") { gateway in
            let error = await #expect(throws: GatewayClientError.self) {
                try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { _ in }
            }
            #expect(error?.httpStatus == 403)
            let refusal = try await HTTPTestClient.get(
                port: gateway.port,
                "/v1/gateway",
                headers: [
                    "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Version": "13",
                ]
            )
            #expect(refusal.status == 403)
            #expect(refusal.body.contains("accepts only sealed sessions: connect to /v1/sealed"))
            try await Self.sealed(gateway) { sealed in try await sealed.authenticate(try User().device()) }
            let stream = try await HTTPTestClient.get(port: gateway.port, "/v1/stream", headers: ["Accept": "text/event-stream"])
            #expect(stream.status == 403 && stream.body.contains("open /v1/sealed/stream"))
            let info = try await HTTPTestClient.get(port: gateway.port, "/v1/info").body
            #expect(
                info.contains(
                    "\"sealed\":{\"policy\":\"required\",\"protocol\":\"Noise_NK_25519_ChaChaPoly_SHA256\",\"websocket\":\"/v1/sealed\","
                        + "\"sse\":{\"stream\":\"/v1/sealed/stream\",\"send\":\"/v1/send\"}"
                )
            )
        }
        try await GatewayHarness.run(gateway: GatewayHarness.baseGatewayConfig + "\nsealed = \"off\"\n") { gateway in
            let error = await #expect(throws: GatewayClientError.self) {
                try await GatewayConnection.withWebSocket(
                    host: "127.0.0.1",
                    port: gateway.port,
                    path: "/v1/sealed",
                    sealedKey: SecureRandom.bytes(count: 32)
                ) { _ in }
            }
            #expect(error?.httpStatus == 404)
            try await gateway.connected(try User().device()) { _ in }
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/info").body.contains("\"sealed\":{\"policy\":\"off\"}"))
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/sealed/stream?noise=AAAA").status == 404)
        }
    }
}

/// A WebSocket client over a raw socket, for sending what GatewayClient never would: masked
/// binary frames (the zero mask) out, the server's frames in.
struct RawWebSocket {
    struct Message {
        var payload: [UInt8]?
        /// A close frame's code.
        var closeCode: UInt16?
    }

    let connection: RawConnection
    private let buffer = Box()

    final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }

    static func open(port: Int, path: String) throws -> RawWebSocket {
        let connection = try RawConnection.tcp(port: port)
        _ = connection.write(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let head = connection.read(for: .seconds(5)) { $0.firstRange(of: Array("\r\n\r\n".utf8)) != nil }
        guard let end = head.bytes.firstRange(of: Array("\r\n\r\n".utf8)),
            String(decoding: head.bytes[..<end.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 101")
        else { throw TestFailure("no upgrade: \(String(decoding: head.bytes, as: UTF8.self))") }
        let socket = RawWebSocket(connection: connection)
        socket.buffer.bytes = Array(head.bytes[end.upperBound...])
        return socket
    }

    /// One binary message, masked with the zero key.
    func send(_ payload: [UInt8]) {
        var frame: [UInt8] = [0x82]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [0x80 | 127] + (0..<8).map { UInt8(truncatingIfNeeded: payload.count >> (56 - 8 * $0)) }
        }
        frame += [0, 0, 0, 0] + payload
        _ = self.connection.write(frame)
    }

    /// The next message from the server (unfragmented, as polygated sends them); nil when the
    /// connection ends first.
    func receive(for timeout: Duration = .seconds(10)) -> Message? {
        while true {
            if let (message, length) = Self.parse(self.buffer.bytes) {
                self.buffer.bytes.removeFirst(length)
                return message
            }
            let more = self.connection.read(for: timeout) { !$0.isEmpty }
            guard !more.bytes.isEmpty else { return nil }
            self.buffer.bytes += more.bytes
        }
    }

    static func parse(_ bytes: [UInt8]) -> (Message, Int)? {
        guard bytes.count >= 2 else { return nil }
        let opcode = bytes[0] & 0x0F
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[$1]) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        let payload = Array(bytes[offset..<(offset + length)])
        if opcode == 0x8 {
            let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
            return (Message(payload: payload, closeCode: code), offset + length)
        }
        return (Message(payload: payload, closeCode: nil), offset + length)
    }
}

/// Issue 21: an independent Noise implementation (Python's `noiseprotocol` from PyPI, with a
/// WebSocket and protobuf written by hand from the spec: Tests/Interop/sealed_client.py) runs
/// the sealed handshake, reads the sealed Challenge, pings and authenticates against polygated.
@Suite struct GatewaySealedInteropTests {
    static var python: String {
        get throws {
            guard let python = TestEnvironment.get("POLYGATE_TEST_PYTHON") else {
                throw TestFailure(
                    "POLYGATE_TEST_PYTHON is not set: run the tests with scripts/test.sh (it runs scripts/pyvenv.sh)"
                )
            }
            return python
        }
    }

    static let script = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Tests/Interop/sealed_client.py"

    @Test func pythonsNoiseClientHandshakesPingsAndAuthenticates() async throws {
        try await GatewayHarness.run { gateway in
            let run = try await TestProcess.run(try Self.python, [Self.script, "\(gateway.port)"])
            #expect(run.status == 0, "\(run.output)")
            let lines = run.output.split(separator: "\n").map(String.init)
            #expect(
                Array(lines.prefix(3)) == [
                    "handshake done: 1 keys, the first is the pinned one",
                    "challenge: gateway gw_test, nonce of 32 bytes",
                    "pong: client_time_ms 4242",
                ]
            )
            let words = try #require(lines.last?.split(separator: " ").map(String.init))
            #expect(words.count == 10 && words[0] == "authenticated:" && words[4] == "matches,", "\(lines)")
            // The device it registered is the gateway's now.
            let user = words.count > 2 ? words[2].trimmingCharacters(in: [","]) : ""
            let devices = try await Gwctl.ok(["--json", "device", "list", user], socket: gateway.controlPath).items()
            #expect(devices.count == 1 && devices.first?["name"]?.string == "python interop", "\(devices)")
            // A flipped bit in its sealed Authenticate closes the connection with 4400.
            let flipped = try await TestProcess.run(try Self.python, [Self.script, "\(gateway.port)", "--flip"])
            #expect(flipped.status == 0, "\(flipped.output)")
            #expect(flipped.output.hasSuffix("closed: 4400\n"))
            // A key the gateway does not hold: refused at once with 4010.
            let other = Hex.encode(SealedChannel.noise.dh.generateKeyPair().publicKey)
            let refused = try await TestProcess.run(try Self.python, [Self.script, "\(gateway.port)", "--key", other])
            #expect(refused.output == "refused: close 4010\n")
        }
    }
}
