import Primitives

/// A pairing code as a person reads and types it (ADR 0023): `XXXX-XXXX-YYYY-YYYY`, 16
/// characters of Crockford base32 (80 bits). The first half is the pairing id the gateway
/// issued (its lookup key); the second half is the secret the old device made, which never
/// reaches the server: it is the password of the CPace exchange. Typing is forgiving: case,
/// spaces and dashes do not matter, and `I`/`L` read as 1, `O` as 0.
package struct PairingCode: Sendable, Hashable {
    /// Bytes of each half.
    package static let halfBytes = 5
    /// Characters of each half (8: 40 bits).
    package static let halfCharacters = 8
    /// Crockford's alphabet: digits and letters without I, L, O and U.
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// The pairing id (5 bytes): what the server knows.
    package let id: [UInt8]
    /// The secret half (5 bytes): what only the two devices know.
    package let secret: [UInt8]

    /// Why a typed code is not a pairing code; says what a code looks like.
    package struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        package var description: String
    }

    package init(id: [UInt8], secret: [UInt8]) {
        precondition(id.count == Self.halfBytes && secret.count == Self.halfBytes, "a pairing code's halves are 5 bytes")
        self.id = id
        self.secret = secret
    }

    /// A code for the pairing `id` with a fresh random secret.
    package static func random(id: [UInt8]) -> PairingCode {
        PairingCode(id: id, secret: SecureRandom.bytes(count: Self.halfBytes))
    }

    /// The code as shown: `XXXX-XXXX-YYYY-YYYY`.
    package var text: String {
        let characters = Array(Self.encode(self.id) + Self.encode(self.secret))
        return stride(from: 0, to: characters.count, by: 4).map { String(characters[$0..<$0 + 4]) }.joined(separator: "-")
    }

    /// The pairing id as the server names it (8 characters, no dash).
    package var idText: String { Self.encode(self.id) }

    /// Reads a typed code.
    ///
    /// - Throws: ``Problem`` with what is wrong and what a code looks like.
    package init(parsing text: String) throws(Problem) {
        var values: [UInt8] = []
        for character in text.uppercased() where character != "-" && character != " " {
            guard let value = Self.value(of: character) else {
                throw Problem(
                    description:
                        "'\(character)' is not in a pairing code (a code is 16 letters and digits, like 7K2M-Q9XD-4HPN-W3TB, as the other device shows it)"
                )
            }
            values.append(value)
        }
        guard values.count == 2 * Self.halfCharacters else {
            throw Problem(
                description:
                    "a pairing code has 16 letters and digits (4 groups of 4, like 7K2M-Q9XD-4HPN-W3TB); this has \(values.count)"
            )
        }
        self.init(id: Self.decode(values[..<Self.halfCharacters]), secret: Self.decode(values[Self.halfCharacters...]))
    }

    /// Reads a pairing id alone (8 characters), as the server's routes name it.
    package static func id(parsing text: String) -> [UInt8]? {
        let values = text.uppercased().compactMap(Self.value(of:))
        guard values.count == Self.halfCharacters, text.count == Self.halfCharacters else { return nil }
        return Self.decode(values[...])
    }

    static func value(of character: Character) -> UInt8? {
        switch character {
        case "I", "L": return 1
        case "O": return 0
        default: return Self.alphabet.firstIndex(of: character).map(UInt8.init)
        }
    }

    /// 5 bytes as 8 characters (big-endian, 5 bits each).
    package static func encode(_ bytes: [UInt8]) -> String {
        let number = bytes.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        return String((0..<8).map { Self.alphabet[Int((number >> UInt64(35 - 5 * $0)) & 31)] })
    }

    /// 8 character values as 5 bytes.
    static func decode(_ values: ArraySlice<UInt8>) -> [UInt8] {
        let number = values.reduce(UInt64(0)) { ($0 << 5) | UInt64($1) }
        return (0..<5).map { UInt8(truncatingIfNeeded: number >> UInt64(32 - 8 * $0)) }
    }
}
