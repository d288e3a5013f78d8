package import Control

#if canImport(Glibc)
import Glibc
#endif

/// How gwctl prints: tables fitted to the terminal's width (uncut when not a terminal), colour
/// only on a terminal (or when asked), JSON with `--json`; and which exit status an answer means.
package struct ConsoleOutput: Sendable {
    package var json: Bool
    package var color: Bool
    /// Colour on standard error (errors in red), decided apart: one may be a terminal and not the other.
    package var errorColor: Bool

    package init(json: Bool, color: GwctlArguments.Color, environment: [String: String]) {
        self.json = json
        let allowed = environment["NO_COLOR"].map(\.isEmpty) ?? true
        let dumb = environment["TERM"] == "dumb"
        switch color {
        case .always: (self.color, self.errorColor) = (true, true)
        case .never: (self.color, self.errorColor) = (false, false)
        case .automatic:
            self.color = allowed && !dumb && isatty(1) == 1
            self.errorColor = allowed && !dumb && isatty(2) == 1
        }
    }

    /// The terminal's width, or a width nothing is cut at when standard output is not a terminal
    /// (COLUMNS, when set, wins over both).
    package var width: Int {
        if let columns = getenv("COLUMNS").map({ String(cString: $0) }).flatMap(Int.init), columns > 0 { return columns }
        var size = winsize()
        if isatty(1) == 1, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 100_000
    }

    /// Prints a command's final answer; returns the exit status it means: a refusal of the
    /// arguments (`bad_arguments`, `unknown_command`) is a usage error (2), like one gwctl finds
    /// itself; any other failure is 1.
    package func show(_ response: ControlProtocol.Response, of command: ControlCommand, streamed: Bool) -> Int32 {
        guard response.ok == true, let result = response.result else {
            let error = response.error ?? ControlProtocol.ErrorBody(code: "failed", message: "the daemon gave no result")
            self.failure(error.code, error.message)
            let usage = error.code == ControlError.Code.badArguments.name || error.code == ControlError.Code.unknownCommand.name
            return usage ? 2 : 1
        }
        if streamed {
            // Every entry went out as an event; the final line only counts them.
        } else if self.json {
            Self.write(ControlProtocol.pretty(result) + "\n")
        } else {
            Self.write(ControlRendering.render(result, of: command, width: self.width, color: self.color) + "\n")
        }
        if command.name == "check", let failed = result["failed"]?.int, failed > 0 { return 1 }
        return 0
    }

    /// One streamed entry (`ledger tail --follow`): one compact JSON object, or a line of its
    /// columns padded to `widths` — set from the first entry, with the header printed then.
    package func event(_ value: ControlValue, of command: ControlCommand, widths: inout [Int]?) {
        if self.json {
            Self.write(String(decoding: ControlProtocol.line(value), as: UTF8.self))
            return
        }
        let cells = command.columns.map { ControlTable.clean(value[$0]?.text ?? "") }
        if widths == nil {
            let headers = command.columns.map { $0.uppercased() }
            widths = zip(headers, cells).map { max($0.count, $1.count) }
            let header = ControlRendering.padded(headers, widths!)
            Self.write((self.color ? "\u{1b}[1m\(header)\u{1b}[0m" : header) + "\n")
        }
        Self.write(ControlRendering.padded(cells, widths!) + "\n")
    }

    /// A failure: with `--json`, `{"error": {"code", "message"}}` on standard output (so that a
    /// script reading it always gets an object); the message on standard error in any case.
    /// Codes are the protocol's (`bad_arguments`, `not_found`, …) and gwctl's own
    /// `unreachable` and `interrupted`.
    package func failure(_ code: String, _ message: String) {
        if self.json {
            Self.write(ControlProtocol.pretty(["error": ["code": .string(code), "message": .string(message)]]) + "\n")
        }
        self.error(message)
    }

    /// "gwctl: message" on standard error, in red on a terminal.
    package func error(_ message: String) {
        let text = "gwctl: " + ControlTable.clean(message)
        Self.writeError((self.errorColor ? "\u{1b}[31m\(text)\u{1b}[0m" : text) + "\n")
    }

    package static func write(_ text: String) { Self.write(1, text) }
    package static func writeError(_ text: String) { Self.write(2, text) }

    static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += count
        }
    }
}
