import ArgumentParser
import MLSConformance

/// `mls-conformance FILE.json…`: runs mlswg interop vector files and reports per file.
@main
struct MLSConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mls-conformance",
        abstract: "Run mlswg MLS interop test-vector files against polygate's MLS library.",
        discussion: """
            The kind of each file is taken from its name (e.g. key-schedule.json) unless --kind \
            is given. Prints one line per file, 'NAME: N passed, M failed', followed by the failing \
            entries (index and cipher suite). Exit status 1 when any entry fails or a file cannot be run.
            Kinds: \(VectorKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    @Option(help: "The vector kind for every file (default: from each file name).")
    var kind: String?

    @Argument(help: "Vector files (JSON).")
    var files: [String]

    func validate() throws {
        if let kind, VectorKind(rawValue: kind) == nil {
            throw ValidationError(
                "unknown --kind '\(kind)'; known: \(VectorKind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        if self.files.isEmpty { throw ValidationError("give at least one vector file") }
    }

    func run() throws {
        var failed = false
        for file in self.files {
            let report = ConformanceRunner.run(path: file, kind: self.kind.flatMap(VectorKind.init(rawValue:)))
            print(report.summary)
            for failure in report.failures { print("  \(failure)") }
            if report.failed > 0 || report.passed == 0 { failed = true }
        }
        if failed { throw ExitCode.failure }
    }
}
