/// A control command's failure: a stable code (on the wire, in `error.code`) and a message for
/// the operator. Messages never contain secrets.
package struct ControlError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        package let name: String
        package init(name: String) { self.name = name }
        package var description: String { self.name }

        /// Not a command of this protocol version.
        package static let unknownCommand = Code(name: "unknown_command")
        /// Wrong arguments or options for the command.
        package static let badArguments = Code(name: "bad_arguments")
        /// A malformed line.
        package static let badRequest = Code(name: "bad_request")
        /// No such conversation, user, device, session, …
        package static let notFound = Code(name: "not_found")
        /// The read-only socket refuses commands that change anything.
        package static let readOnly = Code(name: "read_only")
        /// The database (or another part the command needs) is not available.
        package static let unavailable = Code(name: "unavailable")
        /// The command ran and failed (the message says why).
        package static let failed = Code(name: "failed")
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
