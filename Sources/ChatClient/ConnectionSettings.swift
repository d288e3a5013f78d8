import AsyncHTTPClient
import ClientTLS
import NIOCore
import Synchronization

/// How polychat reaches its servers, from its environment: the TLS authorities it trusts
/// beyond the system's (the state directory's `ca.pem`, from `--ca-file`, and
/// `POLYCHAT_CA_FILE`), and the gateway transport (`POLYCHAT_TRANSPORT`).
package struct ConnectionSettings: Sendable, Hashable {
    /// `POLYCHAT_TRANSPORT`.
    package enum Transport: String, Sendable, Hashable, CaseIterable {
        /// WebSocket, or SSE when the way to the gateway does not upgrade (the default).
        case auto
        case websocket
        case sse
    }

    /// `POLYCHAT_CA_FILE`: a PEM file of authorities trusted for this run.
    package var caFile: String?
    package var transport: Transport

    package init(caFile: String? = nil, transport: Transport = .auto) {
        self.caFile = caFile
        self.transport = transport
    }

    /// - Throws: ``ChatError`` `bad_argument` for a transport that is not one of the three.
    package init(environment: [String: String]) throws(ChatError) {
        self.caFile = environment["POLYCHAT_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let name = environment["POLYCHAT_TRANSPORT"] ?? ""
        guard let transport = name.isEmpty ? .auto : Transport(rawValue: name.lowercased()) else {
            throw ChatError(
                .badArgument,
                "POLYCHAT_TRANSPORT=\(name) is not a transport: use \(Transport.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.transport = transport
    }
}

/// polychat's HTTP clients, one per set of trusted authorities: a refused connection fails at
/// once (the shared client retries until the request's deadline), and connecting gives up
/// after 5 s. Never shut down: they live as long as the process.
enum HTTPClients {
    private static let clients = Mutex<[ClientTLS: HTTPClient]>([:])

    static func client(_ tls: ClientTLS) throws(ChatError) -> HTTPClient {
        if let client = Self.clients.withLock({ $0[tls] }) { return client }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        do {
            configuration.tlsConfiguration = try tls.configuration()
        } catch {
            throw ChatError(.badArgument, error.message)
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        return Self.clients.withLock { clients in
            if let existing = clients[tls] {
                try? client.syncShutdown()
                return existing
            }
            clients[tls] = client
            return client
        }
    }
}
