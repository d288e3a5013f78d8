public import Prometheus
public import Store

#if canImport(Glibc)
import Glibc
#endif

/// Renders the Prometheus exposition for `/metrics`: everything recorded through swift-metrics
/// into `registry`, plus gauges refreshed at scrape time (uptime, readiness, database pool).
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let database: PostgresClient?
    private let readiness: Readiness
    private let startedAt: Int
    private let uptime: Gauge
    private let ready: Gauge
    private let pool: PoolGauges

    private struct PoolGauges: Sendable {
        var open, idle, leased, connecting, waiting: Gauge

        func update(_ statistics: PostgresClient.Statistics) {
            self.open.set(Int64(statistics.open))
            self.idle.set(Int64(statistics.idle))
            self.leased.set(Int64(statistics.leased))
            self.connecting.set(Int64(statistics.connecting))
            self.waiting.set(Int64(statistics.waiting))
        }
    }

    public init(registry: PrometheusCollectorRegistry, database: PostgresClient?, readiness: Readiness, gatewayID: String) {
        self.registry = registry
        self.database = database
        self.readiness = readiness
        self.startedAt = Int(time(nil))
        func name(_ subsystem: String?, _ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "polygate", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
        }
        registry.makeGauge(
            descriptor: name(nil, "build", "info", "Version and gateway id of this daemon (always 1)"),
            labels: [("version", PolygateVersion.string), ("gateway_id", gatewayID)]
        ).set(Int64(1))
        self.uptime = registry.makeGauge(descriptor: name(nil, "uptime", "seconds", "Seconds since the daemon started"))
        self.ready = registry.makeGauge(
            descriptor: name(nil, "ready", "", "1 when start-up is complete and the daemon is not draining")
        )
        let connections = name("db_pool", "connections", "", "Database pool connections by state")
        self.pool = PoolGauges(
            open: registry.makeGauge(descriptor: connections, labels: [("state", "open")]),
            idle: registry.makeGauge(descriptor: connections, labels: [("state", "idle")]),
            leased: registry.makeGauge(descriptor: connections, labels: [("state", "leased")]),
            connecting: registry.makeGauge(descriptor: connections, labels: [("state", "connecting")]),
            waiting: registry.makeGauge(descriptor: name("db_pool", "waiting", "", "Requests waiting for a database connection"))
        )
    }

    /// The exposition text, after refreshing the scrape-time gauges.
    public func render() -> [UInt8] {
        self.uptime.set(Int64(Int(time(nil)) - self.startedAt))
        self.ready.set(Int64(self.readiness.current == .ready ? 1 : 0))
        if let statistics = self.database?.statistics {
            self.pool.update(statistics)
        }
        return self.registry.emitToBuffer()
    }
}
