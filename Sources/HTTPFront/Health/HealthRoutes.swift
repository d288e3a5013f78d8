import BuildInfo
package import Hummingbird
import NIOCore
package import Store

/// `/healthz` (liveness), `/readyz` (readiness: start-up done and the database answers) and
/// `/metrics` (Prometheus text, behind a bearer token when one is configured).
package struct HealthRoutes: Sendable {
    package var readiness: Readiness
    package var database: PostgresClient
    package var metrics: MetricsExporter
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    package var metricsToken: String?
    package var gatewayID: String
    /// How long `/readyz` waits for the database before answering 503.
    package var databaseTimeout: Duration

    package init(
        readiness: Readiness,
        database: PostgresClient,
        metrics: MetricsExporter,
        metricsToken: String?,
        gatewayID: String,
        databaseTimeout: Duration = .seconds(2)
    ) {
        self.readiness = readiness
        self.database = database
        self.metrics = metrics
        self.metricsToken = metricsToken
        self.gatewayID = gatewayID
        self.databaseTimeout = databaseTimeout
    }

    /// Adds the routes to `router`.
    package func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, ["status": "alive", "version": PolygateVersion.string, "gateway_id": self.gatewayID])
        }
        router.get("/readyz") { _, _ in
            await self.readyz()
        }
        router.get("/metrics") { request, _ in
            self.metricsResponse(authorization: request.headers[.authorization])
        }
    }

    func readyz() async -> Response {
        switch self.readiness.current {
        case .starting(let reason):
            return Self.unavailable(["status": "starting", "reason": reason, "gateway_id": self.gatewayID])
        case .draining:
            return Self.unavailable(["status": "draining", "reason": "shutting down", "gateway_id": self.gatewayID])
        case .ready:
            if await self.databaseAnswers() {
                return Self.json(.ok, ["status": "ready", "gateway_id": self.gatewayID])
            }
            return Self.unavailable(["status": "unavailable", "reason": "database unreachable", "gateway_id": self.gatewayID])
        }
    }

    func metricsResponse(authorization: String?) -> Response {
        if let token = self.metricsToken {
            guard let authorization, authorization.hasPrefix("Bearer "),
                constantTimeEqual(Array(authorization.utf8.dropFirst(7)), Array(token.utf8))
            else {
                var headers = Self.noStore
                headers[.wwwAuthenticate] = "Bearer realm=\"polygate-metrics\""
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(
                    status: .unauthorized,
                    headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "metrics need the admin bearer token\n"))
                )
            }
        }
        var headers = Self.noStore
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.render())))
    }

    /// `SELECT 1` within ``databaseTimeout``. A probe that outlives the timeout finishes on its own.
    private func databaseAnswers() async -> Bool {
        let database = self.database
        if case .success = await answerWithin(self.databaseTimeout, { try await database.query("SELECT 1") }) { return true }
        return false
    }

    // MARK: Responses

    static let noStore: HTTPFields = [.cacheControl: "no-store"]

    static func unavailable(_ fields: [String: String]) -> Response {
        var response = Self.json(.serviceUnavailable, fields)
        response.headers[.retryAfter] = "5"
        return response
    }

    /// A small JSON object of string fields, keys sorted.
    static func json(_ status: HTTPResponse.Status, _ fields: [String: String]) -> Response {
        let body = JSONText.object(fields) + "\n"
        var headers = Self.noStore
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Compares without an early exit, so that timing does not reveal how much of a secret matched.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}
