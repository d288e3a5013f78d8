public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Chooses where logs go: the journal when systemd connected standard error to it, plain
/// standard error otherwise.
public enum SystemdLogging {
    /// Where log lines are written.
    public enum Destination: Sendable, Hashable {
        case journal
        case standardError
    }

    /// `JOURNAL_STREAM` names the journal's stream as `device:inode`; when it matches standard
    /// error, the journal is reading it and structured entries are better (systemd.exec(5)).
    public static func detectDestination() -> Destination {
        var info = stat()
        guard fstat(2, &info) == 0 else { return .standardError }
        let variable = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        return Self.destination(journalStream: variable, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The decision of ``detectDestination()`` for given values (pure; for tests).
    public static func destination(journalStream: String?, device: UInt64, inode: UInt64) -> Destination {
        guard let journalStream else { return .standardError }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let d = UInt64(parts[0]), let i = UInt64(parts[1]) else { return .standardError }
        return d == device && i == inode ? .journal : .standardError
    }

    /// A factory for `LoggingSystem.bootstrap`.
    ///
    /// - Parameters:
    ///   - destination: usually ``detectDestination()``.
    ///   - identifier: the program name (`SYSLOG_IDENTIFIER`).
    ///   - level: the lowest level that is written.
    public static func handlerFactory(
        destination: Destination,
        identifier: String,
        level: Logger.Level
    ) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        { label, provider in
            switch destination {
            case .journal:
                return JournaldLogHandler(label: label, identifier: identifier, logLevel: level, metadataProvider: provider)
            case .standardError:
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            }
        }
    }
}
