public import ClientTLS
public import GatewayWire

/// A failure of the gateway client: the server's error (with its wire code), a refused or
/// closed connection, or a timeout. The description never holds key material.
public struct GatewayClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public var description: String { self.name }

        /// The server answered a request with an `Error` (see ``GatewayClientError/server``).
        public static let server = Code(name: "server")
        /// The HTTP request to open the connection was refused (see ``GatewayClientError/httpStatus``).
        public static let refused = Code(name: "refused")
        /// The connection closed (see ``GatewayClientError/closeCode``).
        public static let closed = Code(name: "closed")
        /// No answer in time.
        public static let timeout = Code(name: "timeout")
        /// The server sent something that is not the protocol.
        public static let protocolViolation = Code(name: "protocol_violation")
        /// The socket could not be opened.
        public static let unreachable = Code(name: "unreachable")
        /// TLS failed: the server's certificate was refused or the handshake failed (the
        /// message says which, with the host and port; see ``GatewayClientError/tls``).
        public static let tls = Code(name: "tls")
    }

    public var code: Code
    public var message: String
    /// `.server`: the wire error.
    public var server: Polygate_Gateway_V1_Error?
    /// `.refused`: the HTTP status.
    public var httpStatus: Int?
    /// `.refused`: the seconds of the response's `Retry-After` (429, 503), when it had one.
    public var retryAfter: Int?
    /// `.closed`: the close code (WebSocket close frame or `GoAway`), when one came.
    public var closeCode: UInt16?
    /// `.tls`: what failed.
    public var tls: TLSFailure?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A TLS failure.
    public init(_ failure: TLSFailure) {
        self.init(.tls, failure.message)
        self.tls = failure
    }

    /// The server's error code (`stale_epoch`, `not_member` …), for `.server` errors.
    public var serverCode: ErrorCode? { self.server.map { ErrorCode(rawValue: $0.code) } }

    public var description: String {
        switch self.code {
        case .server: "\(self.server?.code ?? "?"): \(self.message)"
        case .refused: "refused (HTTP \(self.httpStatus ?? 0)): \(self.message)"
        case .closed: "closed (\(self.closeCode.map(String.init) ?? "no code")): \(self.message)"
        case .tls: self.message
        default: "\(self.code): \(self.message)"
        }
    }
}
