import Testing

@testable import Store

@Suite struct PipelineStateMachineTests {
    typealias Machine = PipelineStateMachine

    static func rows(_ value: String) -> PostgresQueryResult {
        PostgresQueryResult(
            columns: [PostgresColumn(name: "v", dataType: .text, format: .text)],
            rows: [[Array(value.utf8)]],
            commandTag: "SELECT 1"
        )
    }

    static func serverError(_ state: String) -> PostgresError {
        PostgresError(code: .server, sqlState: state)
    }

    @Test func pipelinedRequestSucceedsAfterSync() throws {
        var machine = Machine()
        let sent = machine.submit(.init(id: 1, statementCount: 2, mode: .pipeline))
        guard case .sendPipelined(let request) = sent.first, sent.count == 1 else {
            Issue.record("expected one send, got \(sent)")
            return
        }
        #expect(request.id == 1)
        #expect(machine.receive(.result(Self.rows("a"))).isEmpty)
        #expect(machine.receive(.end).isEmpty)
        #expect(machine.receive(.result(Self.rows("b"))).isEmpty)
        #expect(machine.receive(.end).isEmpty)
        let done = machine.receive(.sync)
        guard case .succeed(let id, let results) = done.first else {
            Issue.record("expected success, got \(done)")
            return
        }
        #expect(id == 1)
        #expect(results.count == 2)
        #expect(try results[1][0][0].decode(String.self) == "b")
        #expect(!machine.expectsResults)
    }

    @Test func failedStatementAbortsTheRestAndReportsTheFirstError() {
        var machine = Machine()
        _ = machine.submit(.init(id: 7, statementCount: 3, mode: .pipeline))
        _ = machine.receive(.result(Self.rows("ok")))
        _ = machine.receive(.end)
        _ = machine.receive(.error(Self.serverError("23505")))
        _ = machine.receive(.end)
        _ = machine.receive(.aborted)
        _ = machine.receive(.end)
        let done = machine.receive(.sync)
        guard case .fail(let id, let error) = done.first else {
            Issue.record("expected failure, got \(done)")
            return
        }
        #expect(id == 7)
        #expect(error.sqlState == "23505")
    }

    @Test func independentRequestsCompleteInOrder() {
        var machine = Machine()
        _ = machine.submit(.init(id: 1, statementCount: 1, mode: .pipeline))
        _ = machine.submit(.init(id: 2, statementCount: 1, mode: .pipeline))
        #expect(machine.inFlightCount == 2)
        _ = machine.receive(.error(Self.serverError("42601")))
        _ = machine.receive(.end)
        let first = machine.receive(.sync)
        _ = machine.receive(.result(Self.rows("x")))
        _ = machine.receive(.end)
        let second = machine.receive(.sync)
        guard case .fail(1, _) = first.first, case .succeed(2, _) = second.first else {
            Issue.record("unexpected actions \(first) \(second)")
            return
        }
    }

    @Test func simpleRequestWaitsForIdleAndSwitchesModes() {
        var machine = Machine()
        _ = machine.submit(.init(id: 1, statementCount: 1, mode: .pipeline))
        #expect(machine.submit(.init(id: 2, statementCount: 0, mode: .simple)).isEmpty)
        #expect(machine.submit(.init(id: 3, statementCount: 1, mode: .pipeline)).isEmpty)
        #expect(machine.waitingCount == 2)
        _ = machine.receive(.result(Self.rows("a")))
        _ = machine.receive(.end)
        let afterFirst = machine.receive(.sync)
        #expect(afterFirst.count == 3)
        guard case .succeed(1, _) = afterFirst[0], case .exitPipelineMode = afterFirst[1],
            case .sendSimple(let simple) = afterFirst[2]
        else {
            Issue.record("unexpected \(afterFirst)")
            return
        }
        #expect(simple.id == 2)
        #expect(!machine.isPipelineModeOn)
        // A simple request reports one result per statement and a single NULL.
        _ = machine.receive(.result(Self.rows("s1")))
        _ = machine.receive(.result(Self.rows("s2")))
        let afterSimple = machine.receive(.end)
        guard case .succeed(2, let results) = afterSimple[0], case .enterPipelineMode = afterSimple[1],
            case .sendPipelined(let third) = afterSimple[2]
        else {
            Issue.record("unexpected \(afterSimple)")
            return
        }
        #expect(results.count == 2)
        #expect(third.id == 3)
        #expect(machine.isPipelineModeOn)
    }

    @Test func consecutiveSimpleRequestsStayOutOfPipelineMode() {
        var machine = Machine()
        let first = machine.submit(.init(id: 1, statementCount: 0, mode: .simple))
        guard case .exitPipelineMode = first[0], case .sendSimple = first[1] else {
            Issue.record("unexpected \(first)")
            return
        }
        _ = machine.submit(.init(id: 2, statementCount: 0, mode: .simple))
        let next = machine.receive(.end)
        #expect(next.count == 2)
        guard case .succeed(1, _) = next[0], case .sendSimple(let second) = next[1] else {
            Issue.record("unexpected \(next)")
            return
        }
        #expect(second.id == 2)
    }

    @Test func lostConnectionFailsEverythingAndMarksUnsentRequests() {
        var machine = Machine()
        _ = machine.submit(.init(id: 1, statementCount: 1, mode: .pipeline))
        _ = machine.submit(.init(id: 2, statementCount: 0, mode: .simple))
        let actions = machine.connectionClosed(PostgresError(code: .connectionClosed))
        #expect(actions.count == 2)
        guard case .fail(1, let sent) = actions[0], case .fail(2, let unsent) = actions[1] else {
            Issue.record("unexpected \(actions)")
            return
        }
        #expect(sent.mayHaveReachedServer)
        #expect(!unsent.mayHaveReachedServer)
        let late = machine.submit(.init(id: 3, statementCount: 1, mode: .pipeline))
        guard case .fail(3, let refused) = late.first else {
            Issue.record("unexpected \(late)")
            return
        }
        #expect(!refused.mayHaveReachedServer)
        #expect(refused.code == .connectionClosed)
    }

    @Test(arguments: [
        [Machine.Event.sync],
        [.end],
        [.result(rows("a")), .result(rows("b"))],
        [.result(rows("a")), .end, .end],
    ])
    func outOfOrderEventsCloseTheConnection(events: [Machine.Event]) {
        var machine = Machine()
        _ = machine.submit(.init(id: 1, statementCount: 1, mode: .pipeline))
        var last: [Machine.Action] = []
        for event in events { last = machine.receive(event) }
        guard case .closeConnection(let error) = last.first else {
            Issue.record("expected a protocol violation, got \(last)")
            return
        }
        #expect(error.code == .protocolViolation)
    }

    @Test func resultWithNothingInFlightIsAViolation() {
        var machine = Machine()
        guard case .closeConnection = machine.receive(.end).first else {
            Issue.record("expected a protocol violation")
            return
        }
    }
}
