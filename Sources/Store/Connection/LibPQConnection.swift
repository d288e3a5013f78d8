import CLibPQ
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection driven without blocking.
///
/// Every libpq call for the connection happens on its private serial `queue`; readiness of the
/// socket is watched with Dispatch sources, so no thread ever blocks in libpq and no NIO event
/// loop is involved. The connection stays in pipeline mode: independent requests are sent back
/// to back and their results matched in order by ``PipelineStateMachine``.
///
/// `@unchecked Sendable`: all mutable state is confined to `queue`.
final class LibPQConnection: @unchecked Sendable {
    typealias NotificationHandler = @Sendable (PostgresNotification) -> Void
    typealias CloseHandler = @Sendable (PostgresError) -> Void

    let id: Int
    let logger: Logger
    private let queue: DispatchQueue

    // Confined to `queue`.
    private var conn: OpaquePointer?
    private var readSource: (any DispatchSourceRead)?
    private var writeSource: (any DispatchSourceWrite)?
    private var liveSources = 0
    private var machine = PipelineStateMachine()
    private var pending: [UInt64: Pending] = [:]
    private var nextRequestID: UInt64 = 0
    private var closeError: PostgresError?
    private var onNotification: NotificationHandler?
    private var onClose: CloseHandler?

    private struct Pending {
        var statements: [PostgresQuery]
        var sql: String?
        var resultFormat: PostgresFormat
        var completion: @Sendable (Result<[PostgresQueryResult], PostgresError>) -> Void
    }

    private init(id: Int, logger: Logger) {
        self.id = id
        self.logger = logger
        self.queue = DispatchQueue(label: "polygate.store.connection.\(id)")
    }

    // MARK: - Connecting

    /// Opens a connection without blocking.
    ///
    /// - Parameters:
    ///   - conninfo: a libpq connection string or `postgresql://` URL.
    ///   - applicationName: sent as `fallback_application_name`.
    ///   - timeout: overall limit for the connection attempt.
    static func connect(
        id: Int,
        conninfo: String,
        applicationName: String,
        timeout: Duration,
        logger: Logger,
        onNotification: NotificationHandler? = nil,
        onClose: CloseHandler? = nil
    ) async throws -> LibPQConnection {
        try await withCheckedThrowingContinuation { continuation in
            Self.connect(
                id: id,
                conninfo: conninfo,
                applicationName: applicationName,
                timeout: timeout,
                logger: logger,
                onNotification: onNotification,
                onClose: onClose
            ) { continuation.resume(with: $0) }
        }
    }

    /// Opens a connection without blocking and reports the outcome to `completion`, which runs on
    /// the connection's queue.
    static func connect(
        id: Int,
        conninfo: String,
        applicationName: String,
        timeout: Duration,
        logger: Logger,
        onNotification: NotificationHandler?,
        onClose: CloseHandler?,
        completion: @escaping @Sendable (Result<LibPQConnection, PostgresError>) -> Void
    ) {
        let connection = LibPQConnection(id: id, logger: logger)
        connection.queue.async {
            connection.onNotification = onNotification
            connection.onClose = onClose
            let attempt = ConnectAttempt(connection: connection) { error in
                completion(error.map { .failure($0) } ?? .success(connection))
            }
            attempt.start(conninfo: conninfo, applicationName: applicationName, timeout: timeout)
        }
    }

    /// The steps of `PQconnectStartParams` + `PQconnectPoll`, each wait a one-shot source.
    /// `@unchecked Sendable`: used only on the connection's queue.
    private final class ConnectAttempt: @unchecked Sendable {
        let connection: LibPQConnection
        var completion: ((PostgresError?) -> Void)?
        var source: (any DispatchSourceProtocol)?
        var timedOut = false

        init(connection: LibPQConnection, completion: @escaping (PostgresError?) -> Void) {
            self.connection = connection
            self.completion = completion
        }

