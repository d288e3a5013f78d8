package import ClientTLS
package import GatewayWire

/// A failure of the gateway client: the server's error (with its wire code), a refused or
/// closed connection, or a timeout. The description never holds key material.
package struct GatewayClientError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        package var description: String { self.name }

        /// The server answered a request with an `Error` (see ``GatewayClientError/server``).
        package static let server = Code(name: "server")
        /// The HTTP request to open the connection was refused (see ``GatewayClientError/httpStatus``).
        package static let refused = Code(name: "refused")
        /// The connection closed (see ``GatewayClientError/closeCode``).
        package static let closed = Code(name: "closed")
        /// No answer in time.
        package static let timeout = Code(name: "timeout")
        /// The server sent something that is not the protocol.
        package static let protocolViolation = Code(name: "protocol_violation")
        /// The socket could not be opened.
        package static let unreachable = Code(name: "unreachable")
        /// TLS failed: the server's certificate was refused or the handshake failed (the
        /// message says which, with the host and port; see ``GatewayClientError/tls``).
        package static let tls = Code(name: "tls")
        /// A sealed connection's Noise handshake failed for another reason than the key: the
        /// connection closed during it, or the answer was not one (§14).
        package static let sealedHandshake = Code(name: "sealed_handshake")
        /// The gateway did not prove it holds the key pinned for it: it refused the handshake
        /// (close 4010, or 403 on the sealed stream) or its answer did not authenticate under
        /// that key (§14.2).
        package static let gatewayKey = Code(name: "gateway_key")
    }

    package var code: Code
    package var message: String
    /// `.server`: the wire error.
    package var server: Polygate_Gateway_V1_Error?
    /// `.refused`: the HTTP status.
    package var httpStatus: Int?
    /// `.refused`: the seconds of the response's `Retry-After` (429, 503), when it had one.
    package var retryAfter: Int?
    /// `.closed`: the close code (WebSocket close frame or `GoAway`), when one came.
    package var closeCode: UInt16?
    /// `.tls`: what failed.
    package var tls: TLSFailure?

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A TLS failure.
    package init(_ failure: TLSFailure) {
        self.init(.tls, failure.message)
        self.tls = failure
    }

    /// The server's error code (`stale_epoch`, `not_member` …), for `.server` errors.
    package var serverCode: ErrorCode? { self.server.map { ErrorCode(rawValue: $0.code) } }

    package var description: String {
        switch self.code {
        case .server: "\(self.server?.code ?? "?"): \(self.message)"
        case .refused: "refused (HTTP \(self.httpStatus ?? 0)): \(self.message)"
        case .closed: "closed (\(self.closeCode.map(String.init) ?? "no code")): \(self.message)"
        case .tls: self.message
        default: "\(self.code): \(self.message)"
        }
    }
}
