package import ChatClient

/// `polychat daemon` (and `polychat listen` when no instance runs): one task that holds the
/// gateway connection, processes frames as they come, serves the instance socket between them,
/// and reconnects with backoff — serving requests while it waits (they then connect by
/// themselves). Ends when `stop` says so; a revoked device, or a gateway that does not prove
/// the key pinned for it, ends it at once.
package struct InstanceLoop {
    /// What the loop reports to its operator (standard error).
    package enum Report: Sendable {
        case connected
        case disconnected(reason: String, retryIn: Duration)
    }

    let engine: ChatEngine
    let service: InstanceService

    package init(engine: ChatEngine, service: InstanceService) {
        self.engine = engine
        self.service = service
    }

    package func run(stop: @Sendable () -> Bool, report: (Report) -> Void) async throws {
        var backoff = Backoff()
        let engine = self.engine
        let service = self.service
        while !stop() {
            do {
                try await engine.withSession { session in
                    backoff.reset()
                    report(.connected)
                    await engine.watchPeers(session: session)
                    while !stop() {
                        _ = try await session.step(timeout: .milliseconds(40))
                        await service.serve(session)
                    }
                }
            } catch let error as ChatError where error.code == .revoked || error.code == .gatewayKey {
                // Retrying cannot help: the user has to act (a new device, or a key pinned again).
                throw error
            } catch {
                guard !stop() else { break }
                let delay = backoff.next()
                report(.disconnected(reason: "\(error)", retryIn: delay))
                let deadline = ContinuousClock.now + delay
                while !stop(), ContinuousClock.now < deadline {
                    await service.serve(nil)
                    try? await Task.sleep(for: .milliseconds(40))
                }
            }
        }
    }
}
