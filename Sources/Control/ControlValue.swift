/// A JSON value: what the control protocol carries as command results (docs/CONTROL_PROTOCOL.md).
/// Integers stay integers (sequence numbers and ids are 64-bit).
package enum ControlValue: Sendable, Hashable, Codable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([ControlValue])
    case object([String: ControlValue])

    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: ControlValue...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, ControlValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    package init(_ value: some BinaryInteger) { self = .int(Int64(clamping: value)) }
    package init(_ value: String?) { self = value.map(ControlValue.string) ?? .null }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([ControlValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: ControlValue].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    // MARK: Reading

    package subscript(key: String) -> ControlValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package var array: [ControlValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    package var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    package var int: Int64? {
        if case .int(let int) = self { return int }
        return nil
    }

    package var bool: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// The value as one line of text for a table cell ("" for null, "yes"/"no" for booleans,
    /// lists joined by commas).
    package var text: String {
        switch self {
        case .null: ""
        case .bool(let value): value ? "yes" : "no"
        case .int(let value): String(value)
        case .double(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): value
        case .array(let values): values.map(\.text).joined(separator: ",")
        case .object(let object): object.keys.sorted().map { "\($0)=\(object[$0]!.text)" }.joined(separator: " ")
        }
    }
}
