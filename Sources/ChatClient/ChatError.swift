/// A failure polychat reports to its user: a stable code and a message that says what to do.
/// Messages never contain keys or message contents.
public struct ChatError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public var description: String { self.name }

        /// No identity in the state directory (`polychat init` first).
        public static let noIdentity = Code(name: "no_identity")
        /// An identity exists already (init refuses to overwrite it).
        public static let identityExists = Code(name: "identity_exists")
        /// The state cannot be read: wrong passphrase, damaged or from a newer version.
        public static let badState = Code(name: "bad_state")
        /// A server cannot be reached.
        public static let unreachable = Code(name: "unreachable")
        /// A server refused the request (the message names its reason).
        public static let refused = Code(name: "refused")
        /// No such conversation, user or event here.
        public static let notFound = Code(name: "not_found")
        /// A prefix that names several things.
        public static let ambiguous = Code(name: "ambiguous")
        /// The user is not (or no longer) a member of the conversation.
        public static let notMember = Code(name: "not_member")
        /// An argument that does not parse.
        public static let badArgument = Code(name: "bad_argument")
        /// Another polychat process uses the state directory.
        public static let busy = Code(name: "busy")
        /// A file could not be read or written.
        public static let io = Code(name: "io")
        /// This device was revoked: it can no longer chat (the identity can still be exported).
        public static let revoked = Code(name: "revoked")
        /// A server refused the connection for its rate limits (HTTP 429); the message says
        /// how long to wait.
        public static let rateLimited = Code(name: "rate_limited")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
