package import ChatClient
import Foundation

/// The running instance's protocol (docs/POLYCHAT_INSTANCE.md): JSON-RPC 2.0, one JSON object
/// per line (UTF-8, `\n`-terminated), over the Unix socket `polychat.sock` in the state directory.
/// This file holds the messages as values; ``InstanceServer`` and ``InstanceClient`` move them.
package enum InstanceProtocol {
    /// The socket's file name in the state directory.
    package static let socketName = "polychat.sock"
    /// The longest line either side accepts (bytes, without the newline): a longer one closes
    /// the connection.
    package static let maximumLine = 1 << 20

    /// The socket's path for a state directory.
    package static func socketPath(_ directory: StateDirectory) -> String { "\(directory.path)/\(Self.socketName)" }

    /// A request's id: JSON-RPC allows a number or a string; absent for a notification.
    package enum RequestID: Codable, Sendable, Hashable {
        case number(Int64)
        case string(String)

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .string(let string): try container.encode(string)
            }
        }
    }

    /// What every request has; its `params` are decoded again by the method's own type.
    package struct Head: Decodable, Sendable {
        package var jsonrpc: String
        package var id: RequestID?
        package var method: String
    }

    struct Body<Params: Decodable>: Decodable {
        var params: Params
    }

    struct Request<Params: Encodable>: Encodable {
        var jsonrpc = "2.0"
        var id: RequestID
        var method: String
        var params: Params
    }

    struct Result<Value: Encodable>: Encodable {
        var jsonrpc = "2.0"
        var id: RequestID?
        var result: Value
    }

    struct Notification<Params: Encodable>: Encodable {
        var jsonrpc = "2.0"
        var method: String
        var params: Params
    }

    /// A JSON-RPC error object. `data`, for polychat's own errors (code -32000), names the
    /// reason (``ChatError`` code) and the exit status a one-shot command would have had.
    package struct ErrorObject: Codable, Sendable, Equatable {
        package struct Detail: Codable, Sendable, Equatable {
            package var reason: String
            package var status: Int32
        }
        package var code: Int
        package var message: String
        package var data: Detail?

        package static func parse(_ message: String) -> ErrorObject { ErrorObject(code: -32700, message: message) }
        package static func invalidRequest(_ message: String) -> ErrorObject { ErrorObject(code: -32600, message: message) }
        package static func unknownMethod(_ method: String) -> ErrorObject {
            ErrorObject(
                code: -32601,
                message: "no method '\(method)'; the methods are \(Method.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        package static func invalidParams(_ message: String) -> ErrorObject { ErrorObject(code: -32602, message: message) }
        package static func failed(_ error: ChatError, status: Int32) -> ErrorObject {
            ErrorObject(code: -32000, message: error.message, data: Detail(reason: error.code.description, status: status))
        }
    }

    struct Reply<T: Decodable>: Decodable {
        var id: RequestID?
        var result: T?
        var error: ErrorObject?
    }

    struct Failure: Encodable {
        var jsonrpc = "2.0"
        var id: RequestID?
        var error: ErrorObject
    }

    /// The methods.
    package enum Method: String, CaseIterable, Sendable {
        case status, run, subscribe, send, dm, post
    }

    // MARK: Parameters and results

    /// `run`: a polychat command line (without `polychat`), run by the instance as if typed.
    package struct RunParams: Codable, Sendable {
        package var argv: [String]
        /// The caller's working directory: relative paths in `argv` (`send --file`, `save`)
        /// are read against it. Absent: the instance's own.
        package var cwd: String?
        package init(argv: [String], cwd: String? = nil) {
            self.argv = argv
            self.cwd = cwd
        }
    }

    /// `run`'s result: what the command printed and its exit status.
    package struct RunResult: Codable, Sendable, Equatable {
        package var status: Int32
        package var stdout: String
        package var stderr: String
        package init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// `status`'s result.
    package struct Status: Codable, Sendable {
        package var user, device: String
        package var name: String?
        package var connected: Bool
        package var pid: Int32
        package var protocolVersion: Int
    }

    /// `send`: a message to a conversation (named as on the command line).
    package struct SendParams: Codable, Sendable {
        package var conversation: String
        package var text: String
    }

    /// `dm`: a message to a user (named as on the command line); starts the DM the first time.
    package struct DirectParams: Codable, Sendable {
        package var user: String
        package var text: String
    }

    /// `send`'s and `dm`'s result.
    package struct Sent: Codable, Sendable {
        package var conversation: String
        package var seq: UInt64
        package var sentAtMs: UInt64
    }

    /// `post`: a Polycentric post, or a reply when `replyTo` names a post.
    package struct PostParams: Codable, Sendable {
        package var text: String
        package var replyTo: String?
    }

    /// `post`'s result.
    package struct Posted: Codable, Sendable {
        package var id: String
        package var link: String
    }

    /// `subscribe`'s result; the events follow as `message` and `notice` notifications.
    package struct Subscribed: Codable, Sendable {
        package var subscribed: Bool
    }

    /// The `message` notification: a message that arrived.
    package struct MessageEvent: Codable, Sendable, Equatable {
        package var conversation: String
        package var conversationName: String
        package var kind: String
        package var message: ChatMessage
        package init(conversation: String, conversationName: String, kind: String, message: ChatMessage) {
            self.conversation = conversation
            self.conversationName = conversationName
            self.kind = kind
            self.message = message
        }
    }

    /// The `notice` notification: something the user should know ("alice added you to lobby").
    package struct NoticeEvent: Codable, Sendable, Equatable {
        package var text: String
        package init(text: String) { self.text = text }
    }

    /// The protocol's version, in `status`.
    package static let version = 1

    // MARK: Encoding

    static func line<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every value here encodes (strings, numbers, arrays of them).
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Array(data) + [0x0A]
    }

    package static func result<T: Encodable>(_ value: T, id: RequestID?) -> [UInt8] {
        Self.line(Result(id: id, result: value))
    }

    package static func failure(_ error: ErrorObject, id: RequestID?) -> [UInt8] {
        Self.line(Failure(id: id, error: error))
    }

    package static func notification<T: Encodable>(_ method: String, _ params: T) -> [UInt8] {
        Self.line(Notification(method: method, params: params))
    }

    package static func request<T: Encodable>(_ method: Method, _ params: T, id: Int64) -> [UInt8] {
        Self.line(Request(id: .number(id), method: method.rawValue, params: params))
    }

    // MARK: Decoding

    /// A request's head, or the error to answer with (the id when it could be read).
    package static func head(_ line: [UInt8]) -> Swift.Result<Head, ErrorObject> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)), object is [String: Any] else {
            return .failure(.parse("not a JSON object: each line is one JSON-RPC 2.0 request"))
        }
        guard let head = try? JSONDecoder().decode(Head.self, from: Data(line)) else {
            return .failure(.invalidRequest("a request has \"jsonrpc\": \"2.0\", a \"method\" string and an \"id\""))
        }
        guard head.jsonrpc == "2.0" else { return .failure(.invalidRequest("\"jsonrpc\" must be \"2.0\"")) }
        return .success(head)
    }

    /// A request's `params` as `type`.
    package static func params<T: Decodable>(_ type: T.Type, _ line: [UInt8]) -> Swift.Result<T, ErrorObject> {
        do {
            return .success(try JSONDecoder().decode(Body<T>.self, from: Data(line)).params)
        } catch {
            return .failure(
                .invalidParams("the params do not fit this method (see docs/POLYCHAT_INSTANCE.md): \(Self.explain(error))")
            )
        }
    }

    static func explain(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            let path = (context.codingPath + [key]).map(\.stringValue).filter { $0 != "params" }
            return "\"\(path.joined(separator: "."))\" is missing"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return
                "\"\(context.codingPath.map(\.stringValue).filter { $0 != "params" }.joined(separator: "."))\" has the wrong type"
        default:
            return "\"params\" is missing or not an object"
        }
    }

    /// An event notification (`message` or `notice`) as a value; nil for any other line.
    package enum Event: Sendable, Equatable {
        case message(MessageEvent)
        case notice(NoticeEvent)
    }

    struct EventLine<P: Decodable>: Decodable {
        var method: String
        var params: P
    }

    package static func event(_ line: [UInt8]) -> Event? {
        let decoder = JSONDecoder()
        if let line = try? decoder.decode(EventLine<MessageEvent>.self, from: Data(line)), line.method == "message" {
            return .message(line.params)
        }
        if let line = try? decoder.decode(EventLine<NoticeEvent>.self, from: Data(line)), line.method == "notice" {
            return .notice(line.params)
        }
        return nil
    }

    /// What a reply line says: the result's bytes decoded as `T`, or the error.
    package static func reply<T: Decodable>(_ type: T.Type, _ line: [UInt8]) -> Swift.Result<T, ErrorObject>? {
        guard let reply = try? JSONDecoder().decode(Reply<T>.self, from: Data(line)) else { return nil }
        if let error = reply.error { return .failure(error) }
        return reply.result.map { .success($0) }
    }
}
