#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The control protocol's messages (docs/CONTROL_PROTOCOL.md): JSON objects, one per line.
package enum ControlProtocol {
    /// The protocol version this side speaks (`hello.protocol`).
    package static let version = 1
    /// A line longer than this is refused (the connection is closed).
    package static let maximumLine = 1 << 20

    /// The server's first line.
    package struct Hello: Sendable, Hashable, Codable {
        package var `protocol`: Int
        package var server: String
        package var gatewayID: String
        /// This socket refuses commands that change anything.
        package var readOnly: Bool

        package init(protocol: Int = ControlProtocol.version, server: String, gatewayID: String, readOnly: Bool) {
            self.protocol = `protocol`
            self.server = server
            self.gatewayID = gatewayID
            self.readOnly = readOnly
        }

        enum CodingKeys: String, CodingKey {
            case `protocol`, server
            case gatewayID = "gateway_id"
            case readOnly = "read_only"
        }
    }

    /// A command. `cancel` (with the id of a running stream) ends that stream instead.
    package struct Request: Sendable, Hashable, Codable {
        package var id: Int64
        package var command: String?
        package var arguments: [String]?
        /// Options by long name; flags are "true".
        package var options: [String: String]?
        package var cancel: Bool?

        package init(id: Int64, command: String, arguments: [String] = [], options: [String: String] = [:]) {
            self.id = id
            self.command = command
            self.arguments = arguments
            self.options = options
        }

        package static func cancel(_ id: Int64) -> Request {
            var request = Request(id: id, command: "", arguments: [], options: [:])
            request.command = nil
            request.arguments = nil
            request.options = nil
            request.cancel = true
            return request
        }
    }

    /// An answer: stream events (`event`), then one final line with `ok` and `result` or `error`.
    package struct Response: Sendable, Hashable, Codable {
        package var id: Int64
        package var ok: Bool?
        package var result: ControlValue?
        package var error: ErrorBody?
        package var event: ControlValue?

        package static func result(_ id: Int64, _ value: ControlValue) -> Response {
            Response(id: id, ok: true, result: value, error: nil, event: nil)
        }

        package static func failure(_ id: Int64, _ error: ControlError) -> Response {
            Response(id: id, ok: false, result: nil, error: ErrorBody(code: error.code.name, message: error.message), event: nil)
        }

        package static func event(_ id: Int64, _ value: ControlValue) -> Response {
            Response(id: id, ok: nil, result: nil, error: nil, event: value)
        }

        /// The final line of a request (not an event).
        package var isFinal: Bool { self.ok != nil }
    }

    package struct ErrorBody: Sendable, Hashable, Codable {
        package var code: String
        package var message: String

        package init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// One message as a line (compact JSON, keys sorted, `\n`-terminated).
    package static func line(_ message: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(message)) ?? Data("{}".utf8)
        return Array(data) + [0x0a]
    }

    /// A message from one line (without its newline).
    ///
    /// - Throws: ``ControlError`` `bad_request`.
    package static func decode<T: Decodable>(_ type: T.Type, _ line: some Collection<UInt8>) throws(ControlError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(line))
        } catch {
            throw ControlError(.badRequest, "not a \(T.self) line")
        }
    }

    /// JSON for people and scripts (`--json`): pretty, keys sorted.
    package static func pretty(_ value: ControlValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}
