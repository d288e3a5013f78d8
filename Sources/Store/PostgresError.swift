/// An error from the PostgreSQL store: a stable ``Code``, the server's SQLSTATE when the server
/// reported it, and details for debugging.
///
/// `description` holds the code, the SQLSTATE and the client-side message, but never the
/// server's message, detail or the query: those can quote user data, so they appear only in
/// `debugDescription`, which is meant for debug logs and tests.
public struct PostgresError: Error, Sendable {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case connectionFailed = "connection_failed"
            case connectTimeout = "connect_timeout"
            case connectionClosed = "connection_closed"
            case server
            case pipelineAborted = "pipeline_aborted"
            case protocolViolation = "protocol_violation"
            case unsupportedResult = "unsupported_result"
            case encoding
            case decoding
            case tooManyParameters = "too_many_parameters"
            case poolClosed = "pool_closed"
            case listenerClosed = "listener_closed"
            case migrationFailed = "migration_failed"
            case migrationModified = "migration_modified"
            case schemaTooNew = "schema_too_new"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// libpq could not establish a connection (refused, authentication, bad URL …).
        public static let connectionFailed = Code(.connectionFailed)
        /// Establishing a connection took longer than the configured connect timeout.
        public static let connectTimeout = Code(.connectTimeout)
        /// The connection was lost or closed while (or before) the operation ran.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server rejected a statement; ``PostgresError/sqlState`` says why.
        public static let server = Code(.server)
        /// An earlier statement of the same pipeline batch failed, so this one did not run.
        public static let pipelineAborted = Code(.pipelineAborted)
        /// libpq returned results in an order the client did not expect.
        public static let protocolViolation = Code(.protocolViolation)
        /// The statement produced a result kind the client does not handle (COPY).
        public static let unsupportedResult = Code(.unsupportedResult)
        /// A parameter could not be encoded.
        public static let encoding = Code(.encoding)
        /// A column value could not be decoded into the requested Swift type.
        public static let decoding = Code(.decoding)
        /// A statement has more than 65535 parameters.
        public static let tooManyParameters = Code(.tooManyParameters)
        /// The connection pool has been shut down.
        public static let poolClosed = Code(.poolClosed)
        /// The notification listener has been shut down.
        public static let listenerClosed = Code(.listenerClosed)
        /// A migration failed; it was rolled back and later ones were not attempted.
        public static let migrationFailed = Code(.migrationFailed)
        /// An applied migration's SQL no longer matches the recorded checksum.
        public static let migrationModified = Code(.migrationModified)
        /// The database has migrations this program does not know (a newer version ran).
        public static let schemaTooNew = Code(.schemaTooNew)

        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The five-character SQLSTATE, when the server sent one (e.g. `23505`, `40001`, `57P01`).
    public var sqlState: String?
    /// The server's severity (`ERROR`, `FATAL`, `PANIC`), when the server sent one.
    public var severity: String?
    /// The server's primary message or libpq's error text. May quote user data.
    public var message: String?
    /// The server's DETAIL field. May quote user data.
    public var detail: String?
    /// The server's HINT field.
    public var hint: String?
    /// The SQL text of the statement that failed, when known. Never includes parameter values.
    public var query: String?
    /// For ``Code/connectionClosed``: `false` when the request never reached the server, so it is
    /// safe to retry on another connection.
    public var mayHaveReachedServer: Bool
    /// Where the error was created.
    public var file: String
    public var line: Int

    public init(
        code: Code,
        sqlState: String? = nil,
        severity: String? = nil,
        message: String? = nil,
        detail: String? = nil,
        hint: String? = nil,
        query: String? = nil,
        mayHaveReachedServer: Bool = true,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.sqlState = sqlState
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
        self.query = query
        self.mayHaveReachedServer = mayHaveReachedServer
        self.file = file
        self.line = line
    }
}

extension PostgresError {
    /// SQLSTATE `23505`: a unique constraint was violated.
    public var isUniqueViolation: Bool { self.sqlState == "23505" }
    /// SQLSTATE `40001` / `40P01`: the transaction should be retried.
    public var isSerializationFailure: Bool { self.sqlState == "40001" || self.sqlState == "40P01" }
    /// Connection-level failures, after which a new connection may succeed.
    public var isConnectionError: Bool {
        self.code == .connectionFailed || self.code == .connectTimeout || self.code == .connectionClosed
    }
}

// MARK: - CustomStringConvertible

extension PostgresError: CustomStringConvertible {
    public var description: String {
        var text = "PostgresError(\(self.code)"
        if let sqlState = self.sqlState { text += ", sqlstate \(sqlState)" }
        // Server messages can quote data and stay out; every other message is written by libpq
        // (hosts and ports, never passwords) or by this library (names, never values).
        if self.code != .server, let message = self.message {
            text += ": \(message)"
        }
        return text + ")"
    }
}

// MARK: - CustomDebugStringConvertible

extension PostgresError: CustomDebugStringConvertible {
    public var debugDescription: String {
        var parts = ["code: \(self.code)"]
        if let v = self.sqlState { parts.append("sqlstate: \(v)") }
        if let v = self.severity { parts.append("severity: \(v)") }
        if let v = self.message { parts.append("message: \(v)") }
        if let v = self.detail { parts.append("detail: \(v)") }
        if let v = self.hint { parts.append("hint: \(v)") }
        if let v = self.query { parts.append("query: \(v)") }
        parts.append("at: \(self.file):\(self.line)")
        return "PostgresError(" + parts.joined(separator: ", ") + ")"
    }
}
