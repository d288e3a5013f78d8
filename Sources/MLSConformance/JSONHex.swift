import Foundation
import Primitives

/// A hex string in a vector file, decoded to bytes.
struct HexBytes: Decodable, Hashable {
    let bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not hex"))
        }
        self.bytes = bytes
    }
}

/// Compares two byte strings, failing with both in hex.
func expectEqual(_ actual: [UInt8], _ expected: [UInt8], _ what: String) throws(VectorFailure) {
    guard actual == expected else {
        throw VectorFailure("\(what): got \(Hex.encode(actual.prefix(48))), want \(Hex.encode(expected.prefix(48)))")
    }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws(VectorFailure) {
    guard actual == expected else { throw VectorFailure("\(what): got \(actual), want \(expected)") }
}

/// Runs `body`, turning any error into a ``VectorFailure`` naming `what`.
func check<T>(_ what: String, _ body: () throws -> T) throws(VectorFailure) -> T {
    do {
        return try body()
    } catch let failure as VectorFailure {
        throw failure
    } catch {
        throw VectorFailure("\(what): \(error)")
    }
}
