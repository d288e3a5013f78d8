import HTTPFront
import Testing

/// Addresses, CIDR blocks and the client address behind trusted proxies, as values (no I/O).
@Suite struct ClientAddressPolicyTests {
    @Test func addressesParseToOneCanonicalSpelling() throws {
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("2001:0db8:0000::0001")?.description == "2001:db8::1")
        // An IPv4 client on a dual-stack socket is the IPv4 address.
        #expect(IPAddress("::ffff:192.0.2.1") == IPAddress("192.0.2.1"))
        for bad in ["", "host.example", "192.0.2.1:80", "[::1]", "192.0.2", "1.2.3.4.5", "::1%eth0", " 192.0.2.1"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func networksContainTheirAddressesOnly() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(v4.contains(IPAddress("10.255.1.2")!))
        #expect(!v4.contains(IPAddress("11.0.0.1")!))
        #expect(!v4.contains(IPAddress("::ffff:11.0.0.1")!))
        #expect(v4.contains(IPAddress("::ffff:10.0.0.1")!))
        let odd = try #require(IPNetwork("192.168.4.0/22"))
        #expect(odd.contains(IPAddress("192.168.7.255")!))
        #expect(!odd.contains(IPAddress("192.168.8.0")!))
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        #expect(!v6.contains(IPAddress("10.0.0.1")!))
        let one = try #require(IPNetwork("127.0.0.1"))
        #expect(one.prefixLength == 32 && one.contains(IPAddress("127.0.0.1")!) && !one.contains(IPAddress("127.0.0.2")!))
        #expect(IPNetwork("::ffff:10.0.0.0/104")?.contains(IPAddress("10.1.2.3")!) == true)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("203.0.113.9")!) == true)
        // Bits past the prefix, lengths out of range, names: refused.
        for bad in [
            "10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/9", "proxy.local/32",
            "10.0.0.0/ 8",
        ] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    static let nginx = ClientAddressPolicy(
        trustedProxies: [IPNetwork("127.0.0.1")!, IPNetwork("10.0.0.0/8")!],
        header: .xForwardedFor
    )

    @Test func anUntrustedPeersHeadersChangeNothing() {
        #expect(Self.nginx.clientAddress(peer: "203.0.113.7", values: ["198.51.100.1"]) == "203.0.113.7")
        #expect(ClientAddressPolicy().clientAddress(peer: "127.0.0.1", values: ["198.51.100.1"]) == "127.0.0.1")
        #expect(Self.nginx.clientAddress(peer: "unknown", values: ["198.51.100.1"]) == "unknown")
        #expect(Self.nginx.clientAddress(peer: "::ffff:203.0.113.7", values: []) == "203.0.113.7")
    }

    @Test func xForwardedForIsReadFromTheRightToTheFirstUntrustedHop() {
        // nginx appended the address it saw; what the client wrote further left is not reached.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["6.6.6.6, 198.51.100.1"]) == "198.51.100.1")
        // Through two trusted proxies.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["198.51.100.1, 10.2.3.4"]) == "198.51.100.1")
        // Several header lines are one list.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["6.6.6.6", "198.51.100.1, 10.2.3.4"]) == "198.51.100.1")
        // Garbage where an address should be: the nearest address vouched for (the proxy's own).
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["198.51.100.1, garbage"]) == "127.0.0.1")
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["garbage, 10.2.3.4"]) == "10.2.3.4")
        // No header from a trusted proxy: the proxy is the client.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: []) == "127.0.0.1")
        // Everything trusted: the left-most.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["10.9.9.9, 10.2.3.4"]) == "10.9.9.9")
        // Ports and IPv6, canonical.
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["198.51.100.1:5555"]) == "198.51.100.1")
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: ["[2001:DB8::0001]:443"]) == "2001:db8::1")
        #expect(Self.nginx.clientAddress(peer: "127.0.0.1", values: [" 2001:db8::2 "]) == "2001:db8::2")
    }

    @Test func forwardedReadsTheForParameterOfEachElement() {
        var policy = Self.nginx
        policy.header = .forwarded
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["for=6.6.6.6, for=198.51.100.1;proto=https"]) == "198.51.100.1")
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["proto=https;For=\"[2001:db8::7]:4711\""]) == "2001:db8::7")
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["for=\"198.51.100.1:80\", for=10.0.0.2"]) == "198.51.100.1")
        // Obfuscated or unknown: the proxy's own address.
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["for=unknown"]) == "127.0.0.1")
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["for=_hidden"]) == "127.0.0.1")
        #expect(policy.clientAddress(peer: "127.0.0.1", values: ["by=10.0.0.1"]) == "127.0.0.1")
    }

    @Test func singleAddressHeaders() {
        for header in [ClientAddressPolicy.Header.cfConnectingIP, .xRealIP] {
            var policy = Self.nginx
            policy.header = header
            #expect(policy.clientAddress(peer: "10.1.1.1", values: ["198.51.100.1"]) == "198.51.100.1")
            #expect(policy.clientAddress(peer: "10.1.1.1", values: ["2001:db8::1"]) == "2001:db8::1")
            // A list, two header lines or garbage are not one address: the proxy's.
            #expect(policy.clientAddress(peer: "10.1.1.1", values: ["198.51.100.1, 6.6.6.6"]) == "10.1.1.1")
            #expect(policy.clientAddress(peer: "10.1.1.1", values: ["198.51.100.1", "6.6.6.6"]) == "10.1.1.1")
            #expect(policy.clientAddress(peer: "10.1.1.1", values: ["nonsense"]) == "10.1.1.1")
            #expect(policy.clientAddress(peer: "203.0.113.5", values: ["198.51.100.1"]) == "203.0.113.5")
        }
        #expect(ClientAddressPolicy.Header(named: "x-forwarded-for") == .xForwardedFor)
        #expect(ClientAddressPolicy.Header(named: "cf-connecting-ip") == .cfConnectingIP)
        #expect(ClientAddressPolicy.Header(named: "X-Client-IP") == nil)
    }
}
