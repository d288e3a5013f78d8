#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16). IPv4-mapped IPv6 addresses
/// (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 client) are the IPv4 address,
/// so that one client has one address whichever way it came in.
package struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    package let bytes: [UInt8]

    /// Parses the textual forms `inet_pton(3)` reads (`192.0.2.1`, `2001:db8::1`,
    /// `::ffff:192.0.2.1`); nil for anything else (host names, ports, zone ids, brackets).
    package init?(_ text: some StringProtocol) {
        let string = String(text)
        guard !string.isEmpty, string.utf8.count <= 45 else { return nil }
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, string, &v4) == 1 {
            self.bytes = v4
            return
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, string, &bytes) == 1 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self.bytes = Array(bytes[12..<16])
        } else {
            self.bytes = bytes
        }
    }

    package var isIPv4: Bool { self.bytes.count == 4 }

    /// The canonical text (`inet_ntop(3)`): the one spelling of this address, used as the
    /// key of per-address buckets and in the audit ledger.
    package var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = self.isIPv4 ? AF_INET : AF_INET6
        let ok = self.bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CIDR block: `192.0.2.0/24`, `2001:db8::/32`, or one address (`/32` or `/128` implied).
package struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    package let address: IPAddress
    package let prefixLength: Int

    /// Parses `address[/length]`; nil when the address does not parse, the length is out of
    /// range, or bits are set past the prefix (`10.0.0.1/8` is refused: it is a typo or a
    /// misunderstanding, and silently masking it would trust more or less than meant).
    package init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        // The length counts in the family the text is written in: an IPv4-mapped block
        // (`::ffff:10.0.0.0/104`) is the IPv4 block (`10.0.0.0/8`).
        let written = parts[0].contains(":") ? 128 : 32
        var length = written
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
                let parsed = Int(parts[1]), (0...written).contains(parsed)
            else { return nil }
            length = parsed
        }
        let maximum = address.bytes.count * 8
        if written == 128, address.isIPv4 {
            guard length >= 96 else { return nil }
            length -= 96
        }
        self.address = address
        self.prefixLength = length
        for bit in length..<maximum where Self.bit(bit, of: address.bytes) { return nil }
    }

    /// Whether `candidate` is in this block (an IPv4 address is never in an IPv6 block).
    package func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == self.address.bytes.count else { return false }
        let whole = self.prefixLength / 8
        guard candidate.bytes[0..<whole] == self.address.bytes[0..<whole] else { return false }
        let rest = self.prefixLength % 8
        guard rest > 0 else { return true }
        let mask = UInt8(0xff) << (8 - rest)
        return candidate.bytes[whole] & mask == self.address.bytes[whole] & mask
    }

    package var description: String { "\(self.address)/\(self.prefixLength)" }

    private static func bit(_ index: Int, of bytes: [UInt8]) -> Bool {
        bytes[index / 8] & (0x80 >> (index % 8)) != 0
    }
}
