import Foundation
import MLSConformance
import Testing

/// The mlswg interop vectors (Tests/Vectors/mls): every entry of every file, every suite 1–7.
@Suite struct VectorConformanceTests {
    static let directory = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Tests/Vectors/mls"

    @Test(arguments: VectorKind.allCases)
    func vectorFilePassesWhole(kind: VectorKind) throws {
        let path = "\(Self.directory)/\(kind.rawValue).json"
        let data = try #require(FileManager.default.contents(atPath: path))
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        let report = ConformanceRunner.run(data: data, name: kind.rawValue, kind: kind)
        #expect(report.failures.isEmpty, "\(report.summary)\n\(report.failures.map(\.description).joined(separator: "\n"))")
        #expect(report.passed == entries.count)
        #expect(entries.count > 0)
    }

    @Test func suiteKeyedFilesCoverAllSevenSuites() throws {
        for kind in [VectorKind.cryptoBasics, .secretTree, .messageProtection, .keySchedule, .pskSecret, .transcriptHashes] {
            let data = try #require(FileManager.default.contents(atPath: "\(Self.directory)/\(kind.rawValue).json"))
            let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            let suites = Set(entries.compactMap { $0["cipher_suite"] as? Int })
            #expect(suites == Set(1...7), "\(kind.rawValue) covers \(suites.sorted())")
        }
    }

    @Test func aCorruptedEntryIsReportedWithItsIndexAndSuite() throws {
        let path = "\(Self.directory)/key-schedule.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // Change the first hex digit of the first epoch_authenticator.
        let marker = "\"epoch_authenticator\": \""
        let range = try #require(text.range(of: marker))
        let digit = text.index(range.upperBound, offsetBy: 0)
        text.replaceSubrange(digit...digit, with: text[digit] == "0" ? "1" : "0")
        let report = ConformanceRunner.run(data: Data(text.utf8), name: "key-schedule.json", kind: .keySchedule)
        #expect(report.failed == 1)
        #expect(report.passed == 6)
        #expect(report.failures.first?.index == 0)
        #expect(report.failures.first?.cipherSuite == 1)
        #expect(report.failures.first?.message.contains("epoch_authenticator") == true)
    }
}
