public import ClientTLS

/// A Polycentric server that could not be reached or answered with an error.
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// No answer: DNS, connection, TLS or timeout.
        public static let unreachable = Code("unreachable")
        /// The server answered with a non-2xx status (``ServerError/status``).
        public static let status = Code("status")
        /// The answer is not what the route returns (bad protobuf, bad signature).
        public static let badResponse = Code("bad_response")
        /// The base URL is not http(s)://host[:port][/path].
        public static let badURL = Code("bad_url")

        public var description: String { self.name }
    }

    public var code: Code
    /// The HTTP status, for ``Code/status``.
    public var status: Int?
    public var message: String
    /// For ``Code/unreachable``: what went wrong, in a few words (`connection refused`, `host
    /// not found`, `no answer in time` …).
    public var reason: String?
    /// For ``Code/unreachable`` over `https://`: what failed in TLS.
    public var tls: TLSFailure?

    public init(_ code: Code, status: Int? = nil, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String {
        if let status { return "\(self.code) \(status): \(self.message)" }
        return "\(self.code): \(self.message)"
    }
}
