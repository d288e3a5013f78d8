import Primitives
import TOMLKit

/// One key of polygated.conf, written once: its section and name, its type and bounds as the
/// documentation states them, its description, how a value is read into a
/// ``DaemonConfiguration`` and how the setting in force is printed. The default is the one of
/// ``DaemonConfiguration()``, printed by the same function.
///
/// ``DaemonConfiguration/keys`` is the table of all of them. Loading uses it; the effective
/// settings (`polygated check-config`, `gwctl config show`) are printed from it; the shipped
/// file is generated from it (`polygated default-config`, `make conf`); and the tests hold
/// etc/polygate/polygated.conf and polygated.conf(5) to it.
struct ConfigurationKey: Sendable {
    /// Why a value was refused (the loader adds the file, line and key).
    struct Problem: Error {
        var code: ConfigurationError.Code
        var message: String
    }

    typealias Apply = @Sendable (any TOMLValueConvertible, inout DaemonConfiguration) throws(Problem) -> Void

    var section: String
    var name: String
    /// The type as the documentation names it: string, integer, boolean, duration, rate,
    /// array of strings.
    var kind: String
    /// The allowed values beyond the type (`at most 1h`, `1 to 1000`), when there is a limit.
    var bounds: String?
    /// The comment lines above the key in the shipped file, without `# `; empty when the key
    /// belongs with the comment of the key before it.
    var doc: [String]
    var apply: Apply
    /// The value as TOML (secrets masked).
    var render: @Sendable (DaemonConfiguration) -> String

    /// `section.name`.
    var dotted: String { "\(self.section).\(self.name)" }

    /// The default, as TOML.
    var defaultValue: String { self.render(DaemonConfiguration()) }

    /// The key's heading in polygated.conf(5): `.BR name " (kind, default value, bounds)"`.
    var manHeading: String {
        let value = self.defaultValue
            .replacingAll("\\", with: "\\e")
            .replacingAll("\"", with: "\\(dq")
            .replacingAll("-", with: "\\-")
        let bounds = self.bounds.map { ", " + $0.replacingAll("-", with: "\\-") } ?? ""
        return ".BR \(self.name) \" (\(self.kind), default \(value)\(bounds))\""
    }
}

// MARK: - Kinds of keys

extension ConfigurationKey {
    /// A string checked by `check`, printed by `render` (before quoting).
    static func string(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, String> & Sendable,
        bounds: String? = nil,
        doc: [String],
        check: @escaping @Sendable (String) throws(Problem) -> String = { $0 },
        render: @escaping @Sendable (String) -> String = { $0 }
    ) -> Self {
        Self.parsed(name, path, bounds: bounds, doc: doc, parse: check, render: render)
    }

    /// A value written as a string and parsed into `T`.
    static func parsed<T>(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, T> & Sendable,
        bounds: String? = nil,
        doc: [String],
        parse: @escaping @Sendable (String) throws(Problem) -> T,
        render: @escaping @Sendable (T) -> String
    ) -> Self {
        Self(
            section: "",
            name: name,
            kind: "string",
            bounds: bounds,
            doc: doc,
            apply: { value, configuration throws(Problem) in
                configuration[keyPath: path] = try parse(try Self.readString(value))
            },
            render: { configuration in tomlString(render(configuration[keyPath: path])) }
        )
    }

