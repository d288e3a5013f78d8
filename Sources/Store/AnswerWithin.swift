import Synchronization

/// The result of `operation` if it finishes within `timeout`, else nil at the timeout. The
/// operation is not waited for past the timeout: it finishes on its own (a query against a
/// database that went away ends with its connection's timeout). For checks that must answer
/// in time whatever the database does: `/readyz`, `gwctl status` and `check`.
public func answerWithin<T: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error>? {
    let outcome = Mutex<CheckedContinuation<Result<T, any Error>?, Never>?>(nil)
    return await withCheckedContinuation { continuation in
        outcome.withLock { $0 = continuation }
        let finish: @Sendable (Result<T, any Error>?) -> Void = { value in
            outcome.withLock { $0.take() }?.resume(returning: value)
        }
        Task {
            do {
                finish(.success(try await operation()))
            } catch {
                finish(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: timeout)
            finish(nil)
        }
    }
}
