import TestSupport
import Testing

/// polygated's log entries reach a real systemd-journald with structured fields.
///
/// The journald runs in a private mount namespace (its sockets on a tmpfs over
/// /run/systemd/journal), so the host's journal is never touched. polygated runs with its stderr
/// connected to that journal by `systemd-cat` and `JOURNAL_STREAM` set the way systemd sets it.
@Suite struct JournaldIntegrationTests {
    @Test func entriesArriveWithPriorityIdentifierCodeLocationAndMetadataFields() async throws {
        let unreachable = TestEnvironment.freePort()
        let harness = try DaemonHarness(databaseURL: "postgresql://postgres@127.0.0.1:\(unreachable)/none")
        let script = "\(harness.directory)/journal-test.sh"
        try writeFile(
            script,
            """
            set -eu
            mkdir -p /run/systemd/journal /run/log
            mount -t tmpfs tmpfs /run/systemd/journal
            mount -t tmpfs tmpfs /run/log
            /lib/systemd/systemd-journald >"\(harness.directory)/journald.log" 2>&1 &
            journald=$!
            for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
            systemd-cat -t polygated-stream sh -c \\
                'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" serve --config "$1"' \\
                "\(DaemonHarness.binary)" "\(harness.configPath)" &
            daemon=$!
            # Wait (up to 30 s) for an entry, so that SIGTERM never comes before the signal handlers.
            logged() { journalctl -D /run/log/journal --no-pager -o cat SYSLOG_IDENTIFIER=polygated | grep -q "$1"; }
            for i in $(seq 300); do logged "database unreachable" && break; sleep 0.1; done
            kill -TERM $daemon
            wait $daemon || true
            for i in $(seq 100); do logged "polygated stopped" && break; sleep 0.1; done
            journalctl -D /run/log/journal --no-pager -o verbose SYSLOG_IDENTIFIER=polygated
            kill $journald
            """
        )
        // As root a mount namespace is enough; otherwise map ourselves to root in a user namespace.
        let unshare = TestEnvironment.isRoot ? ["-m", "--propagation", "private"] : ["-r", "-m", "--propagation", "private"]
        let result = try await TestProcess.run("/usr/bin/unshare", unshare + ["/bin/sh", script], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        let entries = result.output
        // The warning while the database is unreachable, with its metadata as fields.
        #expect(entries.contains("MESSAGE=database unreachable; retrying"))
        #expect(entries.contains("PRIORITY=4"))
        #expect(entries.contains("DB_ATTEMPTS=1"))
        #expect(entries.contains("DB_ERROR=PostgresError(connection_failed"))
        #expect(entries.contains("POLYGATE_GATEWAY_ID=gw_test"))
        #expect(entries.contains("LOGGER=polygated"))
        #expect(entries.contains("CODE_FILE=Daemon/DaemonLifecycle.swift"))
        // The notice on SIGTERM.
        #expect(entries.contains("MESSAGE=polygated stopping: draining requests in flight"))
        #expect(entries.contains("PRIORITY=5"))
        // Native protocol, not lines scraped from the stderr stream.
        #expect(entries.contains("_TRANSPORT=journal"))
        #expect(!entries.contains("_TRANSPORT=stdout"))
    }
}
