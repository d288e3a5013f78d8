/// The outcome of running one vector file.
public struct VectorReport: Sendable {
    /// One entry that did not pass.
    public struct Failure: Sendable, CustomStringConvertible {
        public var index: Int
        public var cipherSuite: UInt16?
        public var message: String

        public var description: String {
            let suite = self.cipherSuite.map { " (suite \($0))" } ?? ""
            return "#\(self.index)\(suite): \(self.message)"
        }
    }

    public var name: String
    public var kind: VectorKind
    public var passed: Int
    public var failures: [Failure]

    public var failed: Int { self.failures.count }

    /// `NAME: N passed, M failed`.
    public var summary: String { "\(self.name): \(self.passed) passed, \(self.failed) failed" }
}

/// A vector entry's check failed; the message says which value differed.
public struct VectorFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
