/// A control command's failure: a stable code (on the wire, in `error.code`) and a message for
/// the operator. Messages never contain secrets.
public struct ControlError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public init(name: String) { self.name = name }
        public var description: String { self.name }

        /// Not a command of this protocol version.
        public static let unknownCommand = Code(name: "unknown_command")
        /// Wrong arguments or options for the command.
        public static let badArguments = Code(name: "bad_arguments")
        /// A malformed line.
        public static let badRequest = Code(name: "bad_request")
        /// No such conversation, user, device, session, …
        public static let notFound = Code(name: "not_found")
        /// The read-only socket refuses commands that change anything.
        public static let readOnly = Code(name: "read_only")
        /// The database (or another part the command needs) is not available.
        public static let unavailable = Code(name: "unavailable")
        /// The command ran and failed (the message says why).
        public static let failed = Code(name: "failed")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
