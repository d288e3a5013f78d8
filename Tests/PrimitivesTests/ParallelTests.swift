import Foundation
import Synchronization
import Testing

@testable import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `Parallel.map`: the same results, in order, whatever the scheduling; the lowest failing
/// index thrown, every item below it run and the items above it not started; the work on more than one thread when there are cores.
@Suite struct ParallelTests {
    struct Failure: Error, Equatable {
        let index: Int
    }

    @Test func resultsComeInOrderWhateverTheScheduling() {
        #expect(Parallel.map(1000) { $0 * $0 } == (0..<1000).map { $0 * $0 })
        #expect(Parallel.map(0) { $0 }.isEmpty)
        // Below the threshold, in the caller's thread.
        #expect(Parallel.map(3) { $0 + 1 } == [1, 2, 3])
        #expect(Parallel.map(20, serialBelow: 100) { $0 } == Array(0..<20))
    }

    @Test func theLowestFailingIndexIsThrownAfterEveryItemBelowItRan() {
        // One bit per index that ran (indices 0..<64).
        let ran = Atomic<UInt64>(0)
        let count = Atomic<Int>(0)
        #expect(throws: Failure(index: 10)) {
            try Parallel.map(64) { (index) throws(Failure) -> Int in
                ran.bitwiseOr(1 << UInt64(index), ordering: .relaxed)
                count.add(1, ordering: .relaxed)
                if index >= 10, index % 10 == 0 { throw Failure(index: index) }
                return index
            }
        }
        let bits = ran.load(ordering: .relaxed)
        #expect((0...10).allSatisfy { bits & (1 << UInt64($0)) != 0 }, "indices 0…10 all ran: \(String(bits, radix: 2))")
        #expect(count.load(ordering: .relaxed) == bits.nonzeroBitCount, "no index ran twice")
    }

    /// A failure stops the items above it from starting: a 10,000-item batch whose first item
    /// fails does not cost 10,000 items of work (each item takes 0.2 ms here).
    @Test func aFailureStopsTheWorkAboveIt() {
        let ran = Atomic<Int>(0)
        #expect(throws: Failure(index: 0)) {
            try Parallel.map(10_000) { (index) throws(Failure) -> Int in
                ran.add(1, ordering: .relaxed)
                if index == 0 { throw Failure(index: 0) }
                usleep(200)
                return index
            }
        }
        #expect(ran.load(ordering: .relaxed) < 5_000, "\(ran.load(ordering: .relaxed)) of 10,000 items ran")
    }

    /// Each item waits (up to 20 s: the other suites may hold every thread for a while) until a
    /// second thread has taken items too; on one core, none comes and the caller does them all.
    ///
    /// The set is guarded by an `NSLock` (a pthread mutex), not `Synchronization.Mutex`: on Linux
    /// that one waits on raw futexes, which Thread Sanitizer cannot see, so it reported this
    /// test's own bookkeeping as a race.
    @Test func theWorkIsSpreadOverTheCores() {
        let threads = ThreadSet()
        let values = Parallel.map(64) { index in
            threads.insert(UInt(pthread_self()))
            let deadline = ContinuousClock.now + .seconds(Parallel.cores > 1 ? 20 : 0)
            while threads.count < 2, ContinuousClock.now < deadline { usleep(1000) }
            return index
        }
        #expect(values == Array(0..<64))
        let used = threads.count
        if Parallel.cores > 1 { #expect(used > 1, "\(Parallel.cores) cores, one thread used") } else { #expect(used == 1) }
    }
}

/// Thread ids seen, behind a pthread mutex (see theWorkIsSpreadOverTheCores).
private final class ThreadSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<UInt> = []

    func insert(_ id: UInt) { self.lock.withLock { _ = self.ids.insert(id) } }
    var count: Int { self.lock.withLock { self.ids.count } }
}
