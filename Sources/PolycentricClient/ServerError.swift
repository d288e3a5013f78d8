package import ClientTLS

/// A Polycentric server that could not be reached or answered with an error.
package struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// No answer: DNS, connection, TLS or timeout.
        package static let unreachable = Code("unreachable")
        /// The server answered with a non-2xx status (``ServerError/status``).
        package static let status = Code("status")
        /// The answer is not what the route returns (bad protobuf, bad signature).
        package static let badResponse = Code("bad_response")
        /// The base URL is not http(s)://host[:port][/path].
        package static let badURL = Code("bad_url")

        package var description: String { self.name }
    }

    package var code: Code
    /// The HTTP status, for ``Code/status``.
    package var status: Int?
    package var message: String
    /// For ``Code/unreachable``: what went wrong, in a few words (`connection refused`, `host
    /// not found`, `no answer in time` …).
    package var reason: String?
    /// For ``Code/unreachable`` over `https://`: what failed in TLS.
    package var tls: TLSFailure?

    package init(_ code: Code, status: Int? = nil, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    package var description: String {
        if let status { return "\(self.code) \(status): \(self.message)" }
        return "\(self.code): \(self.message)"
    }
}
