import BuildInfo
package import Gateway
package import Prometheus
package import Store
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Renders the Prometheus exposition for `/metrics`: everything recorded through swift-metrics
/// into `registry`, plus gauges refreshed at scrape time (uptime, readiness, database pool, the
/// realtime gateway's sessions and counters).
package final class MetricsExporter: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let database: PostgresClient?
    private let readiness: Readiness
    private let startedAt: Int
    private let uptime: Gauge
    private let ready: Gauge
    private let pool: PoolGauges
    private let realtime: RealtimeGateway?
    private let gateway: GatewayGauges?

    /// The realtime gateway's readings: gauges for what is open now, counters for totals.
    private final class GatewayGauges: Sendable {
        let webSocket, sse, authenticated, sealed, conversations: Gauge
        let appends, deliveries, authFailures, rateLimited, slowConsumers, penalties, sealedFailures: Counter
        let last = Mutex(GatewayCounters.Snapshot())
        let blobUploads, blobUploadBytes, blobDownloads, blobDownloadBytes: Counter
        let blobsStored, blobBytesStored: Gauge
        let lastBlobs = Mutex(BlobService.Counters())

        init(registry: PrometheusCollectorRegistry, name: (String?, String, String, String) -> MetricNameDescriptor) {
            let sessions = name("gateway", "sessions", "", "Open realtime connections by transport")
            self.webSocket = registry.makeGauge(descriptor: sessions, labels: [("transport", "websocket")])
            self.sse = registry.makeGauge(descriptor: sessions, labels: [("transport", "sse")])
            self.authenticated = registry.makeGauge(
                descriptor: name("gateway", "authenticated_sessions", "", "Open realtime connections that authenticated")
            )
            self.sealed = registry.makeGauge(
                descriptor: name(
                    "gateway",
                    "sealed_sessions",
                    "",
                    "Open realtime connections that are sealed (the rest are plain)"
                )
            )
            self.sealedFailures = registry.makeCounter(
                descriptor: name("gateway", "sealed_handshake_failures", "total", "Sealed handshakes that failed")
            )
            self.conversations = registry.makeGauge(
                descriptor: name("gateway", "conversations", "", "Conversations with readers on this daemon")
            )
            self.appends = registry.makeCounter(
                descriptor: name("gateway", "appends", "total", "Messages appended through this daemon")
            )
            self.deliveries = registry.makeCounter(
                descriptor: name("gateway", "deliveries", "total", "Delivery frames queued to connections")
            )
            self.authFailures = registry.makeCounter(
                descriptor: name("gateway", "auth_failures", "total", "Failed authentications")
            )
            self.rateLimited = registry.makeCounter(
                descriptor: name("gateway", "rate_limited", "total", "Requests refused with rate_limited")
            )
            self.slowConsumers = registry.makeCounter(
                descriptor: name("gateway", "slow_consumers", "total", "Connections closed as slow consumers (4008)")
            )
            self.penalties = registry.makeCounter(
                descriptor: name("gateway", "penalties", "total", "Connections closed for repeated rate limiting (4029)")
            )
            self.blobUploads = registry.makeCounter(descriptor: name("blobs", "uploads", "total", "Blobs uploaded"))
            self.blobUploadBytes = registry.makeCounter(descriptor: name("blobs", "uploaded", "bytes", "Bytes of blobs uploaded"))
            self.blobDownloads = registry.makeCounter(
                descriptor: name("blobs", "downloads", "total", "Blob downloads (and ranges)")
            )
            self.blobDownloadBytes = registry.makeCounter(
                descriptor: name("blobs", "downloaded", "bytes", "Bytes of blobs sent")
            )
            self.blobsStored = registry.makeGauge(descriptor: name("blobs", "stored", "", "Blobs stored (as of the last sweep)"))
            self.blobBytesStored = registry.makeGauge(
                descriptor: name("blobs", "stored", "bytes", "Bytes of blobs stored (as of the last sweep)")
            )
        }

        func update(blobs now: BlobService.Counters) {
            let before = self.lastBlobs.withLock { last in
                defer { last = now }
                return last
            }
            self.blobUploads.increment(by: now.uploads - before.uploads)
            self.blobUploadBytes.increment(by: now.uploadedBytes - before.uploadedBytes)
            self.blobDownloads.increment(by: now.downloads - before.downloads)
            self.blobDownloadBytes.increment(by: now.downloadedBytes - before.downloadedBytes)
            self.blobsStored.set(now.stored)
            self.blobBytesStored.set(now.storedBytes)
        }

        func update(_ now: GatewayCounters.Snapshot) {
            self.webSocket.set(Int64(now.webSocketSessions))
            self.sse.set(Int64(now.sseSessions))
            self.authenticated.set(Int64(now.authenticatedSessions))
            self.sealed.set(Int64(now.sealedSessions))
            self.conversations.set(Int64(now.conversations))
            let before = self.last.withLock { last in
                defer { last = now }
                return last
            }
            self.appends.increment(by: Int64(now.appends - before.appends))
            self.sealedFailures.increment(by: Int64(now.sealedHandshakeFailures - before.sealedHandshakeFailures))
            self.deliveries.increment(by: Int64(now.deliveries - before.deliveries))
            self.authFailures.increment(by: Int64(now.authenticationFailures - before.authenticationFailures))
            self.rateLimited.increment(by: Int64(now.rateLimited - before.rateLimited))
            self.slowConsumers.increment(by: Int64(now.slowConsumers - before.slowConsumers))
            self.penalties.increment(by: Int64(now.penalties - before.penalties))
        }
    }

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

    package init(
        registry: PrometheusCollectorRegistry,
        database: PostgresClient?,
        readiness: Readiness,
        gatewayID: String,
        realtime: RealtimeGateway? = nil
    ) {
        self.registry = registry
        self.realtime = realtime
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
        self.gateway = realtime.map { _ in GatewayGauges(registry: registry, name: name) }
    }

    /// The exposition text, after refreshing the scrape-time gauges.
    package func render() -> [UInt8] {
        self.uptime.set(Int64(Int(time(nil)) - self.startedAt))
        self.ready.set(Int64(self.readiness.current == .ready ? 1 : 0))
        if let statistics = self.database?.statistics {
            self.pool.update(statistics)
        }
        if let realtime = self.realtime {
            self.gateway?.update(realtime.statistics)
            self.gateway?.update(blobs: realtime.blobs.snapshot)
        }
        return self.registry.emitToBuffer()
    }
}
