import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Independent work spread over the machine's cores, with results in order: the same output
/// whatever the scheduling (each item is computed alone; only the time changes). Used where
/// one operation is many independent crypto calls — HPKE encryptions of one UpdatePath,
/// signature checks of one batch of events.
package enum Parallel {
    /// The cores work is spread over (online processors, at least 1).
    package static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// `[body(0), …, body(count - 1)]`, computed on up to ``cores`` threads at once
    /// (`DispatchQueue.concurrentPerform`, which blocks the caller until all are done); in the
    /// caller's thread alone below `serialBelow` items, or on one core. `body` is called
    /// concurrently: it must only read what it shares.
    ///
    /// - Throws: the error of the lowest index that failed. Every item below it has run; items
    ///   above the lowest failure found so far are not started (a batch whose first event is
    ///   bad costs a few verifications, not the whole batch's).
    package static func map<T, E: Error>(
        _ count: Int,
        serialBelow threshold: Int = 8,
        _ body: @Sendable (Int) throws(E) -> T
    ) throws(E) -> [T] {
        guard count >= max(threshold, 2), Self.cores > 1 else { return try (0..<count).map(body) }
        var results = [Result<T, E>?](repeating: nil, count: count)
        // A few strides per core, so that one slow item does not leave a core idle.
        let strides = min(count, Self.cores * 4)
        let lowestFailure = Atomic<Int>(Int.max)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = Slots(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: strides) { stride in
                var index = stride
                // An index above a known failure is skipped: the lowest failure only falls, so
                // every index below the final one runs, and the ordered scan below meets that
                // failure before any skipped slot.
                while index < count, index < lowestFailure.load(ordering: .relaxed) {
                    // Each index is written by exactly one stride.
                    let result = Result { () throws(E) -> T in try body(index) }
                    if case .failure = result { lowestFailure.min(index, ordering: .relaxed) }
                    slots.base[index] = result
                    index += strides
                }
            }
        }
        var values: [T] = []
        values.reserveCapacity(count)
        for result in results {
            switch result! {
            case .success(let value): values.append(value)
            case .failure(let error): throw error
            }
        }
        return values
    }

    /// The results' storage, shared by the strides. `@unchecked Sendable`: each stride writes
    /// its own indices only, and the caller reads them after `concurrentPerform` returns.
    private struct Slots<T, E: Error>: @unchecked Sendable {
        let base: UnsafeMutablePointer<Result<T, E>?>
    }
}
