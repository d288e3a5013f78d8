/// A connection's bounded outgoing queue. Overflow is not back-pressure on the producer: the
/// connection is a slow consumer and is closed with 4008; it resumes from its cursors later.
package struct SendQueue<Frame: Sendable>: Sendable {
    package let maxFrames: Int
    package let maxBytes: Int
    package private(set) var frames: [(frame: Frame, bytes: Int)] = []
    package private(set) var queuedBytes = 0
    private var head = 0

    package init(maxFrames: Int, maxBytes: Int) {
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
    }

    /// What happened to an enqueued frame.
    package enum Outcome: Sendable, Equatable {
        case queued
        /// The queue would exceed a bound: close the connection as a slow consumer.
        case overflow
    }

    package var count: Int { self.frames.count - self.head }

    /// Whether a frame of `bytes` fits now. An empty queue takes any frame, so that one message
    /// larger than the byte bound still goes out.
    package func hasRoom(for bytes: Int) -> Bool {
        self.count == 0 || (self.count + 1 <= self.maxFrames && self.queuedBytes + bytes <= self.maxBytes)
    }

    package mutating func enqueue(_ frame: Frame, bytes: Int) -> Outcome {
        guard self.hasRoom(for: bytes) else { return .overflow }
        self.frames.append((frame, bytes))
        self.queuedBytes += bytes
        return .queued
    }

    /// Queues a frame past the bounds (a connection's last `GoAway`).
    package mutating func appendUnbounded(_ frame: Frame, bytes: Int) {
        self.frames.append((frame, bytes))
        self.queuedBytes += bytes
    }

    /// The oldest frame, removed.
    package mutating func dequeue() -> Frame? {
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