        func start(conninfo: String, applicationName: String, timeout: Duration) {
            let keywords = ["dbname", "client_encoding", "fallback_application_name"]
            let values = [conninfo, "UTF8", applicationName]
            let conn = withCStringArray(keywords) { k in
                withCStringArray(values) { v in PQconnectStartParams(k, v, 1) }
            }
            guard let conn else {
                self.finish(PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection"))
                return
            }
            self.connection.conn = conn
            // Server notices go to the logger, not to libpq's default of printing on stderr.
            PQsetNoticeReceiver(
                conn,
                { arg, result in
                    guard let arg, let result else { return }
                    let connection = Unmanaged<LibPQConnection>.fromOpaque(arg).takeUnretainedValue()
                    connection.notice(result)
                },
                Unmanaged.passUnretained(self.connection).toOpaque()
            )
            if PQstatus(conn) == CONNECTION_BAD {
                self.finish(self.connection.connectionError(.connectionFailed))
                return
            }
            let nanos = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            self.connection.queue.asyncAfter(deadline: .now() + .nanoseconds(Int(nanos))) { [self] in
                guard self.completion != nil else { return }
                self.timedOut = true
                if let source = self.source {
                    source.cancel()  // the cancel handler finishes with the timeout
                } else {
                    self.finish(PostgresError(code: .connectTimeout, message: "no connection within \(timeout)"))
                }
            }
            self.wait(forWriting: true)
        }

        func wait(forWriting: Bool) {
            guard let conn = self.connection.conn else { return }
            let fd = PQsocket(conn)
            guard fd >= 0 else {
                self.finish(self.connection.connectionError(.connectionFailed))
                return
            }
            let source: any DispatchSourceProtocol =
                forWriting
                ? DispatchSource.makeWriteSource(fileDescriptor: fd, queue: self.connection.queue)
                : DispatchSource.makeReadSource(fileDescriptor: fd, queue: self.connection.queue)
            self.source = source
            source.setEventHandler { source.cancel() }
            // Continue only after the source is fully gone: libpq may close or replace the fd.
            source.setCancelHandler { [self] in
                self.source = nil
                if self.timedOut {
                    self.finish(PostgresError(code: .connectTimeout, message: "no connection within the connect timeout"))
                } else {
                    self.poll()
                }
            }
            source.resume()
        }

        func poll() {
            guard let conn = self.connection.conn else { return }
            switch PQconnectPoll(conn) {
            case PGRES_POLLING_OK:
                self.finish(nil)
            case PGRES_POLLING_READING:
                self.wait(forWriting: false)
            case PGRES_POLLING_WRITING:
                self.wait(forWriting: true)
            default:
                self.finish(self.connection.connectionError(.connectionFailed))
            }
        }

        func finish(_ error: PostgresError?) {
            guard let completion = self.completion else { return }
            self.completion = nil
            if let error {
                if let conn = self.connection.conn {
                    PQfinish(conn)
                    self.connection.conn = nil
                }
                self.connection.closeError = error
                self.connection.onClose = nil
                self.connection.onNotification = nil
                completion(error)
                return
            }
            do {
                try self.connection.startOperating()
                completion(nil)
            } catch {
                completion(error)
            }
        }
    }

    /// Switches the fresh connection to non-blocking pipeline mode and starts watching the socket.
    private func startOperating() throws(PostgresError) {
        guard let conn = self.conn else { throw PostgresError(code: .connectionClosed) }
        guard PQsetnonblocking(conn, 1) == 0, PQenterPipelineMode(conn) == 1 else {
            let error = self.connectionError(.connectionFailed)
            PQfinish(conn)
            self.conn = nil
            self.closeError = error
            throw error
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: PQsocket(conn), queue: self.queue)
        source.setEventHandler { [unowned self] in self.readable() }
        source.setCancelHandler { [self] in self.sourceCancelled() }
        self.readSource = source
        self.liveSources += 1
        source.resume()
        self.logger.debug(
            "connected",
            metadata: [StoreLogKey.connectionID: "\(self.id)", "db.backend.pid": "\(PQbackendPID(conn))"]
        )
    }

    // MARK: - Requests

    /// Runs statements as one pipelined request (all-or-nothing results, one sync at the end).
    func execute(_ statements: [PostgresQuery], resultFormat: PostgresFormat) async throws -> [PostgresQueryResult] {
        try await withCheckedThrowingContinuation { continuation in
            self.execute(statements, resultFormat: resultFormat) { continuation.resume(with: $0) }
        }
    }

