import Synchronization

/// Collects values produced by a background task so that a test can wait for them with a timeout.
package final class Collector<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    package init() {}

    package func append(_ item: Element) {
        self.items.withLock { $0.append(item) }
    }

    /// Everything collected so far.
    package var all: [Element] { self.items.withLock { $0 } }

    /// Waits until `condition` holds for the collected values.
    ///
    /// - Throws: ``TestFailure`` after `timeout`, naming what was collected.
    @discardableResult
    package func wait(
        timeout: Duration = .seconds(20),
        _ what: String = "the expected values",
        until condition: ([Element]) -> Bool
    ) async throws -> [Element] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let current = self.all
            if condition(current) { return current }
            if clock.now >= deadline {
                throw TestFailure("timed out after \(timeout) waiting for \(what); have \(current)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until at least `count` values were collected.
    @discardableResult
    package func wait(forCount count: Int, timeout: Duration = .seconds(20)) async throws -> [Element] {
        try await self.wait(timeout: timeout, "\(count) values") { $0.count >= count }
    }
}