    /// A string key naming one case of `T` (its raw value); the bounds list them, and so does
    /// the refusal.
    static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, T> & Sendable,
        doc: [String]
    ) -> Self where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let listed = names.dropLast().joined(separator: ", ") + (names.count > 1 ? " or " : "") + (names.last ?? "")
        return .parsed(
            name,
            path,
            bounds: listed,
            doc: doc,
            parse: { text throws(Problem) in
                guard let value = T(rawValue: text) else {
                    throw Problem(
                        code: .invalidValue,
                        message: "must be one of \(names.joined(separator: ", ")) (got \"\(text)\")"
                    )
                }
                return value
            },
            render: { $0.rawValue }
        )
    }

    static func integer<T: BinaryInteger & Sendable>(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, T> & Sendable,
        _ range: ClosedRange<Int>,
        doc: [String]
    ) -> Self {
        Self(
            section: "",
            name: name,
            kind: "integer",
            bounds: "\(range.lowerBound) to \(range.upperBound)",
            doc: doc,
            apply: { value, configuration throws(Problem) in
                configuration[keyPath: path] = T(try Self.readInteger(value, in: range))
            },
            render: { configuration in "\(configuration[keyPath: path])" }
        )
    }

    static func boolean(_ name: String, _ path: any WritableKeyPath<DaemonConfiguration, Bool> & Sendable, doc: [String]) -> Self
    {
        Self(
            section: "",
            name: name,
            kind: "boolean",
            bounds: nil,
            doc: doc,
            apply: { value, configuration throws(Problem) in
                guard value.type == .bool, let flag = value.bool else { throw Self.wrongType("true or false", value) }
                configuration[keyPath: path] = flag
            },
            render: { configuration in "\(configuration[keyPath: path])" }
        )
    }

    /// A duration: a string with a unit or an integer of seconds, more than 0 (at least
    /// `minimum` when given) and at most `maximum`.
    static func duration(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, Duration> & Sendable,
        minimum: Duration? = nil,
        maximum: Duration,
        doc: [String]
    ) -> Self {
        Self(
            section: "",
            name: name,
            kind: "duration",
            bounds: minimum.map { "\(formatDuration($0)) to \(formatDuration(maximum))" } ?? "at most \(formatDuration(maximum))",
            doc: doc,
            apply: { value, configuration throws(Problem) in
                let duration = try Self.readDuration(value, maximum: maximum)
                if let minimum, duration < minimum {
                    throw Problem(code: .invalidValue, message: "must be at least \(formatDuration(minimum))")
                }
                configuration[keyPath: path] = duration
            },
            render: { configuration in tomlString(formatDuration(configuration[keyPath: path])) }
        )
    }

    /// A rate, `"<count>/<period>"`: sets the count and period of a token bucket's shape (its
    /// burst is a key of its own, or the count when `burstIsCount`).
    static func rate(
        _ name: String,
        _ path: any WritableKeyPath<DaemonConfiguration, TokenRate> & Sendable,
        burstIsCount: Bool = false,
        doc: [String]
    ) -> Self {
        Self(
            section: "",
            name: name,
            kind: "rate",
            bounds: nil,
            doc: doc,
            apply: { value, configuration throws(Problem) in
                let text = try Self.readString(value)
                let parts = text.split(separator: "/", maxSplits: 1)
                guard parts.count == 2, let count = Int(parts[0]), count > 0, let period = parseDuration(String(parts[1])),
                    period > .zero
                else {
                    throw Problem(
                        code: .invalidValue,
                        message: "must be \"<count>/<period>\" such as \"20/1m\" (got \"\(text)\")"
                    )
                }
                configuration[keyPath: path].rate = Double(count)
                configuration[keyPath: path].per = period
                if burstIsCount { configuration[keyPath: path].burst = Double(count) }
            },
            render: { configuration in tomlString(formatRate(configuration[keyPath: path])) }
        )
    }

    // MARK: Value readers

    static func readString(_ value: any TOMLValueConvertible) throws(Problem) -> String {
        guard value.type == .string, let text = value.string else { throw Self.wrongType("a string", value) }
        return text
    }

    static func readInteger(_ value: any TOMLValueConvertible, in range: ClosedRange<Int>) throws(Problem) -> Int {
        guard value.type == .int, let number = value.int else { throw Self.wrongType("an integer", value) }
        guard range.contains(number) else {
            throw Problem(
                code: .invalidValue,
                message: "must be between \(range.lowerBound) and \(range.upperBound) (got \(number))"
            )
        }
        return number
    }

    /// A duration: a string with a unit (`"500ms"`, `"10s"`, `"2m"`, `"1h"`) or an integer of seconds.
    static func readDuration(_ value: any TOMLValueConvertible, maximum: Duration) throws(Problem) -> Duration {
        let result: Duration
        if value.type == .int, let seconds = value.int {
            result = .seconds(seconds)
        } else if value.type == .string, let text = value.string, let parsed = parseDuration(text) {
            result = parsed
        } else if value.type == .string {
            throw Problem(
                code: .invalidValue,
                message:
                    "must be a duration such as \"500ms\", \"10s\", \"2m\", \"1h\" or \"30d\" (got \"\(value.string ?? "")\")"
            )
        } else {
            throw Self.wrongType("a duration such as \"10s\"", value)
        }
        guard result > .zero, result <= maximum else {
            throw Problem(code: .invalidValue, message: "must be more than 0 and at most \(formatDuration(maximum))")
        }
        return result
    }

    static func wrongType(_ expected: String, _ value: any TOMLValueConvertible) -> Problem {
        Problem(code: .wrongType, message: "must be \(expected), not a TOML \(value.type)")
    }
}

extension TokenRate {
    /// The burst as the configuration writes it: a whole number of tokens (`*_burst_*` keys).
    var wholeBurst: Int {
        get { Int(self.burst) }
        set { self.burst = Double(newValue) }
    }
}

/// A TOML basic string: quoted, with `\` and `"` escaped.
func tomlString(_ text: String) -> String {
    "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
}

extension String {
    /// Every occurrence of `target` replaced (without Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, self.contains(target) else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