    /// Runs statements as one pipelined request and reports to `completion` on the connection's queue.
    func execute(
        _ statements: [PostgresQuery],
        resultFormat: PostgresFormat,
        completion: @escaping @Sendable (Result<[PostgresQueryResult], PostgresError>) -> Void
    ) {
        self.queue.async {
            self.submit(
                Pending(statements: statements, sql: nil, resultFormat: resultFormat, completion: completion),
                mode: .pipeline
            )
        }
    }

    /// Runs SQL text that may hold several statements and no parameters (simple query protocol).
    func executeSimple(_ sql: String) async throws -> [PostgresQueryResult] {
        try await withCheckedThrowingContinuation { continuation in
            self.queue.async {
                let pending = Pending(statements: [], sql: sql, resultFormat: .text) { continuation.resume(with: $0) }
                self.submit(pending, mode: .simple)
            }
        }
    }

    /// Whether the connection is open and outside any transaction block, i.e. fit for the pool.
    func isReusable() async -> Bool {
        await withCheckedContinuation { continuation in
            self.queue.async {
                guard let conn = self.conn, self.closeError == nil else { return continuation.resume(returning: false) }
                continuation.resume(returning: PQtransactionStatus(conn) == PQTRANS_IDLE && self.machine.inFlightCount == 0)
            }
        }
    }

    /// Closes the connection; requests still in flight fail with ``PostgresError/Code/connectionClosed``.
    func close() {
        self.queue.async {
            self.closeConnection(PostgresError(code: .connectionClosed, message: "connection closed by the client"))
        }
    }

    private func submit(_ pending: Pending, mode: PipelineStateMachine.Mode) {
        for statement in pending.statements where statement.bindings.count > 65535 {
            pending.completion(
                .failure(PostgresError(code: .tooManyParameters, query: statement.sql, mayHaveReachedServer: false))
            )
            return
        }
        self.nextRequestID += 1
        let id = self.nextRequestID
        self.pending[id] = pending
        let request = PipelineStateMachine.Request(id: id, statementCount: pending.statements.count, mode: mode)
        self.run(self.machine.submit(request))
        // Sending may have made results available in libpq's buffer (it reads while flushing).
        self.drainResults()
    }

    private func run(_ actions: [PipelineStateMachine.Action]) {
        for action in actions {
            switch action {
            case .sendPipelined(let request):
                self.sendPipelined(request)
            case .sendSimple(let request):
                self.sendSimple(request)
            case .exitPipelineMode:
                if let conn = self.conn, PQexitPipelineMode(conn) != 1 {
                    return self.closeConnection(self.connectionError(.protocolViolation))
                }
            case .enterPipelineMode:
                if let conn = self.conn, PQenterPipelineMode(conn) != 1 {
                    return self.closeConnection(self.connectionError(.protocolViolation))
                }
            case .succeed(let id, let results):
                self.pending.removeValue(forKey: id)?.completion(.success(results))
            case .fail(let id, var error):
                if let pending = self.pending.removeValue(forKey: id) {
                    if error.query == nil { error.query = pending.sql ?? pending.statements.first?.sql }
                    pending.completion(.failure(error))
                }
            case .closeConnection(let error):
                return self.closeConnection(error)
            }
        }
    }

    private func sendPipelined(_ request: PipelineStateMachine.Request) {
        guard let conn = self.conn, let pending = self.pending[request.id] else { return }
        for statement in pending.statements {
            let ok = sendQueryParams(conn: conn, statement: statement, resultFormat: pending.resultFormat)
            guard ok else {
                return self.closeConnection(self.connectionError(.connectionClosed))
            }
        }
        guard PQpipelineSync(conn) == 1 else {
            return self.closeConnection(self.connectionError(.connectionClosed))
        }
        self.flush()
    }

    private func sendSimple(_ request: PipelineStateMachine.Request) {
        guard let conn = self.conn, let pending = self.pending[request.id] else { return }
        guard PQsendQuery(conn, pending.sql ?? "") == 1 else {
            return self.closeConnection(self.connectionError(.connectionClosed))
        }
        self.flush()
    }

