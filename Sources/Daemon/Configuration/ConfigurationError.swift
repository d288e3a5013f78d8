/// A problem with the configuration file: where (file, line, key) and what.
///
/// The description reads like a compiler message: `polygated.conf:12: unknown key 'http.lisen'`.
/// It never contains the value of a secret key.
package struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The file cannot be read.
        package static let unreadable = Code("unreadable")
        /// The file is not valid TOML.
        package static let syntax = Code("syntax")
        /// A table that polygated does not know.
        package static let unknownSection = Code("unknown_section")
        /// A key that polygated does not know.
        package static let unknownKey = Code("unknown_key")
        /// A value of the wrong TOML type.
        package static let wrongType = Code("wrong_type")
        /// A value of the right type that is not allowed.
        package static let invalidValue = Code("invalid_value")
        package var description: String { self.name }
    }

    package var code: Code
    /// The configuration file's path.
    package var file: String
    /// 1-based line number, when known.
    package var line: Int?
    /// The dotted key (`http.listen`), when the problem concerns one.
    package var key: String?
    package var message: String

    package init(code: Code, file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    package var description: String {
        if let line { return "\(self.file):\(line): \(self.message)" }
        return "\(self.file): \(self.message)"
    }
}
