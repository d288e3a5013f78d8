public import Logging

/// The append-only audit ledger (table `audit_ledger`, migration 0001): security-relevant events,
/// never message contents.
public struct AuditLedger: Sendable {
    private let client: PostgresClient
    private let gatewayID: String
    /// When set, every event is also logged (at `notice`, so under systemd it reaches the journal).
    private let mirror: Logger?

    public init(client: PostgresClient, gatewayID: String, mirror: Logger? = nil) {
        self.client = client
        self.gatewayID = gatewayID
        self.mirror = mirror
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
            Self.insert(gatewayID: self.gatewayID, event, actor: actor, subject: subject, details: details)
        )
        self.mirrored(event, actor: actor, subject: subject, details: details)
    }

    /// Logs an event that was stored by other means (``insert(gatewayID:_:actor:subject:details:)``
    /// inside a transaction), when mirroring is on.
    public func mirrored(_ event: String, actor: String, subject: String? = nil, details: [String: String] = [:]) {
        self.mirror?.notice(
            "audit \(event)",
            metadata: [
                "audit.event": "\(event)", "audit.actor": "\(actor)", "audit.subject": "\(subject ?? "")",
                "audit.details": "\(JSONText.object(details))",
            ]
        )
    }

    /// The statement that appends one event, for callers that record it inside a transaction of
    /// their own (so that the event is stored exactly when the change it describes is).
    public static func insert(
        gatewayID: String,
        _ event: String,
        actor: String,
        subject: String? = nil,
        details: [String: String] = [:]
    ) -> PostgresQuery {
        """
        INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
        VALUES (\(gatewayID), \(event), \(actor), \(subject), \(JSONText.object(details))::jsonb)
        """
    }
}
