/// Every command of control protocol version 1 (docs/CONTROL_PROTOCOL.md, gwctl(8)).
package enum ControlCommands {
    typealias P = ControlCommand.Parameter
    typealias O = ControlCommand.Option
    typealias T = ControlCommand.Table

    static func command(
        _ name: String,
        _ summary: String,
        details: String = "",
        parameters: [P] = [],
        options: [O] = [],
        mutating: Bool = false,
        streams: Bool = false,
        columns: [String] = [],
        fields: [String] = [],
        tables: [T] = []
    ) -> ControlCommand {
        ControlCommand(
            name: name,
            summary: summary,
            details: details,
            parameters: parameters,
            options: options,
            mutating: mutating,
            streams: streams,
            columns: columns,
            fields: fields,
            tables: tables
        )
    }

    static let limit = O(name: "limit", short: "n", value: "N", kind: .count, help: "at most N rows (default 50)")

    package static let all: [ControlCommand] = [
        command(
            "status",
            "Version, uptime, gateway id, database, connections and readiness of this daemon.",
            fields: [
                "version", "gateway_id", "uptime_seconds", "ready", "accepting", "database", "database_latency_ms",
                "schema_version",
                "connections", "authenticated", "websocket", "sse", "conversations_live", "leases", "read_only",
            ]
        ),
        command(
            "check",
            "Health checks with a summary: database, schema, notifications, gateway, readiness, clock.",
            details: "Exits 1 (in gwctl) when any check fails.",
            fields: ["summary", "failed"],
            tables: [T(field: "checks", columns: ["check", "ok", "detail"])]
        ),
        command(
            "conv list",
            "Conversations, newest activity first (never contents).",
            options: [
                O(name: "member", short: nil, value: "USER", kind: .user, help: "only those USER is a member of"),
                limit,
            ],
            columns: ["conv", "home", "epoch", "seq", "members", "created", "last_activity"]
        ),
        command(
            "conv show",
            "One conversation: members, their devices and cursors, seq, epoch, pending Welcomes, activity.",
            details:
                "CONV may be a unique prefix (4 hex characters or more). Message contents are never shown: the gateway only has ciphertext.",
            parameters: [P(name: "CONV", kind: .conversation, optional: false)],
            fields: [
                "conv", "home", "epoch", "seq", "created", "created_by", "last_activity", "pending_welcomes", "group_info_bytes",
            ],
            tables: [
                T(field: "members", columns: ["user", "joined_seq", "left_seq"]),
                T(field: "devices", columns: ["device", "user", "name", "acked_seq", "revoked", "connected"]),
            ]
        ),
        command(
            "device list",
            "A user's devices: name, registration, revocation, KeyPackages, connected here.",
            parameters: [P(name: "USER", kind: .user, optional: false)],
            columns: ["device", "name", "registered", "revoked", "key_packages", "last_resort", "connected"]
        ),
        command(
            "device revoke",
            "Revoke a device: it cannot authenticate any more and its connections on every daemon close.",
            parameters: [P(name: "DEVICE", kind: .device, optional: false)],
            mutating: true,
            fields: ["device", "revoked"]
        ),
        command(
            "pairing list",
            "Pairing codes of the last day (polychat devices link), newest first: state, user, device, times, claimant.",
            details:
                "A pairing is named by the first half of its code; the second half never reaches the server. States: open, claimed, sealed, completed, failed (a wrong code), expired, cancelled.",
            options: [limit],
            columns: ["pairing", "state", "user", "device", "created", "expires", "claimed_ip"]
        ),
        command(
            "pairing cancel",
            "Cancel a live pairing: its code stops working at once, and both devices are told.",
            parameters: [P(name: "PAIRING", kind: .text, optional: false)],
            mutating: true,
            fields: ["pairing", "cancelled", "user"]
        ),
        command(
            "blob stats",
            "Encrypted attachments: how many, how many bytes, the oldest, and the users storing most.",
            details: "Blobs are ciphertext: file names, contents and keys are in the members' messages, never here.",
            fields: ["count", "bytes", "oldest", "directory"],
            tables: [T(field: "users", columns: ["user", "blobs", "bytes"])]
        ),
        command(
            "blob delete",
            "Delete a blob (its 64 hex characters): it is gone for everyone who has its id.",
            parameters: [P(name: "BLOB", kind: .text, optional: false)],
            mutating: true,
            fields: ["blob", "deleted", "user", "size"]
        ),
        command(
            "kp stats",
            "KeyPackage pool levels per device (of USER, or of every device that is low or out).",
            parameters: [P(name: "USER", kind: .user, optional: true)],
            columns: ["device", "user", "suite", "one_time", "last_resort", "low"]
        ),
        command(
            "presence list",
            "Presence leases held on this daemon: user, devices, time left, invisibility, watchers.",
            options: [limit],
            columns: ["user", "devices", "ttl_left_ms", "invisible", "watchers"]
        ),
        command(
            "presence show",
            "One user's presence: online here or on other daemons, leases with time left, watchers.",
            parameters: [P(name: "USER", kind: .user, optional: false)],
            fields: ["user", "online", "invisible", "devices_here", "ttl_left_ms", "other_daemons", "watchers", "last_seen"]
        ),
        command(
            "ratelimit show",
            "Token buckets that are not full and penalties in force, of a device or an IP (all without one).",
            parameters: [P(name: "DEVICE|IP", kind: .deviceOrIP, optional: true)],
            columns: ["key", "bucket", "tokens", "burst"]
        ),
        command(
            "ratelimit reset",
            "Refill a device's or an IP's buckets and lift its penalty.",
            parameters: [P(name: "DEVICE|IP", kind: .deviceOrIP, optional: false)],
            mutating: true,
            fields: ["key", "reset"]
        ),
        command(
            "block list",
            "The users USER blocks.",
            parameters: [P(name: "USER", kind: .user, optional: false)],
            columns: ["user", "blocked"]
        ),
        command(
            "block add",
            "Make USER block BLOCKED (as if USER had asked): no DMs, no adding, no presence.",
            parameters: [P(name: "USER", kind: .user, optional: false), P(name: "BLOCKED", kind: .user, optional: false)],
            mutating: true,
            fields: ["user", "blocked", "changed"]
        ),
        command(
            "block remove",
            "Lift USER's block of BLOCKED.",
            parameters: [P(name: "USER", kind: .user, optional: false), P(name: "BLOCKED", kind: .user, optional: false)],
            mutating: true,
            fields: ["user", "blocked", "changed"]
        ),
        command(
            "conn list",
            "Connections to this daemon: session, transport, peer, user, device, age, queued frames.",
            options: [limit],
            columns: ["session", "transport", "peer", "user", "device", "age_seconds", "queued"]
        ),
        command(
            "conn kick",
            "Close a connection (by session id) or every connection of a device here, with close code 4000.",
            details: "The client may reconnect at once; revoke the device to keep it out.",
            parameters: [P(name: "SESSION|DEVICE", kind: .sessionOrDevice, optional: false)],
            mutating: true,
            fields: ["closed"]
        ),
        command(
            "ledger tail",
            "The newest audit-ledger entries (oldest first); --follow keeps printing new ones.",
            options: [
                limit,
                O(name: "follow", short: "f", value: nil, kind: .text, help: "keep printing new entries until interrupted"),
                O(
                    name: "event",
                    short: "e",
                    value: "PREFIX",
                    kind: .text,
                    help: "only events starting with PREFIX (e.g. device.)"
                ),
            ],
            streams: true,
            columns: ["id", "at", "gateway", "event", "actor", "subject", "details"]
        ),
        command(
            "config show",
            "The configuration in force, secrets masked.",
            fields: []
        ),
        command(
            "complete",
            "Ids of live objects starting with PREFIX (for completion): conversations, users, devices or sessions.",
            parameters: [P(name: "KIND", kind: .text, optional: false), P(name: "PREFIX", kind: .text, optional: true)],
            columns: ["id"]
        ),
        command(
            "help",
            "The commands, or one command's usage.",
            parameters: [P(name: "COMMAND", kind: .command, optional: true)],
            columns: ["command", "summary"]
        ),
    ]

    /// The command named exactly `name`.
    package static func named(_ name: String) -> ControlCommand? { Self.all.first { $0.name == name } }
}
