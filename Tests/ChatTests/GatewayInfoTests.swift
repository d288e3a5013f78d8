import Testing

@testable import ChatClient

/// polychat's reading of `GET /v1/info`: the document, its URL beside the gateway, and the
/// refusal of a gateway that does not accept polychat's cipher suite.
@Suite struct GatewayInfoClientTests {
    static let document = Array(
        """
        {"gateway_id":"gw_x","version":"9.9.9","protocol":"polygate.gateway.v1","cipher_suites":[3],"future":{"a":1}}
        """.utf8
    )

    @Test func readsTheDocumentAndIgnoresWhatItDoesNotKnow() throws {
        let info = try #require(GatewayInfo.parse(Self.document))
        #expect(info == GatewayInfo(gatewayID: "gw_x", version: "9.9.9", cipherSuites: [3]))
        #expect(GatewayInfo.parse(Array("<html>404</html>".utf8)) == nil)
    }

    @Test func aGatewayWithoutPolychatsSuiteIsRefusedWithTheReason() throws {
        let info = try #require(GatewayInfo.parse(Self.document))
        let error = #expect(throws: ChatError.self) { try info.check(suite: 1, server: "wss://chat.example/v1/gateway") }
        #expect(error?.code == .refused)
        #expect(error?.message.contains("accepts MLS cipher suites 3; this polychat uses suite 1") == true)
        #expect(error?.message.contains("gw_x, polygated 9.9.9") == true)
        #expect(throws: Never.self) { try info.check(suite: 3, server: "x") }
    }

    @Test func theDocumentLivesBesideTheGateway() throws {
        #expect(
            GatewayInfo.url(of: try GatewayEndpoint(parsing: "wss://chat.example/v1/gateway"))
                == "https://chat.example:443/v1/info"
        )
        #expect(GatewayInfo.url(of: try GatewayEndpoint(parsing: "http://[::1]:8080")) == "http://[::1]:8080/v1/info")
        #expect(
            GatewayInfo.url(of: try GatewayEndpoint(parsing: "wss://proxy.example/chat/v1/gateway"))
                == "https://proxy.example:443/chat/v1/info"
        )
    }
}
