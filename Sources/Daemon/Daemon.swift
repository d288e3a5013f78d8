import BuildInfo
import Control
import ControlService
package import Gateway
package import HTTPFront
package import Logging
import Metrics
import NIOCore
package import Prometheus
import ServiceLifecycle
import Social
import Store
import Systemd
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// What `polygated` does, apart from parsing its command line.
package enum Daemon {
    /// Sets up process-wide logging (journald when stderr is the journal, else stderr) and
    /// metrics (a Prometheus registry behind swift-metrics). Call once, before anything logs.
    package static func bootstrap(logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        let destination = SystemdLogging.detectDestination()
        LoggingSystem.bootstrap(
            SystemdLogging.handlerFactory(destination: destination, identifier: "polygated", level: logLevel),
            metadataProvider: nil
        )
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Runs the daemon until SIGTERM or SIGINT: takes the sockets systemd passed (or binds
    /// `http.listen`), waits for the database, migrates, sends `READY=1`, serves, and on a
    /// signal drains within `daemon.drain_timeout`.
    ///
    /// - Throws: when a listener cannot be bound, a migration fails, or a service fails.
    package static func serve(
        configuration: DaemonConfiguration,
        tls: ServerTLS? = nil,
        keys: GatewayKeyStore,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) async throws {
        let notifier = SystemdNotifier()
        notifier.notify(.status("starting"))
        let started = ContinuousClock.now
        let (listeners, controlEndpoints) = try Self.sockets(configuration: configuration, logger: logger)

        let database = PostgresClient(
            configuration: .init(
                conninfo: configuration.database.url,
                maxConnections: configuration.database.poolSize,
                connectTimeout: configuration.database.connectTimeout
            ),
            logger: logger
        )
        let listener = PostgresListener(
            configuration: .init(conninfo: configuration.database.url, connectTimeout: configuration.database.connectTimeout),
            logger: logger
        )
        let ledger = AuditLedger(
            client: database,
            gatewayID: configuration.daemon.gatewayID,
            mirror: configuration.daemon.auditToLog ? logger : nil
        )
        let realtime = RealtimeGateway(
            configuration: .init(
                gatewayID: configuration.daemon.gatewayID,
                limits: configuration.gateway,
                presence: configuration.presence,
                blobs: configuration.blobs,
                sealedKeys: keys
            ),
            database: database,
            listener: listener,
            ledger: ledger,
            logger: logger
        )
        let readiness = Readiness()
        let metrics = MetricsExporter(
            registry: registry,
            database: database,
            readiness: readiness,
            gatewayID: configuration.daemon.gatewayID,
            realtime: realtime
        )
        let health = HealthRoutes(
            readiness: readiness,
            database: database,
            metrics: metrics,
            metricsToken: configuration.metrics.token,
            gatewayID: configuration.daemon.gatewayID,
            databaseTimeout: configuration.database.readyTimeout
        )
        let social = SocialRoutes(
            repository: SocialRepository(database: database, logger: logger),
            version: PolygateVersion.string
        )
        let info = InfoRoute(
            ServerInfo(
                gatewayID: configuration.daemon.gatewayID,
                version: PolygateVersion.string,
                limits: configuration.gateway,
                presence: configuration.presence
            ),
            keys: keys
        )
        let router = GatewayHTTP.makeRouter(
            health: health,
            info: info,
            social: social,
            sse: SSERoutes(realtime: realtime, clientAddresses: configuration.http.clientAddresses, logger: logger),
            pairing: PairingRoutes(
                pairing: realtime.pairing,
                gatewayID: configuration.daemon.gatewayID,
                clientAddresses: configuration.http.clientAddresses
            ),
            blobs: BlobRoutes(blobs: realtime.blobs, clientAddresses: configuration.http.clientAddresses),
            web: WebRoutes(Self.webContent(configuration.web, logger: logger))
        )
        let server = HTTPServer(
            listeners: listeners,
            responder: GatewayHTTP.makeResponder(router: router, logger: logger),
            realtime: realtime,
            idleTimeout: configuration.http.idleTimeout,
            headerTimeout: configuration.http.headerTimeout,
            maxWaitingConnections: configuration.http.maxWaitingConnections,
            clientAddresses: configuration.http.clientAddresses,
            tls: tls,
            logger: logger
        )
        if let tls { ReloadService.log(tls.loaded, files: tls.files, reloaded: false, logger: logger) }
        let addresses = try await server.bind()
        let control = ControlServer(
            endpoints: controlEndpoints,
            handler: ControlHandler(
                context: ControlContext(
                    version: PolygateVersion.string,
                    gatewayID: configuration.daemon.gatewayID,
                    started: started,
                    realtime: realtime,
                    ledger: ledger,
                    listener: listener,
                    configuration: configuration.controlValue,
                    readiness: {
                        switch readiness.current {
                        case .ready: "ready"
                        case .starting(let what): "starting: \(what)"
                        case .draining: "draining"
                        }
                    },
                    migrations: {
                        let status = try await PolygateSchema.migrator.status(using: database)
                        return (status.pending.count, status.unknownVersions.count)
                    },
                    keyPackagesLow: configuration.gateway.keyPackagesLow,
                    sealedKey: { keys.current.current.hex }
                )
            ),
            logger: logger
        )
        let controlSockets = try control.bind()
        if !controlSockets.isEmpty { logger.info("control sockets", metadata: ["control.sockets": "\(controlSockets)"]) }
        let lifecycle = DaemonLifecycle(
            configuration: configuration,
            database: database,
            realtime: realtime,
            readiness: readiness,
            listening: addresses,
            notifier: notifier,
            logger: logger
        )
        let watchdog = WatchdogService(notifier: notifier, logger: logger)
        let reload = ReloadService(tls: tls, keys: keys, notifier: notifier, logger: logger)

        // Dependency order; graceful shutdown runs in reverse: lifecycle (STOPPING=1, /readyz 503),
        // then the realtime gateway closes its sessions (GoAway 1001), then HTTP drains, then the
        // watchdog stops, then the listener and the pool close.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: database),
                .init(service: listener),
                .init(service: watchdog),
                .init(service: server),
                .init(service: realtime),
                .init(service: control),
                .init(service: reload),
                .init(service: lifecycle, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.daemon.drainTimeout
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.notice("polygated stopped")
    }

    /// The native TLS listener's certificate and key, loaded, when `[http]` names them.
    ///
    /// - Throws: ``ServerTLSError`` naming the file and what is wrong (polygated exits 78).
    package static func tls(configuration: DaemonConfiguration) throws(ServerTLSError) -> ServerTLS? {
        guard let files = configuration.http.tls else { return nil }
        return try ServerTLS(files: files)
    }

    /// The sockets: those systemd passed — `http` (or a single unnamed one), `control` and
    /// `control-readonly` — else a bind of `http.listen` and the `[control]` paths.
    static func sockets(
        configuration: DaemonConfiguration,
        logger: Logger
    ) throws -> (http: [HTTPServer.Listener], control: [ControlServer.Endpoint]) {
        let passed = try SystemdListenFDs.take()
        var listeners: [HTTPServer.Listener] = []
        var control: [ControlServer.Endpoint] = []
        for socket in passed {
            switch socket.name {
            case "http":
                listeners.append(.inherited(fd: socket.fd))
            case "control":
                control.append(.init(source: .inherited(fd: socket.fd), readOnly: false))
            case "control-readonly":
                control.append(.init(source: .inherited(fd: socket.fd), readOnly: true))
            default:
                if passed.count == 1 {
                    listeners.append(.inherited(fd: socket.fd))
                } else {
                    logger.warning(
                        "ignoring socket passed by systemd with an unknown name",
                        metadata: ["systemd.fd": "\(socket.fd)", "systemd.fd_name": "\(socket.name)"]
                    )
                    close(socket.fd)
                }
            }
        }
        if !passed.isEmpty {
            logger.info("socket activation", metadata: ["systemd.fds": "\(passed.map { "\($0.name)=\($0.fd)" })"])
        }
        if control.isEmpty {
            let settings = configuration.control
            if !settings.listen.isEmpty {
                control.append(.init(source: .path(settings.listen, group: settings.group), readOnly: false))
            }
            if !settings.readOnlyListen.isEmpty {
                let group = settings.readOnlyGroup.isEmpty ? settings.group : settings.readOnlyGroup
                control.append(.init(source: .path(settings.readOnlyListen, group: group), readOnly: true))
            }
        }
        return (listeners.isEmpty ? [.address(configuration.http.listen)] : listeners, control)
    }

    /// The web client's files, loaded once; a failure is logged (with the path) and the client
    /// answers 503 while the rest of the daemon serves.
    static func webContent(_ web: DaemonConfiguration.Web, logger: Logger) -> WebRoutes.Content {
        guard web.enabled else { return .disabled }
        do {
            let assets = try WebAssets(directory: web.root)
            logger.info("web client loaded", metadata: ["web.root": "\(web.root)", "web.assets": "\(assets.assets.count)"])
            return .served(assets)
        } catch {
            logger.error(
                "web client not served: its files cannot be loaded; reinstall polygate, or set [web] root or [web] enabled = false",
                metadata: ["web.root": "\(web.root)", "error": "\(error)"]
            )
            return .broken
        }
    }

    /// A client of one connection, for the commands that are not the daemon (migrate, rotate-keys).
    static func oneConnection(_ configuration: DaemonConfiguration, logger: Logger) -> PostgresClient {
        PostgresClient(
            configuration: .init(
                conninfo: configuration.database.url,
                maxConnections: 1,
                connectTimeout: configuration.database.connectTimeout
            ),
            logger: logger
        )
    }

    /// `polygated migrate`: applies pending migrations (or, with `statusOnly`, lists them).
    ///
    /// - Returns: a report for the terminal.
    package static func migrate(configuration: DaemonConfiguration, statusOnly: Bool, logger: Logger) async throws -> String {
        let database = Self.oneConnection(configuration, logger: logger)
        defer { database.shutdown() }
        let migrator = PolygateSchema.migrator
        if statusOnly {
            let status = try await migrator.status(using: database)
            var lines = [
                "applied: \(status.appliedVersions.isEmpty ? "none" : status.appliedVersions.map(String.init).joined(separator: ", "))"
            ]
            lines.append(
                "pending: \(status.pending.isEmpty ? "none" : status.pending.map { "\($0.version) (\($0.name))" }.joined(separator: ", "))"
            )
            if !status.unknownVersions.isEmpty {
                lines.append("unknown to this version: \(status.unknownVersions.map(String.init).joined(separator: ", "))")
            }
            return lines.joined(separator: "\n")
        }
        let report = try await migrator.migrate(using: database, logger: logger)
        if !report.applied.isEmpty || !report.functionsApplied.isEmpty {
            try? await AuditLedger(client: database, gatewayID: configuration.daemon.gatewayID).record(
                "schema.migrated",
                actor: "admin",
                details: [
                    "versions": report.applied.map { "\($0.version)" }.joined(separator: ","),
                    "functions": report.functionsApplied.joined(separator: ","),
                ]
            )
        }
        if report.applied.isEmpty && report.functionsApplied.isEmpty {
            return "schema is up to date (version \(report.currentVersion))"
        }
        var lines = report.applied.map { "applied \($0.version) (\($0.name))" }
        if !report.functionsApplied.isEmpty {
            lines.append("applied stored functions: \(report.functionsApplied.joined(separator: ", "))")
        }
        return (lines + ["schema version \(report.currentVersion)"]).joined(separator: "\n")
    }
}

extension Daemon {
    /// The version string `--version` prints.
    package static var version: String { PolygateVersion.string }
}
