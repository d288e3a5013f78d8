import Testing

@testable import Store

@Suite struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine

    @Test func firstRequestOpensAConnectionAndGetsIt() {
        var machine = Machine(maxConnections: 2, maxPipelineDepth: 4)
        #expect(machine.acquire(1, exclusive: false) == [.createConnection(1)])
        #expect(machine.connected(1) == [.lease(waiter: 1, connection: 1)])
        #expect(machine.release(1, exclusive: false, reusable: true).isEmpty)
        #expect(machine.idleCount == 1)
        // An idle connection is reused, not a new one opened.
        #expect(machine.acquire(2, exclusive: true) == [.lease(waiter: 2, connection: 1)])
        #expect(machine.leasedCount == 1)
    }

    @Test func sharedRequestsOpenConnectionsUpToTheLimitThenPipeline() {
        var machine = Machine(maxConnections: 2, maxPipelineDepth: 2)
        _ = machine.acquire(1, exclusive: false)
        _ = machine.connected(1)
        #expect(machine.acquire(2, exclusive: false) == [.createConnection(2)])
        _ = machine.connected(2)
        // Both connections busy and the pool is full: pipeline onto the least loaded.
        #expect(machine.acquire(3, exclusive: false) == [.lease(waiter: 3, connection: 1)])
        #expect(machine.acquire(4, exclusive: false) == [.lease(waiter: 4, connection: 2)])
        // Depth 2 reached everywhere: wait.
        #expect(machine.acquire(5, exclusive: false).isEmpty)
        #expect(machine.waiterCount == 1)
        #expect(machine.release(2, exclusive: false, reusable: true) == [.lease(waiter: 5, connection: 2)])
    }

    @Test func exclusiveLeaseWaitsForAnIdleConnectionInOrder() {
        var machine = Machine(maxConnections: 1, maxPipelineDepth: 8)
        _ = machine.acquire(1, exclusive: false)
        _ = machine.connected(1)
        #expect(machine.acquire(2, exclusive: true).isEmpty)
        // A later shared request does not jump the queue.
        #expect(machine.acquire(3, exclusive: false).isEmpty)
        #expect(machine.release(1, exclusive: false, reusable: true) == [.lease(waiter: 2, connection: 1)])
        #expect(machine.release(1, exclusive: true, reusable: true) == [.lease(waiter: 3, connection: 1)])
    }

    @Test func failedConnectFailsWaitersWhenNothingIsOpen() {
        var machine = Machine(maxConnections: 3, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: false)
        _ = machine.acquire(2, exclusive: true)
        #expect(machine.connectingCount == 2)
        #expect(machine.connectFailed(1) == [.failWaiter(1, .connectFailed(1)), .failWaiter(2, .connectFailed(1))])
        // The other attempt failing starts nothing new.
        #expect(machine.connectFailed(2).isEmpty)
        #expect(machine.connections.isEmpty)
        // The next request tries again.
        #expect(machine.acquire(3, exclusive: false) == [.createConnection(3)])
    }

    @Test func failedConnectLeavesWaitersQueuedWhileAConnectionIsOpen() {
        var machine = Machine(maxConnections: 2, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: true)
        _ = machine.connected(1)
        #expect(machine.acquire(2, exclusive: true) == [.createConnection(2)])
        #expect(machine.connectFailed(2).isEmpty)
        #expect(machine.waiterCount == 1)
        #expect(machine.release(1, exclusive: true, reusable: true) == [.lease(waiter: 2, connection: 1)])
    }

    @Test func brokenConnectionIsDroppedAndReplacedOnDemand() {
        var machine = Machine(maxConnections: 1, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: true)
        _ = machine.connected(1)
        #expect(machine.acquire(2, exclusive: true).isEmpty)
        #expect(machine.release(1, exclusive: true, reusable: false) == [.closeConnection(1), .createConnection(2)])
        #expect(machine.connected(2) == [.lease(waiter: 2, connection: 2)])
    }

    @Test func connectionLostWhileIdleFreesItsSlot() {
        var machine = Machine(maxConnections: 1, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: false)
        _ = machine.connected(1)
        _ = machine.release(1, exclusive: false, reusable: true)
        #expect(machine.connectionClosed(1).isEmpty)
        #expect(machine.acquire(2, exclusive: false) == [.createConnection(2)])
    }

    @Test func cancelledWaiterLeavesTheQueue() {
        var machine = Machine(maxConnections: 1, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: true)
        _ = machine.connected(1)
        _ = machine.acquire(2, exclusive: true)
        _ = machine.acquire(3, exclusive: true)
        #expect(machine.cancel(2) == [.failWaiter(2, .cancelled)])
        #expect(machine.release(1, exclusive: true, reusable: true) == [.lease(waiter: 3, connection: 1)])
    }

    @Test func shutdownFailsWaitersAndRefusesNewRequests() {
        var machine = Machine(maxConnections: 1, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: true)
        _ = machine.connected(1)
        _ = machine.acquire(2, exclusive: true)
        #expect(machine.shutdown() == [.failWaiter(2, .shutdown)])
        #expect(machine.acquire(3, exclusive: false) == [.failWaiter(3, .shutdown)])
        // The leased connection closes when it comes back.
        #expect(machine.release(1, exclusive: true, reusable: true) == [.closeConnection(1)])
        #expect(machine.connections.isEmpty)
    }

    @Test func shutdownClosesIdleConnectionsAndLateArrivals() {
        var machine = Machine(maxConnections: 3, maxPipelineDepth: 1)
        _ = machine.acquire(1, exclusive: false)
        _ = machine.connected(1)
        _ = machine.release(1, exclusive: false, reusable: true)
        _ = machine.acquire(2, exclusive: true)  // takes the idle connection 1
        _ = machine.acquire(3, exclusive: false)  // waits for connection 2
        #expect(machine.connectingCount == 1)
        #expect(machine.release(1, exclusive: true, reusable: true) == [.lease(waiter: 3, connection: 1)])
        #expect(machine.release(1, exclusive: false, reusable: true).isEmpty)
        #expect(machine.shutdown() == [.closeConnection(1)])
        // A connection that finishes opening after shutdown is closed at once.
        #expect(machine.connected(2) == [.closeConnection(2)])
        #expect(machine.connections.isEmpty)
    }
}
