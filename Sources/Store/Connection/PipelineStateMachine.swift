/// Bookkeeping for the requests in flight on one libpq connection, as a value type without I/O.
///
/// The connection runs in libpq pipeline mode. A pipelined request is N statements followed by
/// one sync; libpq then reports, per statement, one result and a NULL, and finally a
/// `PGRES_PIPELINE_SYNC` result. A statement after a failed one in the same request reports
/// `PGRES_PIPELINE_ABORTED`. A *simple* request (multi-statement SQL via `PQsendQuery`, used by
/// migrations) needs pipeline mode switched off and the connection idle; it reports one result per
/// statement and a single NULL at the end.
///
/// The machine receives submissions and libpq events and returns the actions the connection must
/// carry out, in order.
struct PipelineStateMachine {
    enum Mode: Equatable {
        case pipeline
        case simple
    }

    struct Request: Equatable {
        var id: UInt64
        var statementCount: Int
        var mode: Mode
    }

    /// What libpq reported.
    enum Event {
        /// A result of a statement: rows or a command completion.
        case result(PostgresQueryResult)
        /// The statement failed.
        case error(PostgresError)
        /// The statement did not run because an earlier one in the request failed.
        case aborted
        /// `PQgetResult` returned NULL: the current statement (pipeline) or request (simple) is done.
        case end
        /// `PGRES_PIPELINE_SYNC`.
        case sync
    }

    enum Action {
        /// Send the request's statements and a sync (pipeline mode is on).
        case sendPipelined(Request)
        /// Leave pipeline mode (the connection is idle).
        case exitPipelineMode
        /// Send the request with `PQsendQuery` (pipeline mode is off).
        case sendSimple(Request)
        /// Enter pipeline mode again (the connection is idle).
        case enterPipelineMode
        /// The request finished; one result per statement.
        case succeed(id: UInt64, results: [PostgresQueryResult])
        /// The request failed.
        case fail(id: UInt64, error: PostgresError)
        /// libpq and the machine disagree; the connection must be closed.
        case closeConnection(PostgresError)
    }

    private struct InFlight {
        var request: Request
        var results: [PostgresQueryResult] = []
        var firstError: PostgresError?
        /// Statements whose terminating NULL has been seen (pipeline mode).
        var statementsEnded = 0
        /// Whether the current statement has produced its result.
        var currentHasResult = false
    }

    private var inFlight: [InFlight] = []
    private var inFlightHead = 0
    private var waiting: [Request] = []
    private var pipelineModeOn = true
    private var closedError: PostgresError?

    /// Requests sent and not yet complete.
    var inFlightCount: Int { self.inFlight.count - self.inFlightHead }
    /// Requests queued behind a mode switch.
    var waitingCount: Int { self.waiting.count }
    /// Whether libpq has results to hand out: only then may `PQgetResult` be called.
    var expectsResults: Bool { self.inFlightCount > 0 }
    var isPipelineModeOn: Bool { self.pipelineModeOn }
    var isClosed: Bool { self.closedError != nil }

    // MARK: Submissions

    mutating func submit(_ request: Request) -> [Action] {
        if let error = self.closedError {
            var error = error
            error.mayHaveReachedServer = false
            return [.fail(id: request.id, error: error)]
        }
        self.waiting.append(request)
        return self.dispatchWaiting()
    }

    // MARK: libpq events

    mutating func receive(_ event: Event) -> [Action] {
        guard self.inFlightHead < self.inFlight.count else {
            return self.violation("a result arrived with no request in flight")
        }
        var head = self.inFlight[self.inFlightHead]
        switch head.request.mode {
        case .pipeline:
            return self.receivePipelined(event, head: &head)
        case .simple:
            return self.receiveSimple(event, head: &head)
        }
    }

