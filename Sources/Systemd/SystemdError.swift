/// An error from the systemd integration.
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The socket-activation environment could not be read.
        public static let listenFDs = Code("listen_fds")
        /// A passed descriptor is not what the configuration expects.
        public static let unexpectedSocket = Code("unexpected_socket")
        public var description: String { self.name }
    }

    public var code: Code
    /// The errno value, when the failure came from a system call.
    public var errno: Int32?
    public var message: String

    public init(code: Code, errno: Int32? = nil, message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    public var description: String {
        if let errno { return "\(self.message) (errno \(errno))" }
        return self.message
    }
}
