/// Who the client is when polygated sits behind a reverse proxy or a CDN
/// (`[http] trusted_proxies`, `client_address_header`; docs/GATEWAY_SPEC.md §2.4).
///
/// The TCP peer's address is the client's unless the peer is a trusted proxy; then the header
/// the proxy sets names it. Only the hops a trusted proxy vouches for are believed: for
/// `X-Forwarded-For` and `Forwarded`, the list is read from the right (the nearest proxy's
/// entry last) and the first address that is not itself a trusted proxy is the client. Anything
/// a client writes further left is never reached, so a spoofed header changes nothing; a peer
/// that is not a trusted proxy has its headers ignored altogether.
package struct ClientAddressPolicy: Sendable, Hashable {
    /// The header a trusted proxy names the client in.
    package enum Header: String, Sendable, Hashable, CaseIterable {
        /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `$proxy_add_x_forwarded_for`).
        case xForwardedFor = "X-Forwarded-For"
        /// RFC 7239: `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`.
        case forwarded = "Forwarded"
        /// Cloudflare's one address.
        case cfConnectingIP = "CF-Connecting-IP"
        /// nginx `X-Real-IP $remote_addr`: one address.
        case xRealIP = "X-Real-IP"

        /// The header named `text`, in any case.
        package init?(named text: String) {
            guard let header = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
            self = header
        }

        /// Whether the header is a list of hops (else one address).
        var isList: Bool { self == .xForwardedFor || self == .forwarded }
    }

    package var trustedProxies: [IPNetwork]
    package var header: Header

    package init(trustedProxies: [IPNetwork] = [], header: Header = .xForwardedFor) {
        self.trustedProxies = trustedProxies
        self.header = header
    }

    /// Whether `address` is a trusted proxy.
    package func trusts(_ address: IPAddress) -> Bool {
        self.trustedProxies.contains { $0.contains(address) }
    }

    /// The client's address, canonical: `peer` (the TCP peer's address as NIO reports it, or
    /// `unknown`) unless it is a trusted proxy, else what ``header`` says (`values`: each of
    /// its occurrences in the request, in order). A header that is absent or does not parse
    /// leaves the nearest address that was vouched for: the proxy's own.
    package func clientAddress(peer: String, values: [String]) -> String {
        guard let peerAddress = IPAddress(peer) else { return peer }
        guard !self.trustedProxies.isEmpty, self.trusts(peerAddress) else { return peerAddress.description }
        var client = peerAddress
        if self.header.isList {
            let hops = values.flatMap { $0.split(separator: ",") }
            for hop in hops.reversed() {
                guard let address = self.address(inHop: hop) else { break }
                client = address
                if !self.trusts(address) { break }
            }
        } else if values.count == 1, let address = IPAddress(values[0].trimmingWhitespace()) {
            client = address
        }
        return client.description
    }

    /// One hop of `X-Forwarded-For` (an address) or `Forwarded` (its `for=` parameter:
    /// `192.0.2.1`, `"192.0.2.1:80"`, `"[2001:db8::1]:4711"`); nil for `unknown`, obfuscated
    /// identifiers and garbage.
    func address(inHop hop: Substring) -> IPAddress? {
        switch self.header {
        case .forwarded:
            for pair in hop.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingWhitespace().lowercased() == "for" else { continue }
                var value = Substring(parts[1].trimmingWhitespace())
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                return Self.address(withOptionalPort: value)
            }
            return nil
        default:
            return Self.address(withOptionalPort: Substring(hop.trimmingWhitespace()))
        }
    }

    /// `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`.
    static func address(withOptionalPort text: Substring) -> IPAddress? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return IPAddress(text[text.index(after: text.startIndex)..<close])
        }
        if let address = IPAddress(text) { return address }
        // IPv4 with a port: exactly one colon.
        guard let colon = text.firstIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isNumber),
            !text[text.index(after: colon)...].contains(":")
        else { return nil }
        let host = text[..<colon]
        guard let address = IPAddress(host), address.isIPv4 else { return nil }
        return address
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
