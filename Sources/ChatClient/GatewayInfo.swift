import AsyncHTTPClient
import ClientTLS
import Foundation
import NIOCore
import NIOHTTP1
import Primitives

/// What polychat reads of a gateway's `GET /v1/info` (docs/GATEWAY_SPEC.md §11), to refuse a
/// server it cannot use with an error that says why, before anything is stored.
package struct GatewayInfo: Decodable, Sendable, Hashable {
    package var gatewayID: String
    package var version: String
    package var cipherSuites: [Int]
    /// Sealed sessions (§14); nil from a gateway older than them.
    package var sealed: Sealed?

    /// The `sealed` object: the policy, and the keys in force unless it is `off`.
    package struct Sealed: Decodable, Sendable, Hashable {
        package var policy: String
        package var keys: [Key]?

        package struct Key: Decodable, Sendable, Hashable {
            package var key: String
        }
    }

    enum CodingKeys: String, CodingKey {
        case gatewayID = "gateway_id"
        case version
        case cipherSuites = "cipher_suites"
        case sealed
    }

    /// The keys of the gateway's sealed sessions, newest first; empty when it offers none
    /// (policy `off`, or a gateway older than sealed sessions).
    package var sealedKeys: [[UInt8]] {
        guard let sealed, sealed.policy != "off" else { return [] }
        return (sealed.keys ?? []).compactMap { Hex.decode($0.key) }.filter { $0.count == 32 }
    }

    /// Reads the document; nil when it is not one (a server without `/v1/info` answers 404).
    package static func parse(_ body: [UInt8]) -> GatewayInfo? {
        try? JSONDecoder().decode(GatewayInfo.self, from: Data(body))
    }

    /// The URL of the document of the gateway at `endpoint`.
    package static func url(of endpoint: GatewayEndpoint) -> String {
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        return "\(endpoint.tls ? "https" : "http")://\(host):\(endpoint.port)\(endpoint.prefix)/v1/info"
    }

    /// The document of the gateway at `endpoint`, or nil when there is none or it cannot be
    /// reached now (the commands that connect say why; this check only adds what it can tell).
    static func fetch(_ endpoint: GatewayEndpoint, tls: ClientTLS) async -> GatewayInfo? {
        guard let client = try? HTTPClients.client(tls) else { return nil }
        do {
            let response = try await client.execute(HTTPClientRequest(url: Self.url(of: endpoint)), timeout: .seconds(5))
            guard response.status == .ok else { return nil }
            let body = try await response.body.collect(upTo: 64 << 10)
            return Self.parse(Array(body.readableBytesView))
        } catch {
            return nil
        }
    }

    /// Whether polychat, which speaks MLS cipher suite `suite`, can use this gateway.
    ///
    /// - Throws: ``ChatError`` `refused` naming the suites the gateway accepts.
    package func check(suite: Int, server: String) throws(ChatError) {
        guard self.cipherSuites.contains(suite) else {
            throw ChatError(
                .refused,
                "the gateway at \(server) (\(self.gatewayID), polygated \(self.version)) accepts MLS cipher suites "
                    + "\(self.cipherSuites.map(String.init).joined(separator: ", ")); this polychat uses suite \(suite) "
                    + "and cannot take part there"
            )
        }
    }
}
