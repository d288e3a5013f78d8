import ChatClient
import ChatTerminal
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on standard error, redrawn at most every 100 ms:
/// `sending cat.mp4  [##########          ]  50%  25.0 MB of 50.0 MB`. Only on a terminal (nil
/// otherwise, and for a command run by an instance for another process).
final class ProgressBar: Sendable {
    let label: String
    private let state = Mutex<(lastDraw: ContinuousClock.Instant?, drawn: Bool)>((nil, false))

    init?(label: String) {
        guard CommandHost.current == nil, Terminal.isTerminal(2) else { return nil }
        self.label = label
    }

    /// `done` of `total` bytes moved.
    @Sendable func update(_ done: Int, _ total: Int) {
        let now = ContinuousClock.now
        let draw = self.state.withLock { state -> Bool in
            if let last = state.lastDraw, now - last < .milliseconds(100), done < total { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        guard draw else { return }
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * 20)
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 20 - filled)
        Terminal.write(
            "\r\(self.label)  [\(bar)]  \(Int(fraction * 100))%  \(Listing.size(done)) of \(Listing.size(total))\u{1b}[K",
            to: 2
        )
    }

    /// Ends the bar's line.
    func finish() {
        if self.state.withLock({ $0.drawn }) { Terminal.write("\n", to: 2) }
    }
}
