import TestSupport

/// The long form of the fault suite (`make soak`): traffic through several daemons on a durable
/// cluster of its own, with faults spread evenly over it — kill -9 of a daemon (started again
/// after a pause), an immediate restart of PostgreSQL, and outages of PostgreSQL.
package struct Soak: Sendable {
    package struct Plan: Sendable {
        package var traffic = TrafficPlan()
        package var daemons = 2
        /// SIGKILLs, each of the next daemon in turn.
        package var kills = 10
        /// How long a killed daemon stays down.
        package var downtime: Duration = .seconds(2)
        /// `pg_ctl stop -m immediate` followed at once by a start.
        package var databaseCrashes = 3
        /// PostgreSQL stopped (immediate) for ``outageLength``.
        package var outages = 2
        package var outageLength: Duration = .seconds(20)
        /// The `[gateway]` (and other) configuration of the daemons.
        package var configuration = ""
        /// How long the whole run may take.
        package var deadline: Duration = .seconds(3600)

        package init() {}
    }

    /// What happened.
    package struct Report: Sendable, CustomStringConvertible {
        package var audit = AuditReport()
        package var kills = 0
        package var databaseCrashes = 0
        package var outages = 0
        /// Per fault, from the end of the fault (the start of the daemon or of PostgreSQL) to
        /// every daemon answering `/readyz` 200.
        package var recoveries: [Duration] = []
        package var elapsed: Duration = .zero
        package var daemonExits: [String] = []
        package var refusals: [String] = []

        package var holds: Bool { self.audit.holds && self.daemonExits.isEmpty && self.refusals.isEmpty }

        package var description: String {
            let seconds = Double(self.elapsed.components.seconds) + Double(self.elapsed.components.attoseconds) / 1e18
            let rate = seconds > 0 ? Double(self.audit.acknowledged) / seconds : 0
            let worst = self.recoveries.max().map { "\($0)" } ?? "-"
            var text = """
                \(self.holds ? "HOLDS" : "BROKEN"): \(self.audit)
                faults: \(self.kills) kill -9, \(self.databaseCrashes) database crashes, \(self.outages) database outages; \
                slowest recovery to ready \(worst)
                \(self.audit.acknowledged) acknowledged in \(Int(seconds)) s (\(Int(rate)) messages/s with the faults)
                """
            for exit in self.daemonExits { text += "\n  daemon exited by itself: \(exit)" }
            for refusal in self.refusals.prefix(10) { text += "\n  refused: \(refusal)" }
            return text
        }
    }

    package let plan: Plan

    package init(plan: Plan) {
        self.plan = plan
    }

    /// Runs the soak; `progress` is told what happens, as it happens.
    package func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        let plan = self.plan
        return try await ManagedDaemon.withDaemons(plan.daemons, configuration: plan.configuration, gatewayIDPrefix: "gw_soak_") {
            daemons,
            cluster in
            progress("\(plan.daemons) daemons ready on a durable cluster; preparing \(plan.traffic.users) users")
            let traffic = Traffic(plan: plan.traffic, ports: daemons.map(\.port))
            try await traffic.prepare()
            let started = ContinuousClock.now
            var report = Report()
            async let audit = traffic.run(deadline: plan.deadline)

            // Faults at evenly spaced points of the traffic, in turn: kills, crashes, outages.
            var faults: [String] = []
            for n in 0..<max(plan.kills, plan.databaseCrashes, plan.outages) {
                if n < plan.kills { faults.append("kill") }
                if n < plan.databaseCrashes { faults.append("crash") }
                if n < plan.outages { faults.append("outage") }
            }
            let total = plan.traffic.messages
            for (index, fault) in faults.enumerated() {
                let at = total * (index + 1) / (faults.count + 1)
                try await traffic.waitUntil(acknowledged: at, timeout: plan.deadline)
                let atFault = traffic.acknowledged
                switch fault {
                case "kill":
                    let daemon = daemons[report.kills % daemons.count]
                    daemon.kill9()
                    try await Task.sleep(for: plan.downtime)
                    report.recoveries.append(try await daemon.start())
                    report.kills += 1
                case "crash":
                    try await cluster.stop(mode: .immediate)
                    try await cluster.startServer()
                    report.recoveries.append(try await Self.ready(daemons))
                    report.databaseCrashes += 1
                default:
                    try await cluster.stop(mode: .immediate)
                    try await Task.sleep(for: plan.outageLength)
                    try await cluster.startServer()
                    report.recoveries.append(try await Self.ready(daemons))
                    report.outages += 1
                }
                for (number, daemon) in daemons.enumerated() {
                    if let status = daemon.exitedStatus { report.daemonExits.append("daemon \(number) with status \(status)") }
                }
                progress("\(fault) at \(atFault) acknowledged; ready again after \(report.recoveries.last ?? .zero)")
            }
            report.audit = await audit
            report.elapsed = ContinuousClock.now - started
            report.refusals = traffic.refusals
            return report
        }
    }

    /// Waits until every daemon answers `/readyz` 200; how long that took.
    static func ready(_ daemons: [ManagedDaemon]) async throws -> Duration {
        let started = ContinuousClock.now
        for daemon in daemons {
            try await HTTPTestClient.waitFor(port: daemon.port, "/readyz", timeout: .seconds(60)) { $0.status == 200 }
        }
        return ContinuousClock.now - started
    }
}
