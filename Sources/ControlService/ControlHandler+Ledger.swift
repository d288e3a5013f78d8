import Control
import Gateway

/// `ledger tail`: the newest entries, and with `--follow` every new one as it is written (the
/// ledger is polled every 500 ms: it has no notification of its own).
extension ControlHandler {
    func ledger(
        limit: Int,
        prefix: String?,
        follow: Bool,
        emit: @Sendable (ControlValue) async -> Void
    ) async throws -> ControlValue {
        let repository = self.context.repository
        let newest = try await repository.ledger(after: nil, limit: limit, prefix: prefix)
        guard follow else { return ["items": .array(newest.map(Self.entry))] }
        var last = newest.last?.id ?? 0
        if newest.isEmpty {
            // Nothing matches yet: follow from the ledger's end, not its start.
            last = try await repository.ledger(after: nil, limit: 1, prefix: nil).last?.id ?? 0
        }
        var sent = 0
        for entry in newest {
            await emit(Self.entry(entry))
            sent += 1
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            guard !Task.isCancelled else { break }
            let fresh = try await repository.ledger(after: last, limit: 500, prefix: prefix)
            for entry in fresh {
                await emit(Self.entry(entry))
                sent += 1
            }
            last = fresh.last?.id ?? last
        }
        return ["items": [], "followed": .int(Int64(sent))]
    }

    static func entry(_ entry: DeliveryRepository.LedgerEntry) -> ControlValue {
        [
            "id": .int(entry.id),
            "at": .string(entry.at),
            "gateway": .string(entry.gateway),
            "event": .string(entry.event),
            "actor": ControlValue(entry.actor),
            "subject": ControlValue(entry.subject),
            "details": .string(entry.details),
        ]
    }
}
