import Dispatch

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
    /// - Throws: the error of the lowest index that failed, after every item has run.
    package static func map<T, E: Error>(
        _ count: Int,
        serialBelow threshold: Int = 8,
        _ body: @Sendable (Int) throws(E) -> T
    ) throws(E) -> [T] {
        guard count >= max(threshold, 2), Self.cores > 1 else { return try (0..<count).map(body) }
        var results = [Result<T, E>?](repeating: nil, count: count)
        // A few strides per core, so that one slow item does not leave a core idle.
        let strides = min(count, Self.cores * 4)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = Slots(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: strides) { stride in
                var index = stride
                while index < count {
                    // Each index is written by exactly one stride.
                    slots.base[index] = Result { () throws(E) -> T in try body(index) }
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
