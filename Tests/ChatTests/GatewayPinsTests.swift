import GatewayClient
import GatewayWire
import Primitives
import Testing

@testable import ChatClient

/// The gateway keys polychat pins (docs/GATEWAY_SPEC.md §14.1), as values: what is learned
/// from `/v1/info`, a key given by hand, an export, a rotation, and the refusals.
@Suite struct GatewayPinsTests {
    static let k1 = [UInt8](repeating: 1, count: 32)
    static let k2 = [UInt8](repeating: 2, count: 32)
    static let k3 = [UInt8](repeating: 3, count: 32)

    static func info(_ sealed: String?) throws -> GatewayInfo {
        let field = sealed.map { ",\"sealed\":\($0)" } ?? ""
        return try #require(
            GatewayInfo.parse(Array("{\"gateway_id\":\"gw\",\"version\":\"1\",\"cipher_suites\":[1]\(field)}".utf8))
        )
    }

    static func hello(_ keys: [[UInt8]]) -> [Polygate_Gateway_V1_SealedKey] {
        keys.map { key in
            var sealed = Polygate_Gateway_V1_SealedKey()
            sealed.publicKey = .init(key)
            return sealed
        }
    }

    @Test func theInfoDocumentOffersKeysUnlessSealedSessionsAreOff() throws {
        let offered = try Self.info(
            "{\"policy\":\"optional\",\"keys\":[{\"key\":\"\(Hex.encode(Self.k2))\",\"created_ms\":2},{\"key\":\"\(Hex.encode(Self.k1))\",\"created_ms\":1,\"retires_ms\":9}]}"
        )
        #expect(offered.sealedKeys == [Self.k2, Self.k1])
        #expect(try Self.info("{\"policy\":\"off\"}").sealedKeys.isEmpty)
        #expect(try Self.info(nil).sealedKeys.isEmpty)
        // A key that is not 32 bytes of hex is not offered.
        #expect(try Self.info("{\"policy\":\"required\",\"keys\":[{\"key\":\"abcd\"}]}").sealedKeys.isEmpty)
    }

    @Test func aKeyGivenByHandIsSixtyFourHexDigits() throws {
        #expect(try GatewayPins.parse(" " + Hex.encode(Self.k3).uppercased() + "\n") == Self.k3)
        for bad in ["", String(repeating: "a", count: 63), String(repeating: "g", count: 64)] {
            let error = #expect(throws: ChatError.self) { try GatewayPins.parse(bad) }
            #expect(error?.code == .badArgument)
            #expect(error?.message.contains("64 hex digits, as 'polygated show-key' prints on the server") == true)
        }
    }

    @Test func aRotationTheGatewayAnnouncesUnderAPinnedKeyReplacesThePins() {
        let pins = GatewayPins([Self.k1])
        #expect(pins.updated(used: Self.k1, hello: Self.hello([Self.k2, Self.k1])).keys == [Self.k2, Self.k1])
        // The old key retired: the list the gateway gives under the new one.
        #expect(GatewayPins([Self.k2, Self.k1]).updated(used: Self.k2, hello: Self.hello([Self.k2])).keys == [Self.k2])
        // A list without the key the handshake used is not taken, nor are malformed keys.
        #expect(pins.updated(used: Self.k1, hello: Self.hello([Self.k3])) == pins)
        #expect(pins.updated(used: Self.k1, hello: Self.hello([[1, 2, 3], Self.k1])).keys == [Self.k1])
        #expect(GatewayPins(hex: pins.hex) == pins)
        #expect(GatewayPins(hex: nil).isEmpty)
    }

    @Test func initPinsTheGivenKeyTheExportsOrTheOffered() throws {
        let url = "http://gw.example"
        let offered = try Self.info("{\"policy\":\"optional\",\"keys\":[{\"key\":\"\(Hex.encode(Self.k1))\"}]}")
        let off = try Self.info("{\"policy\":\"off\"}")
        #expect(try ChatEngine.initialPins(given: nil, info: offered, export: nil, gatewayURL: url).keys == [Self.k1])
        #expect(try ChatEngine.initialPins(given: nil, info: off, export: nil, gatewayURL: url).isEmpty)
        #expect(try ChatEngine.initialPins(given: nil, info: nil, export: nil, gatewayURL: url).isEmpty)
        #expect(try ChatEngine.initialPins(given: Self.k1, info: offered, export: nil, gatewayURL: url).keys == [Self.k1])
        #expect(try ChatEngine.initialPins(given: Self.k3, info: nil, export: nil, gatewayURL: url).keys == [Self.k3])

        let unlisted = #expect(throws: ChatError.self) {
            try ChatEngine.initialPins(given: Self.k3, info: offered, export: nil, gatewayURL: url)
        }
        #expect(unlisted?.code == .gatewayKey)
        #expect(
            unlisted?.message.contains("does not list the key you gave (\(Hex.encode(Self.k3))); it lists \(Hex.encode(Self.k1))")
                == true
        )
        let none = #expect(throws: ChatError.self) {
            try ChatEngine.initialPins(given: Self.k1, info: off, export: nil, gatewayURL: url)
        }
        #expect(none?.code == .refused)
        #expect(none?.message.contains("offers no sealed sessions") == true)

        // An export pins what its device pinned, for the same gateway only.
        let export = ChatEngine.IdentityExport(bundle: [], conversations: [], gateway: url, gatewayKeys: [Self.k2])
        #expect(try ChatEngine.initialPins(given: nil, info: offered, export: export, gatewayURL: url).keys == [Self.k2])
        #expect(
            try ChatEngine.initialPins(given: nil, info: offered, export: export, gatewayURL: "http://other").keys == [Self.k1]
        )
    }

    @Test func refusalsSayWhatToCheckAndWhatToRun() {
        let mismatch = GatewayPins([Self.k1]).mismatch("https://gw.example", announced: [Self.k3])
        #expect(mismatch.code == .gatewayKey && mismatch.code.exitStatus == 8)
        for part in [
            "did not prove that it holds the key this device pinned for it (\(Hex.encode(Self.k1)))",
            "Its info document now announces \(Hex.encode(Self.k3)).",
            "'polygated show-key'", "polychat servers --gateway-key KEY",
        ] {
            #expect(mismatch.message.contains(part), "\(mismatch.message)")
        }
        #expect(!GatewayPins([Self.k1]).mismatch("x", announced: nil).message.contains("announces"))

        var notFound = GatewayClientError(.refused, "")
        notFound.httpStatus = 404
        let off = ChatEngine.refusal(notFound, "https://gw.example", sealed: true)
        #expect(off.code == .gatewayKey)
        #expect(off.message.contains("does not fall back to a plain connection"))
        #expect(off.message.contains("polychat servers --forget-gateway-key"))
        #expect(ChatEngine.refusal(notFound, "https://gw.example", sealed: false).code == .unreachable)

        var forbidden = GatewayClientError(.refused, "")
        forbidden.httpStatus = 403
        let required = ChatEngine.refusal(forbidden, "https://gw.example", sealed: false)
        #expect(required.code == .refused)
        #expect(required.message.contains("accepts only sealed sessions"))
        #expect(required.message.contains("polychat servers --gateway-key KEY"))
    }
}