    /// Pushes libpq's output buffer; when the socket is full, waits for it to become writable.
    private func flush() {
        guard let conn = self.conn else { return }
        switch PQflush(conn) {
        case 0:
            if let source = self.writeSource {
                self.writeSource = nil
                source.cancel()
            }
        case 1:
            guard self.writeSource == nil else { return }
            let source = DispatchSource.makeWriteSource(fileDescriptor: PQsocket(conn), queue: self.queue)
            source.setEventHandler { [unowned self] in self.flush() }
            source.setCancelHandler { [self] in self.sourceCancelled() }
            self.writeSource = source
            self.liveSources += 1
            source.resume()
        default:
            self.closeConnection(self.connectionError(.connectionClosed))
        }
    }

    // MARK: - Input

    private func readable() {
        guard let conn = self.conn, self.closeError == nil else { return }
        // Read until the socket has nothing more. libpq reads once per call: when a server that
        // shuts down sends a notice and closes at once, one readiness event brought both, the
        // end was never read and the connection looked alive (requests queued behind it waited
        // until the database came back).
        repeat {
            guard PQconsumeInput(conn) == 1 else {
                return self.closeConnection(self.connectionError(.connectionClosed))
            }
        } while Self.hasInput(PQsocket(conn))
        self.drainResults()
        if self.writeSource != nil { self.flush() }
    }

    /// Whether `fd` has bytes (or its end) to read now.
    private static func hasInput(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&descriptor, 1, 0) > 0 && descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }

    /// Hands every complete result libpq has buffered to the state machine, then notifications.
    private func drainResults() {
        guard let conn = self.conn, self.closeError == nil else { return }
        while self.machine.expectsResults, self.closeError == nil, PQisBusy(conn) == 0 {
            let event: PipelineStateMachine.Event
            if let result = PQgetResult(conn) {
                event = Self.event(from: result)
                PQclear(result)
            } else {
                event = .end
            }
            self.run(self.machine.receive(event))
        }
        guard self.conn != nil, self.closeError == nil else { return }
        self.deliverNotifications(conn)
        if PQstatus(conn) == CONNECTION_BAD {
            self.closeConnection(self.connectionError(.connectionClosed))
        }
    }

    private func deliverNotifications(_ conn: OpaquePointer) {
        while let raw = PQnotifies(conn) {
            let notification = PostgresNotification(
                channel: String(cString: raw.pointee.relname),
                payload: String(cString: raw.pointee.extra),
                backendPID: raw.pointee.be_pid
            )
            PQfreemem(raw)
            self.onNotification?(notification)
        }
    }

