/// Where the gateway is, from its URL: `ws://host:port/v1/gateway`, `wss://…`, or the
/// social server's `http(s)://host[:port][/prefix]` (then `/v1/gateway` under it). IPv6 hosts
/// in brackets. TLS for `wss://` and `https://` (default port 443, else 80).
package struct GatewayEndpoint: Sendable, Hashable {
    package var host: String
    package var port: Int
    /// The WebSocket path (`/v1/gateway`, or under a prefix behind a proxy).
    package var path: String
    package var tls: Bool

    /// The prefix of the SSE routes: `/chat` for a gateway at `/chat/v1/gateway`.
    package var prefix: String {
        self.path.hasSuffix("/v1/gateway") ? String(self.path.dropLast("/v1/gateway".count)) : ""
    }

    /// The sealed WebSocket route (§14): `/v1/sealed` under the same prefix.
    package var sealedPath: String { self.prefix + "/v1/sealed" }

    /// - Throws: ``ChatError`` `bad_argument` saying what a gateway URL looks like.
    package init(parsing url: String) throws(ChatError) {
        let schemes: [(String, Bool, Int)] = [
            ("ws://", false, 80), ("http://", false, 80), ("wss://", true, 443), ("https://", true, 443),
        ]
        guard let (scheme, tls, defaultPort) = schemes.first(where: { url.lowercased().hasPrefix($0.0) }) else {
            throw ChatError(
                .badArgument,
                "'\(url)' is not a gateway URL (wss://host/v1/gateway, https://host, ws://host:port or http://host:port)"
            )
        }
        let rest = url.dropFirst(scheme.count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<query]) }
        while path.hasSuffix("/") { path.removeLast() }
        if !path.hasSuffix("/v1/gateway") { path += "/v1/gateway" }
        var host = Substring(authority)
        var port = defaultPort
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Self.bad(url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { throw Self.bad(url) }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let number = Int(authority[authority.index(after: colon)...]) else { throw Self.bad(url) }
            host = authority[..<colon]
            port = number
        }
        guard !host.isEmpty, !host.contains("@"), (1...65535).contains(port) else { throw Self.bad(url) }
        self.host = String(host)
        self.port = port
        self.path = path
        self.tls = tls
    }

    static func bad(_ url: String) -> ChatError {
        ChatError(
            .badArgument,
            "'\(url)' is not a gateway URL (wss://host/v1/gateway, https://host, ws://host:port or http://host:port)"
        )
    }
}
