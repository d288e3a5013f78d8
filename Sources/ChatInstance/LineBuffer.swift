/// Bytes that came on a connection, split into lines (without `\n` or `\r\n`). A line longer
/// than the limit is an error as soon as that many bytes came without a newline, so a buffer
/// never holds more than the limit.
package struct LineBuffer: Sendable {
    package let maximumLine: Int
    private var pending: [UInt8] = []

    package init(maximumLine: Int = InstanceProtocol.maximumLine) {
        self.maximumLine = maximumLine
    }

    /// A line over the limit.
    package struct TooLong: Error, Sendable {}

    /// Adds `bytes`; the complete lines now in the buffer.
    package mutating func feed(_ bytes: some Sequence<UInt8>) throws(TooLong) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = self.pending.count
        self.pending.append(contentsOf: bytes)
        var consumed = 0
        while let newline = self.pending[start...].firstIndex(of: 0x0A) {
            var line = Array(self.pending[consumed..<newline])
            if line.last == 0x0D { line.removeLast() }
            guard line.count <= self.maximumLine else { throw TooLong() }
            lines.append(line)
            consumed = newline + 1
            start = consumed
        }
        self.pending.removeFirst(consumed)
        guard self.pending.count <= self.maximumLine else { throw TooLong() }
        return lines
    }

    /// Whether a partial line is waiting for its newline.
    package var isEmpty: Bool { self.pending.isEmpty }
}
