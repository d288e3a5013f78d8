import Foundation
import Primitives
import Testing

/// Every vector file under Tests/Vectors matches the SHA-256 recorded in `SHA256SUMS`, and every
/// JSON file there is listed: a file edited or added by accident fails here.
@Suite struct VectorChecksumTests {
    static func sums() throws -> [(sum: String, path: String)] {
        let text = try String(contentsOfFile: "\(VectorFiles.directory)/SHA256SUMS", encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func everyFileMatchesItsRecordedSum() throws {
        let sums = try Self.sums()
        #expect(sums.count >= 18)
        for (sum, path) in sums {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(VectorFiles.directory)/\(path)"))
            #expect(Hex.encode(HashFunction.sha256.hash(Array(data))) == sum, "\(path)")
        }
    }

    @Test func everyJSONFileIsListed() throws {
        let listed = Set(try Self.sums().map(\.path))
        let enumerator = FileManager.default.enumerator(atPath: VectorFiles.directory)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".json") { found.append(path) }
        }
        #expect(!found.isEmpty)
        for path in found { #expect(listed.contains(path), "\(path) is not in SHA256SUMS") }
    }
}