    private static func event(from result: OpaquePointer) -> PipelineStateMachine.Event {
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return .result(Self.queryResult(from: result))
        case PGRES_PIPELINE_SYNC:
            return .sync
        case PGRES_PIPELINE_ABORTED:
            return .aborted
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            return .error(Self.serverError(from: result))
        default:
            return .error(PostgresError(code: .unsupportedResult, message: String(cString: PQresStatus(status))))
        }
    }

    private static func queryResult(from result: OpaquePointer) -> PostgresQueryResult {
        let fieldCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<Int32(fieldCount) {
            columns.append(
                PostgresColumn(
                    name: String(cString: PQfname(result, field)),
                    dataType: PostgresDataType(PQftype(result, field)),
                    format: PQfformat(result, field) == 1 ? .binary : .text
                )
            )
        }
        var cells: [Int32] = []
        cells.reserveCapacity(2 * fieldCount * rowCount)
        var total = 0
        for row in 0..<Int32(rowCount) {
            for field in 0..<Int32(fieldCount) where PQgetisnull(result, row, field) == 0 {
                total += Int(PQgetlength(result, row, field))
            }
        }
        var storage: [UInt8] = []
        storage.reserveCapacity(total)
        for row in 0..<Int32(rowCount) {
            for field in 0..<Int32(fieldCount) {
                cells.append(Int32(storage.count))
                if PQgetisnull(result, row, field) == 1 {
                    cells.append(-1)
                    continue
                }
                let length = Int(PQgetlength(result, row, field))
                cells.append(Int32(length))
                if length > 0, let value = PQgetvalue(result, row, field) {
                    value.withMemoryRebound(to: UInt8.self, capacity: length) {
                        storage.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                    }
                }
            }
        }
        let tag = String(cString: PQcmdStatus(result))
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresQueryResult(columns: columns, commandTag: tag, affectedRows: Int(tuples), storage: storage, cells: cells)
    }

    private static func serverError(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let message = field(cshim_pg_diag_message_primary()) ?? trimmed(String(cString: PQresultErrorMessage(result)))
        return PostgresError(
            code: .server,
            sqlState: field(cshim_pg_diag_sqlstate()),
            severity: field(cshim_pg_diag_severity_nonlocalized()) ?? field(cshim_pg_diag_severity()),
            message: message,
            detail: field(cshim_pg_diag_message_detail()),
            hint: field(cshim_pg_diag_message_hint())
        )
    }

    /// A NOTICE or WARNING from the server.
    private func notice(_ result: OpaquePointer) {
        let severity = PQresultErrorField(result, cshim_pg_diag_severity_nonlocalized()).map { String(cString: $0) } ?? "NOTICE"
        let message = PQresultErrorField(result, cshim_pg_diag_message_primary()).map { String(cString: $0) } ?? ""
        self.logger.debug(
            "server notice",
            metadata: [
                StoreLogKey.connectionID: "\(self.id)", "db.notice.severity": "\(severity)", "db.notice.message": "\(message)",
            ]
        )
    }

    // MARK: - Closing

    private func connectionError(_ code: PostgresError.Code) -> PostgresError {
        let text = self.conn.map { trimmed(String(cString: PQerrorMessage($0))) } ?? ""
        return PostgresError(code: code, message: text.isEmpty ? nil : text)
    }

    private func closeConnection(_ error: PostgresError) {
        guard self.closeError == nil else { return }
        self.closeError = error
        self.logger.debug(
            "connection closed",
            metadata: [StoreLogKey.connectionID: "\(self.id)", StoreLogKey.error: "\(error)"]
        )
        // Tell the owner first, so that a request failing below never sees the connection as live.
        let handler = self.onClose
        self.onClose = nil
        self.onNotification = nil
        handler?(error)
        self.run(self.machine.connectionClosed(error))
        if let source = self.writeSource {
            self.writeSource = nil
            source.cancel()
        }
        if let source = self.readSource {
            self.readSource = nil
            source.cancel()
        }
        if self.liveSources == 0 { self.finishLibPQ() }
    }

    /// Called once per cancelled source; libpq may close the fd only after all are gone.
    private func sourceCancelled() {
        self.liveSources -= 1
        if self.liveSources == 0 && self.closeError != nil { self.finishLibPQ() }
    }

    private func finishLibPQ() {
        if let conn = self.conn {
            self.conn = nil
            PQfinish(conn)
        }
    }

    deinit {
        if let conn = self.conn { PQfinish(conn) }
    }
}

// MARK: - Helpers

/// Sends one statement with `PQsendQueryParams`; parameters are copied by libpq during the call.
private func sendQueryParams(conn: OpaquePointer, statement: PostgresQuery, resultFormat: PostgresFormat) -> Bool {
    let values = statement.bindings.values
    var types: [Oid] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    var offsets: [Int] = []
    var blob: [UInt8] = []
    types.reserveCapacity(values.count)
    for value in values {
        types.append(value.dataType.oid)
        formats.append(value.format.rawValue)
        guard let bytes = value.bytes else {
            offsets.append(-1)
            lengths.append(0)
            continue
        }
        offsets.append(blob.count)
        lengths.append(Int32(bytes.count))
        blob.append(contentsOf: bytes)
        if value.format == .text { blob.append(0) }  // libpq reads text parameters as C strings
    }
    blob.append(0)  // never empty, so every non-NULL value has a real address
    return blob.withUnsafeBufferPointer { base in
        let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            offset < 0 ? nil : UnsafeRawPointer(base.baseAddress! + offset).assumingMemoryBound(to: CChar.self)
        }
        return PQsendQueryParams(
            conn,
            statement.sql,
            Int32(values.count),
            types,
            pointers,
            lengths,
            formats,
            resultFormat.rawValue
        ) == 1
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func trimmed(_ text: String) -> String {
    var scalars = Substring(text)
    while let last = scalars.last, last == "\n" || last == " " { scalars.removeLast() }
    return String(scalars)
}
