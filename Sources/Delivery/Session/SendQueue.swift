/// A connection's bounded outgoing queue. Overflow is not back-pressure on the producer: the
/// connection is a slow consumer and is closed with 4008; it resumes from its cursors later.
public struct SendQueue<Frame: Sendable>: Sendable {
    public let maxFrames: Int
    public let maxBytes: Int
    public private(set) var frames: [(frame: Frame, bytes: Int)] = []
    public private(set) var queuedBytes = 0
    private var head = 0

    public init(maxFrames: Int, maxBytes: Int) {
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
    }

    /// What happened to an enqueued frame.
    public enum Outcome: Sendable, Equatable {
        case queued
        /// The queue would exceed a bound: close the connection as a slow consumer.
        case overflow
    }

    public var count: Int { self.frames.count - self.head }

    public mutating func enqueue(_ frame: Frame, bytes: Int) -> Outcome {
        guard self.count + 1 <= self.maxFrames, self.queuedBytes + bytes <= self.maxBytes else { return .overflow }
        self.frames.append((frame, bytes))
        self.queuedBytes += bytes
        return .queued
    }

    /// The oldest frame, removed.
    public mutating func dequeue() -> Frame? {
        guard self.head < self.frames.count else { return nil }
        let (frame, bytes) = self.frames[self.head]
        self.head += 1
        self.queuedBytes -= bytes
        if self.head > 64, self.head * 2 > self.frames.count {
            self.frames.removeFirst(self.head)
            self.head = 0
        }
        return frame
    }
}
