import ArgumentParser
import FaultInjection

#if canImport(Glibc)
import Glibc
#endif

/// `fault-soak`: the fault suite's long form (`make soak`). Starts a durable PostgreSQL cluster
/// of its own and polygated daemons from the same build, sends numbered messages through them
/// while killing daemons and crashing and stopping PostgreSQL, then checks that every
/// acknowledged message reached every member device exactly once, in order
/// (docs/RELIABILITY.md). Exit status 0 when the promise held, 1 when it did not.
@main
struct FaultSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-soak",
        abstract:
            "Send numbered messages through polygated under kill -9 and database crashes and outages, and check none is lost."
    )

    @Option(help: "Messages to send in all.") var messages = 100_000
    @Option(help: "Users (one device each).") var users = 20
    @Option(help: "Two-member conversations.") var directMessages = 10
    @Option(help: "Rooms.") var rooms = 3
    @Option(help: "Members of a room.") var roomSize = 5
    @Option(help: "polygated daemons on the one database.") var daemons = 2
    @Option(help: "kill -9 of a daemon (each daemon in turn).") var kills = 10
    @Option(help: "Seconds a killed daemon stays down.") var downtime = 2
    @Option(help: "Immediate restarts of PostgreSQL.") var databaseCrashes = 3
    @Option(help: "Outages of PostgreSQL.") var outages = 2
    @Option(help: "Seconds of each outage.") var outageSeconds = 20
    @Option(help: "Milliseconds a device waits after each acknowledged send.") var pauseMs = 0
    @Option(help: "Minutes the whole run may take.") var deadlineMinutes = 60

    /// One line on standard output at once (a pipe would buffer `print`).
    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }

    func validate() throws {
        guard self.messages > 0, self.users >= 2, self.daemons >= 1 else {
            throw ValidationError("--messages must be positive, --users at least 2 and --daemons at least 1")
        }
        guard self.directMessages + self.rooms > 0 else {
            throw ValidationError("give at least one conversation (--direct-messages or --rooms)")
        }
        guard self.roomSize >= 2, self.roomSize <= self.users else {
            throw ValidationError("--room-size must be between 2 and --users")
        }
    }

    func run() async throws {
        var plan = Soak.Plan()
        plan.traffic.users = self.users
        plan.traffic.directMessages = self.directMessages
        plan.traffic.rooms = self.rooms
        plan.traffic.roomSize = self.roomSize
        plan.traffic.messages = self.messages
        plan.traffic.pause = .milliseconds(self.pauseMs)
        plan.daemons = self.daemons
        plan.kills = self.kills
        plan.downtime = .seconds(self.downtime)
        plan.databaseCrashes = self.databaseCrashes
        plan.outages = self.outages
        plan.outageLength = .seconds(self.outageSeconds)
        plan.deadline = .seconds(60 * self.deadlineMinutes)
        // Generous per-device rates: the soak measures loss, not the limits.
        plan.configuration = """
            [gateway]
            connect_rate_per_ip = "100000/1s"
            connect_burst_per_ip = 100000
            send_rate_per_device = "100000/1s"
            send_burst_per_device = 100000
            auth_failures_per_ip = "100000/1m"
            """
        let report = try await Soak(plan: plan).run { line in Self.say(line) }
        Self.say("\(report)")
        if !report.holds { throw ExitCode(1) }
    }
}
