import CSystemd
public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes structured entries to the systemd journal with
/// `sd_journal_sendv`: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`/`CODE_LINE`/
/// `CODE_FUNC`, `LOGGER` (the label), and one field per metadata key (`db.connection.id` →
/// `DB_CONNECTION_ID`), so that `journalctl -o verbose` and `journalctl DB_CONNECTION_ID=3` work.
///
/// If the journal refuses an entry, it is written to standard error instead.
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let identifier: String

    /// - Parameters:
    ///   - label: the logger's label, sent as `LOGGER`.
    ///   - identifier: `SYSLOG_IDENTIFIER`, normally the program name.
    public init(
        label: String,
        identifier: String,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let fields = Self.fields(
            level: event.level,
            message: event.message.description,
            metadata: merged,
            label: self.label,
            identifier: self.identifier,
            file: event.file,
            function: event.function,
            line: event.line
        )
        if !Self.send(fields) {
            let line = fields.first { $0.hasPrefix("MESSAGE=") }.map { String($0.dropFirst(8)) } ?? ""
            let text = Array("\(self.identifier)[\(event.level)]: \(line)\n".utf8)
            _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// The journal fields of one entry, in order (pure; exposed for tests).
    public static func fields(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        label: String,
        identifier: String,
        file: String,
        function: String,
        line: UInt
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(Self.priority(level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "LOGGER=\(label)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append("\(Self.fieldName(key))=\(value)")
        }
        return fields
    }

    /// syslog priority for a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    private static let reserved: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
        "ERRNO", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "INVOCATION_ID", "USER_INVOCATION_ID",
    ]

    /// A journal field name for a metadata key: upper-case ASCII letters, digits and `_`, not
    /// starting with a digit or `_`, at most 64 characters; names the journal reserves are
    /// prefixed with `META_`.
    public static func fieldName(_ key: String) -> String {
        var name = String(
            key.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z": Character(String(scalar).uppercased())
                case "A"..."Z", "0"..."9": Character(scalar)
                default: "_"
                }
            }
        )
        if name.isEmpty || name.first == "_" || name.first!.isNumber || Self.reserved.contains(name) {
            name = "META_" + name
        }
        return String(name.prefix(64))
    }

    private static func send(_ fields: [String]) -> Bool {
        var blob: [UInt8] = []
        var ranges: [(offset: Int, count: Int)] = []
        for field in fields {
            let start = blob.count
            blob.append(contentsOf: field.utf8)
            ranges.append((start, blob.count - start))
        }
        return blob.withUnsafeMutableBytes { raw in
            let vectors = ranges.map { iovec(iov_base: raw.baseAddress! + $0.offset, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count)) == 0
        }
    }
}
