/// The kinds of mlswg vector file this runner understands, named as the files are.
package enum VectorKind: String, Sendable, CaseIterable {
    case treeMath = "tree-math"
    case deserialization
    case cryptoBasics = "crypto-basics"
    case secretTree = "secret-tree"
    case messageProtection = "message-protection"
    case keySchedule = "key-schedule"
    case pskSecret = "psk_secret"
    case transcriptHashes = "transcript-hashes"
    case messages
    case treeValidation = "tree-validation"
    case treeOperations = "tree-operations"
    case treeKEM = "treekem"
    case welcome
    case passiveClientWelcome = "passive-client-welcome"
    case passiveClientHandlingCommit = "passive-client-handling-commit"
    case passiveClientRandom = "passive-client-random"

    /// The kind for a file path: its base name without `.json` (`…/key-schedule.json`).
    package static func detect(path: String) -> VectorKind? {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let stem = base.hasSuffix(".json") ? String(base.dropLast(5)) : base
        return VectorKind(rawValue: stem) ?? VectorKind(rawValue: stem.replacingUnderscores())
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(self.map { $0 == "_" ? "-" : $0 })
    }
}
