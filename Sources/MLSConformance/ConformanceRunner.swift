package import Foundation

/// Runs mlswg interop vector files (github.com/mlswg/mls-implementations, `test-vectors/`)
/// against the MLS library. Every entry is checked on its own; a file passes when every entry does.
package enum ConformanceRunner {
    /// Runs the file at `path`; `kind` defaults to the one its name says.
    package static func run(path: String, kind: VectorKind? = nil) -> VectorReport {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let kind = kind ?? VectorKind.detect(path: path) else {
            return VectorReport(
                name: name,
                kind: .messages,
                passed: 0,
                failures: [.init(index: 0, message: "unknown vector kind; pass --kind")]
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return VectorReport(name: name, kind: kind, passed: 0, failures: [.init(index: 0, message: "cannot read \(path)")])
        }
        return Self.run(data: data, name: name, kind: kind)
    }

    /// Runs vector JSON of `kind`.
    package static func run(data: Data, name: String, kind: VectorKind) -> VectorReport {
        let entries: [Data]
        do {
            guard let array = try JSONSerialization.jsonObject(with: data) as? [Any] else {
                return VectorReport(name: name, kind: kind, passed: 0, failures: [.init(index: 0, message: "not a JSON array")])
            }
            entries = try array.map { try JSONSerialization.data(withJSONObject: $0) }
        } catch {
            return VectorReport(name: name, kind: kind, passed: 0, failures: [.init(index: 0, message: "invalid JSON: \(error)")])
        }
        var report = VectorReport(name: name, kind: kind, passed: 0, failures: [])
        for (index, entry) in entries.enumerated() {
            let suite = (try? JSONDecoder().decode(SuiteProbe.self, from: entry))?.cipher_suite
            do {
                try Self.check(kind: kind, entry: entry)
                report.passed += 1
            } catch {
                report.failures.append(.init(index: index, cipherSuite: suite, message: "\(error)"))
            }
        }
        return report
    }

    private struct SuiteProbe: Decodable {
        let cipher_suite: UInt16?
    }

    private static func check(kind: VectorKind, entry: Data) throws {
        let decoder = JSONDecoder()
        switch kind {
        case .treeMath: try TreeMathCheck.run(decoder.decode(TreeMathCheck.Entry.self, from: entry))
        case .deserialization: try DeserializationCheck.run(decoder.decode(DeserializationCheck.Entry.self, from: entry))
        case .cryptoBasics: try CryptoBasicsCheck.run(decoder.decode(CryptoBasicsCheck.Entry.self, from: entry))
        case .secretTree: try SecretTreeCheck.run(decoder.decode(SecretTreeCheck.Entry.self, from: entry))
        case .messageProtection: try MessageProtectionCheck.run(decoder.decode(MessageProtectionCheck.Entry.self, from: entry))
        case .keySchedule: try KeyScheduleCheck.run(decoder.decode(KeyScheduleCheck.Entry.self, from: entry))
        case .pskSecret: try PSKSecretCheck.run(decoder.decode(PSKSecretCheck.Entry.self, from: entry))
        case .transcriptHashes: try TranscriptHashesCheck.run(decoder.decode(TranscriptHashesCheck.Entry.self, from: entry))
        case .messages: try MessagesCheck.run(decoder.decode(MessagesCheck.Entry.self, from: entry))
        case .treeValidation: try TreeValidationCheck.run(decoder.decode(TreeValidationCheck.Entry.self, from: entry))
        case .treeOperations: try TreeOperationsCheck.run(decoder.decode(TreeOperationsCheck.Entry.self, from: entry))
        case .treeKEM: try TreeKEMCheck.run(decoder.decode(TreeKEMCheck.Entry.self, from: entry))
        case .welcome: try WelcomeCheck.run(decoder.decode(WelcomeCheck.Entry.self, from: entry))
        case .passiveClientWelcome, .passiveClientHandlingCommit, .passiveClientRandom:
            try PassiveClientCheck.run(decoder.decode(PassiveClientCheck.Entry.self, from: entry))
        }
    }
}
