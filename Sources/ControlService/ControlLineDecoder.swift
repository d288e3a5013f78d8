import Control
import NIOCore

/// Splits the control connection's bytes into lines (without `\n` or `\r\n`), and refuses a line
/// longer than ``ControlProtocol/maximumLine`` as soon as that many bytes came without a newline —
/// so the connection never buffers more than that, whatever the client sends. Each byte is
/// looked at once, however the line arrives.
struct ControlLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// A line over the limit: the connection is closed.
    struct LineTooLong: Error, CustomStringConvertible {
        var description: String { "a control line over \(ControlProtocol.maximumLine) bytes" }
    }

    let maximumLine: Int
    /// How many readable bytes were already searched for a newline.
    private var searched = 0

    init(maximumLine: Int = ControlProtocol.maximumLine) {
        self.maximumLine = maximumLine
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(self.searched).firstIndex(of: 0x0A) else {
            self.searched = view.count
            if view.count > self.maximumLine { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - view.startIndex
        self.searched = 0
        guard length <= self.maximumLine + 1 else { throw LineTooLong() }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == 0x0D { line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)! }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without a newline is not a request: it is dropped with the connection.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
