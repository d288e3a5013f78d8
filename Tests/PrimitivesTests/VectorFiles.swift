import Foundation
import Primitives

/// The vector files in Tests/Vectors, found from this source file's path.
enum VectorFiles {
    static let directory = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Tests/Vectors"

    static func load<T: Decodable>(_ relativePath: String, as type: T.Type) throws -> T {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/\(relativePath)"))
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// Hex in JSON.
struct HexBytes: Decodable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not hex: \(text.prefix(20))")
            )
        }
        self.bytes = bytes
    }

    var description: String { Hex.encode(self.bytes) }
}
