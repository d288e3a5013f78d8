import AdminConsole
import Control
import Logging
import Store

#if canImport(Glibc)
import Glibc
#endif

/// `control-benchmark SOCKET GWCTL POSTGRES_URL [CONVERSATIONS] [ROUNDS]`: how fast the control
/// socket answers. Writes CONVERSATIONS conversations of two members (of 100 users) straight into the database,
/// then measures sequential round trips of commands on one connection (what the console and Tab
/// completion wait for) and whole one-shot `gwctl` runs (process start, connect, hello, answer).
@main
enum ControlBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 4 else {
            print("usage: control-benchmark SOCKET GWCTL POSTGRES_URL [CONVERSATIONS] [ROUNDS]")
            exit(2)
        }
        let (socket, gwctl, url) = (arguments[1], arguments[2], arguments[3])
        let conversations = arguments.count > 4 ? Int(arguments[4]) ?? 10_000 : 10_000
        let rounds = arguments.count > 5 ? Int(arguments[5]) ?? 2000 : 2000
        var logger = Logger(label: "control-benchmark")
        logger.logLevel = .error
        let database = PostgresClient(configuration: .init(conninfo: url, maxConnections: 1), logger: logger)
        // Ids from md5 of the index: 16 bytes, spread over the hex prefixes.
        try await database.query(
            """
            INSERT INTO gw_conversations (conv_id, conv_home, group_info, created_by)
            SELECT decode(md5('bench' || i), 'hex'), 'gw_bench', '\\x00'::bytea, decode(md5('user' || (i % 100)) || md5('key' || (i % 100)), 'hex')
            FROM generate_series(1, \(Int64(conversations))) AS i ON CONFLICT DO NOTHING
            """
        )
        try await database.query(
            """
            INSERT INTO gw_members (conv_id, user_id, joined_seq)
            SELECT decode(md5('bench' || i), 'hex'), decode(md5('user' || ((i + k) % 100)) || md5('key' || ((i + k) % 100)), 'hex'), 0
            FROM generate_series(1, \(Int64(conversations))) AS i, generate_series(0, 1) AS k ON CONFLICT DO NOTHING
            """
        )
        database.shutdown()
        print("\(conversations) conversations of 2 members; \(rounds) sequential round trips per command on one connection")

        let client = try ControlClient(path: socket)
        let some = client.ids(.conversation, prefix: "")
        guard let conversation = some.first else {
            print("no conversation to show")
            exit(1)
        }
        let shown = try client.call(try ControlCommandLine.parse(line: "conv show \(conversation)"))
        guard let member = shown.result?["members"]?.array?.first?["user"]?.string else {
            print("the conversation has no members")
            exit(1)
        }
        print(pad("command", 40) + "   p50 ms   p99 ms    per s")
        for line in [
            "status", "complete conversation a", "conv show \(conversation.prefix(8))", "conv list",
            "conv list --member \(member)",
        ] {
            let parsed = try ControlCommandLine.parse(line: line)
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                let response = try client.call(parsed)
                guard response.ok == true else {
                    print("\(line): \(response.error?.message ?? "failed")")
                    exit(1)
                }
                times.append(milliseconds(ContinuousClock.now - start))
            }
            report(line.hasPrefix("conv list --member") ? "conv list --member USER" : line, times)
        }
        var runs: [Double] = []
        for _ in 0..<max(50, rounds / 20) {
            let start = ContinuousClock.now
            guard try spawnAndWait(gwctl, ["--socket", socket, "status"]) == 0 else {
                print("gwctl status failed")
                exit(1)
            }
            runs.append(milliseconds(ContinuousClock.now - start))
        }
        report("one-shot `gwctl status` (process)", runs)
    }

    static func report(_ name: String, _ times: [Double]) {
        let sorted = times.sorted()
        let p50 = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        let rate = Double(times.count) / (times.reduce(0, +) / 1000)
        print(
            pad(name, 40) + pad(format(p50), 9, left: true) + pad(format(p99), 9, left: true)
                + pad(String(Int(rate)), 9, left: true)
        )
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func format(_ value: Double) -> String {
        let scaled = Int((value * 100).rounded())
        return "\(scaled / 100).\(String(scaled % 100).count == 1 ? "0" : "")\(scaled % 100)"
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? padding + text : text + padding
    }

    /// Runs a program with output to /dev/null; its exit status.
    static func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status >> 8) & 0xff
    }
}
