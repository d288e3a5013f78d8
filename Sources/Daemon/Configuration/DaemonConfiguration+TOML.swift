import Gateway
import HTTPFront
import Logging
import Presence
import TOMLKit

#if canImport(Glibc)
import Glibc
#endif

extension DaemonConfiguration {
    /// Reads and validates the TOML file at `path`. Absent keys keep their defaults.
    ///
    /// - Throws: ``ConfigurationError`` naming the file, line and key of the first problem.
    package static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        guard let text = readTextFile(path) else {
            throw ConfigurationError(
                code: .unreadable,
                file: path,
                message: "cannot read the configuration file (\(errnoText()))"
            )
        }
        return try Self.parse(text, file: path)
    }

    /// Parses and validates configuration text; `file` is used in error messages.
    package static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        if let (line, message) = TOMLPrecheck.problem(in: text) {
            throw ConfigurationError(code: .syntax, file: file, line: line, message: "TOML syntax error: \(message)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                code: .syntax,
                file: file,
                line: error.source.begin.line,
                message: "TOML syntax error: \(error.description)"
            )
        } catch {
            throw ConfigurationError(code: .syntax, file: file, message: "TOML syntax error: \(error)")
        }
        let locator = TOMLKeyLocator(source: text)
        var configuration = DaemonConfiguration()
        for (sectionName, sectionValue) in table {
            guard let keys = Self.sections.first(where: { $0.name == sectionName })?.keys else {
                throw ConfigurationError(
                    code: .unknownSection,
                    file: file,
                    line: locator.line(of: [sectionName]) ?? locator.line(of: [sectionName, ""]),
                    key: sectionName,
                    message:
                        "unknown section [\(sectionName)]; known sections are \(Self.sections.map(\.name).sorted().map { "[\($0)]" }.joined(separator: ", "))"
                )
            }
            guard let section = sectionValue.table else {
                throw ConfigurationError(
                    code: .wrongType,
                    file: file,
                    line: locator.line(of: [sectionName]),
                    key: sectionName,
                    message: "'\(sectionName)' must be a table ([\(sectionName)]), not a \(sectionValue.type)"
                )
            }
            for (keyName, value) in section {
                let dotted = "\(sectionName).\(keyName)"
                let line = locator.line(of: [sectionName, keyName])
                guard let spec = keys.first(where: { $0.name == keyName }) else {
                    let known = keys.map { "\(sectionName).\($0.name)" }.joined(separator: ", ")
                    throw ConfigurationError(
                        code: .unknownKey,
                        file: file,
                        line: line,
                        key: dotted,
                        message: "unknown key '\(dotted)'; [\(sectionName)] accepts \(known)"
                    )
                }
                do {
                    try spec.apply(value, &configuration)
                } catch {
                    throw ConfigurationError(
                        code: error.code,
                        file: file,
                        line: line,
                        key: dotted,
                        message: "\(dotted): \(error.message)"
                    )
                }
            }
        }
        if let tls = configuration.http.tls, tls.certificate.isEmpty || tls.privateKey.isEmpty {
            let (set, missing) =
                tls.certificate.isEmpty ? ("tls_private_key", "tls_certificate") : ("tls_certificate", "tls_private_key")
            throw ConfigurationError(
                code: .invalidValue,
                file: file,
                line: locator.line(of: ["http", set]),
                key: "http.\(missing)",
                message:
                    "http.\(set) is set but http.\(missing) is not: give both PEM files (the certificate chain and its key) or neither"
            )
        }
        return configuration
    }

    /// Every key the file accepts, as `section.key`, in the order of the shipped file.
    static var knownKeys: [String] { Self.keys.map(\.dotted) }
}

/// `"250ms"`, `"10s"`, `"2m"`, `"1h"` → Duration.
func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Int64(number), value >= 0,
            value <= Int64.max / milliseconds
        else { continue }
        return .milliseconds(value * milliseconds)
    }
    return nil
}

/// Reads a whole file as UTF-8, or nil (errno set) when it cannot be read.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count > 0 { bytes.append(contentsOf: buffer[0..<count]) }
        if count < buffer.count {
            if ferror(file) != 0 { return nil }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
