/// A failure polychat reports to its user: a stable code and a message that says what to do.
/// Messages never contain keys or message contents.
package struct ChatError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        package var description: String { self.name }

        /// The code named `reason` (as ``description`` prints it): a running instance's answer
        /// carries it.
        package init(reason: String) { self.name = reason }

        init(name: String) { self.name = name }

        /// The exit status of a polychat command that fails with this code (polychat(1)).
        package var exitStatus: Int32 {
            switch self {
            case .unreachable: 3
            case .noIdentity: 4
            case .busy: 5
            case .badArgument: 64
            case .revoked: 6
            case .rateLimited: 7
            case .gatewayKey: 8
            default: 1
            }
        }

        /// No identity in the state directory (`polychat init` first).
        package static let noIdentity = Code(name: "no_identity")
        /// An identity exists already (init refuses to overwrite it).
        package static let identityExists = Code(name: "identity_exists")
        /// The state cannot be read: wrong passphrase, damaged or from a newer version.
        package static let badState = Code(name: "bad_state")
        /// A server cannot be reached.
        package static let unreachable = Code(name: "unreachable")
        /// A server refused the request (the message names its reason).
        package static let refused = Code(name: "refused")
        /// No such conversation, user or event here.
        package static let notFound = Code(name: "not_found")
        /// A prefix that names several things.
        package static let ambiguous = Code(name: "ambiguous")
        /// The user is not (or no longer) a member of the conversation.
        package static let notMember = Code(name: "not_member")
        /// An argument that does not parse.
        package static let badArgument = Code(name: "bad_argument")
        /// Another polychat process uses the state directory.
        package static let busy = Code(name: "busy")
        /// A file could not be read or written.
        package static let io = Code(name: "io")
        /// This device was revoked: it can no longer chat (the identity can still be exported).
        package static let revoked = Code(name: "revoked")
        /// A server refused the connection for its rate limits (HTTP 429); the message says
        /// how long to wait.
        package static let rateLimited = Code(name: "rate_limited")
        /// The gateway did not prove it holds the key pinned for it, or no longer offers the
        /// sealed sessions a pinned key asks for: polychat does not connect.
        package static let gatewayKey = Code(name: "gateway_key")
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
