import Logging
import Systemd
import Testing

@Suite struct JournaldLogHandlerTests {
    @Test(arguments: [
        ("db.connection.id", "DB_CONNECTION_ID"),
        ("polygate.conv-id", "POLYGATE_CONV_ID"),
        ("Already_UPPER9", "ALREADY_UPPER9"),
        ("9lives", "META_9LIVES"),
        ("_private", "META__PRIVATE"),
        ("message", "META_MESSAGE"),
        ("priority", "META_PRIORITY"),
        ("ключ", "META_____"),
    ])
    func metadataKeysBecomeValidJournalFieldNames(key: String, field: String) {
        #expect(JournaldLogHandler.fieldName(key) == field)
    }

    @Test func longKeysAreCutToSixtyFourCharacters() {
        #expect(JournaldLogHandler.fieldName(String(repeating: "a", count: 100)).count == 64)
    }

    @Test func entriesCarryMessagePriorityCodeLocationAndMetadata() {
        let fields = JournaldLogHandler.fields(
            level: .warning,
            message: "database connection failed\nretrying",
            metadata: ["db.connection.id": "3", "db.error": "refused"],
            label: "polygate.store",
            identifier: "polygated",
            file: "Store/Pool.swift",
            function: "open()",
            line: 42
        )
        #expect(
            fields == [
                "MESSAGE=database connection failed\nretrying",
                "PRIORITY=4",
                "SYSLOG_IDENTIFIER=polygated",
                "LOGGER=polygate.store",
                "CODE_FILE=Store/Pool.swift",
                "CODE_LINE=42",
                "CODE_FUNC=open()",
                "DB_CONNECTION_ID=3",
                "DB_ERROR=refused",
            ]
        )
    }

    @Test(arguments: [
        (Logger.Level.critical, 2), (.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7),
    ])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: Int) {
        #expect(JournaldLogHandler.priority(level) == priority)
    }

    @Test func journalIsChosenOnlyWhenJournalStreamMatchesStandardError() {
        #expect(SystemdLogging.destination(journalStream: "8:12345", device: 8, inode: 12345) == .journal)
        #expect(SystemdLogging.destination(journalStream: "8:12345", device: 8, inode: 999) == .standardError)
        #expect(SystemdLogging.destination(journalStream: nil, device: 8, inode: 12345) == .standardError)
        #expect(SystemdLogging.destination(journalStream: "garbage", device: 8, inode: 12345) == .standardError)
    }
}
