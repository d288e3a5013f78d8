import MLSConformance
import TestSupport
import Testing

/// The `mls-conformance` executable as a user runs it.
@Suite struct ConformanceCommandTests {
    static let vectors = VectorConformanceTests.directory
    static var binary: String { TestEnvironment.product("mls-conformance") }

    @Test func everyIssue3FilePassesThroughTheCommand() async throws {
        let files = VectorKind.allCases.map { "\(Self.vectors)/\($0.rawValue).json" }
        let result = try await TestProcess.run(Self.binary, files)
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == files.count)
        for kind in VectorKind.allCases {
            #expect(lines.contains { $0.hasPrefix("\(kind.rawValue).json: ") && $0.hasSuffix(" passed, 0 failed") })
        }
        #expect(lines.contains("messages.json: 300 passed, 0 failed"))
    }

    @Test func failingEntriesAreNamedAndTheExitStatusIsOne() async throws {
        let directory = TestEnvironment.makeDirectory("vectors")
        let original = readFile("\(Self.vectors)/transcript-hashes.json")
        // Damage the confirmation key of the third entry (suite 3).
        var entries = original.components(separatedBy: "\"confirmation_key\": \"")
        #expect(entries.count == 8)
        entries[3] = (entries[3].first == "0" ? "1" : "0") + entries[3].dropFirst()
        try writeFile("\(directory)/transcript-hashes.json", entries.joined(separator: "\"confirmation_key\": \""))
        let result = try await TestProcess.run(Self.binary, ["\(directory)/transcript-hashes.json"])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("transcript-hashes.json: 6 passed, 1 failed\n  #2 (suite 3): confirmation_tag: got "))
    }

    @Test func badUsageExitsWithSixtyFour() async throws {
        let unknownKind = try await TestProcess.run(Self.binary, ["--kind", "nonsense", "x.json"])
        #expect(unknownKind.status == 64)
        #expect(unknownKind.output.contains("unknown --kind 'nonsense'"))
        let missing = try await TestProcess.run(Self.binary, ["/nonexistent/tree-math.json"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("tree-math.json: 0 passed, 1 failed"))
        let explicit = try await TestProcess.run(Self.binary, ["--kind", "tree-math", "\(Self.vectors)/tree-math.json"])
        #expect(explicit.status == 0)
    }
}

extension String {
    fileprivate func components(separatedBy separator: String) -> [String] {
        self.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}
