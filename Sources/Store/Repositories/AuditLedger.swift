/// The append-only audit ledger (table `audit_ledger`, migration 0001): security-relevant events,
/// never message contents.
public struct AuditLedger: Sendable {
    private let client: PostgresClient
    private let gatewayID: String

    public init(client: PostgresClient, gatewayID: String) {
        self.client = client
        self.gatewayID = gatewayID
    }

    /// Appends one event.
    ///
    /// - Parameters:
    ///   - event: a dotted name such as `daemon.started`.
    ///   - actor: who caused it (`system`, `admin`, a device or user id).
    ///   - subject: what it concerns, if anything.
    ///   - details: small string fields, stored as a JSON object.
    public func record(_ event: String, actor: String, subject: String? = nil, details: [String: String] = [:]) async throws {
        try await self.client.query(
            """
            INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
            VALUES (\(self.gatewayID), \(event), \(actor), \(subject), \(JSONText.object(details))::jsonb)
            """
        )
    }
}
