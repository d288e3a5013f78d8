/// The outcome of running one vector file.
package struct VectorReport: Sendable {
    /// One entry that did not pass.
    package struct Failure: Sendable, CustomStringConvertible {
        package var index: Int
        package var cipherSuite: UInt16?
        package var message: String

        package var description: String {
            let suite = self.cipherSuite.map { " (suite \($0))" } ?? ""
            return "#\(self.index)\(suite): \(self.message)"
        }
    }

    package var name: String
    package var kind: VectorKind
    package var passed: Int
    package var failures: [Failure]

    package var failed: Int { self.failures.count }

    /// `NAME: N passed, M failed`.
    package var summary: String { "\(self.name): \(self.passed) passed, \(self.failed) failed" }
}

/// A vector entry's check failed; the message says which value differed.
package struct VectorFailure: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