    private mutating func receivePipelined(_ event: Event, head: inout InFlight) -> [Action] {
        let expectingSync = head.statementsEnded == head.request.statementCount
        switch event {
        case .result(let result):
            guard !expectingSync, !head.currentHasResult else { return self.violation("unexpected extra result") }
            head.results.append(result)
            head.currentHasResult = true
        case .error(let error):
            guard !expectingSync, !head.currentHasResult else { return self.violation("unexpected extra error") }
            if head.firstError == nil { head.firstError = error }
            head.currentHasResult = true
        case .aborted:
            guard !expectingSync, !head.currentHasResult else { return self.violation("unexpected aborted result") }
            if head.firstError == nil {
                head.firstError = PostgresError(code: .pipelineAborted, message: "an earlier statement in the pipeline failed")
            }
            head.currentHasResult = true
        case .end:
            guard !expectingSync, head.currentHasResult else { return self.violation("statement ended without a result") }
            head.statementsEnded += 1
            head.currentHasResult = false
        case .sync:
            guard expectingSync else { return self.violation("pipeline sync before all statements ended") }
            return self.complete(head)
        }
        self.inFlight[self.inFlightHead] = head
        return []
    }

    private mutating func receiveSimple(_ event: Event, head: inout InFlight) -> [Action] {
        switch event {
        case .result(let result):
            head.results.append(result)
        case .error(let error):
            if head.firstError == nil { head.firstError = error }
        case .aborted, .sync:
            return self.violation("pipeline result outside pipeline mode")
        case .end:
            return self.complete(head)
        }
        self.inFlight[self.inFlightHead] = head
        return []
    }

    private mutating func complete(_ finished: InFlight) -> [Action] {
        self.inFlightHead += 1
        if self.inFlightHead == self.inFlight.count {
            self.inFlight.removeAll(keepingCapacity: true)
            self.inFlightHead = 0
        } else if self.inFlightHead > 64 {
            self.inFlight.removeFirst(self.inFlightHead)
            self.inFlightHead = 0
        }
        var actions: [Action] = []
        if let error = finished.firstError {
            actions.append(.fail(id: finished.request.id, error: error))
        } else {
            actions.append(.succeed(id: finished.request.id, results: finished.results))
        }
        actions.append(contentsOf: self.dispatchWaiting())
        return actions
    }

    /// Sends whatever the current mode allows, switching modes only when the connection is idle.
    private mutating func dispatchWaiting() -> [Action] {
        var actions: [Action] = []
        while let next = self.waiting.first {
            switch next.mode {
            case .pipeline:
                if !self.pipelineModeOn {
                    guard self.inFlightCount == 0 else { return actions }
                    self.pipelineModeOn = true
                    actions.append(.enterPipelineMode)
                }
                self.waiting.removeFirst()
                self.inFlight.append(InFlight(request: next))
                actions.append(.sendPipelined(next))
            case .simple:
                guard self.inFlightCount == 0 else { return actions }
                if self.pipelineModeOn {
                    self.pipelineModeOn = false
                    actions.append(.exitPipelineMode)
                }
                self.waiting.removeFirst()
                self.inFlight.append(InFlight(request: next))
                actions.append(.sendSimple(next))
                return actions
            }
        }
        if !self.pipelineModeOn && self.inFlightCount == 0 {
            self.pipelineModeOn = true
            actions.append(.enterPipelineMode)
        }
        return actions
    }

    // MARK: Connection loss

    /// The connection is gone: every request fails. Requests that were never sent are marked so.
    mutating func connectionClosed(_ error: PostgresError) -> [Action] {
        guard self.closedError == nil else { return [] }
        self.closedError = error
        var actions: [Action] = []
        for entry in self.inFlight[self.inFlightHead...] {
            actions.append(.fail(id: entry.request.id, error: error))
        }
        var unsent = error
        unsent.mayHaveReachedServer = false
        for request in self.waiting {
            actions.append(.fail(id: request.id, error: unsent))
        }
        self.inFlight = []
        self.inFlightHead = 0
        self.waiting = []
        return actions
    }

    private mutating func violation(_ message: String) -> [Action] {
        let error = PostgresError(code: .protocolViolation, message: message)
        return [.closeConnection(error)]
    }
}
