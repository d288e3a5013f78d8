package import NIOCore
import Synchronization

/// A connection's outgoing frames between the session (and the fan-out, from any thread) and
/// the transport's writer. Bounded by ``SendQueue``: an overflow is not back-pressure on the
/// producers but a slow consumer, which the session closes with 4008.
package final class Outbox: Sendable {
    /// What the writer takes.
    package enum Item: Sendable, Hashable {
        /// A serialized `ServerFrame` (shared by every connection it goes to).
        case frame(ByteBuffer)
        /// SSE only: a comment line that keeps proxies from timing the stream out.
        case keepAlive
        /// The last item: close the transport with this code.
        case close(code: UInt16, reason: String)
    }

    private struct State {
        var queue: SendQueue<Item>
        var closing: Item?
        var finished = false
        var waiter: CheckedContinuation<[Item]?, Never>?
        /// The producer that waits for room (the session's delivery task).
        var roomWaiter: (bytes: Int, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state: Mutex<State>

    package init(maxFrames: Int, maxBytes: Int) {
        self.state = Mutex(State(queue: SendQueue(maxFrames: maxFrames, maxBytes: maxBytes)))
    }

    /// Queues a frame; false when the bound is exceeded (nothing queued) or the outbox is
    /// closing.
    package func push(_ frame: ByteBuffer) -> Bool {
        let waiter = self.state.withLock { state -> CheckedContinuation<[Item]?, Never>?? in
            guard state.closing == nil, !state.finished else { return .none }
            guard state.queue.enqueue(.frame(frame), bytes: frame.readableBytes) == .queued else { return .none }
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        guard let waiter else { return false }
        if let waiter { self.wake(waiter) }
        return true
    }

    /// Queues a small control frame past the bounds (`CaughtUp`, once its producer waited for
    /// room); false only when closing.
    package func pushUnbounded(_ frame: ByteBuffer) -> Bool {
        let waiter = self.state.withLock { state -> CheckedContinuation<[Item]?, Never>?? in
            guard state.closing == nil, !state.finished else { return .none }
            state.queue.appendUnbounded(.frame(frame), bytes: frame.readableBytes)
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        guard let waiter else { return false }
        if let waiter { self.wake(waiter) }
        return true
    }

    /// Queues a keep-alive unless something is queued anyway.
    package func keepAlive() {
        let waiter = self.state.withLock { state -> CheckedContinuation<[Item]?, Never>? in
            guard state.closing == nil, !state.finished, state.queue.count == 0 else { return nil }
            _ = state.queue.enqueue(.keepAlive, bytes: 0)
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter { self.wake(waiter) }
    }

    /// Queues the last frames (a `GoAway`) and the close. With `discardQueued` (a slow
    /// consumer) the frames still queued are dropped first: the client resumes from its cursors.
    /// Only the first close counts.
    package func close(code: UInt16, reason: String, finalFrame: ByteBuffer?, discardQueued: Bool) {
        let waiter = self.state.withLock { state -> CheckedContinuation<[Item]?, Never>? in
            guard state.closing == nil, !state.finished else { return nil }
            if discardQueued {
                state.queue = SendQueue(maxFrames: state.queue.maxFrames, maxBytes: state.queue.maxBytes)
            }
            state.closing = .close(code: code, reason: reason)
            if let finalFrame { state.queue.appendUnbounded(.frame(finalFrame), bytes: finalFrame.readableBytes) }
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter { self.wake(waiter) }
        self.wakeProducer(force: true)
    }

    /// Resumes the producer waiting for room, if its frame fits now.
    private func wakeProducer(force: Bool = false) {
        let room = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiting = state.roomWaiter else { return nil }
            guard force || state.closing != nil || state.queue.hasRoom(for: waiting.bytes) else { return nil }
            state.roomWaiter = nil
            return waiting.continuation
        }
        room?.resume()
    }

    /// Waits until a frame of `bytes` fits (or the outbox is closing): producers that can wait —
    /// reads of the backlog — use this, so that only live traffic to a client that does not read
    /// overflows. One waiter at a time.
    package func waitForRoom(bytes: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = self.state.withLock { state -> Bool in
                if state.closing != nil || state.finished || state.queue.hasRoom(for: bytes) { return true }
                precondition(state.roomWaiter == nil, "one producer waits at a time")
                state.roomWaiter = (bytes, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Whether a close was requested.
    package var isClosing: Bool { self.state.withLock { $0.closing != nil || $0.finished } }

    /// Frames queued now.
    package var queuedFrames: Int { self.state.withLock { $0.queue.count } }

    /// The transport is gone: the writer's `next` returns nil, later pushes are dropped.
    package func finish() {
        let (waiter, room) = self.state.withLock {
            state -> (CheckedContinuation<[Item]?, Never>?, CheckedContinuation<Void, Never>?) in
            state.finished = true
            defer {
                state.waiter = nil
                state.roomWaiter = nil
            }
            return (state.waiter, state.roomWaiter?.continuation)
        }
        waiter?.resume(returning: nil)
        room?.resume()
    }

    /// Waits for items and takes up to `limit` of them in order (the close, once everything before
    /// it). Nil once the close was taken or the outbox finished. One writer only.
    package func next(limit: Int = 64) async -> [Item]? {
        let items = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Item]?, Never>) in
                let ready = self.state.withLock { state -> [Item]?? in
                    if let items = Self.take(&state, limit: limit) { return .some(items) }
                    if state.finished { return .some(nil) }
                    precondition(state.waiter == nil, "one writer only")
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            self.finish()
        }
        self.wakeProducer()
        return items
    }

    private func wake(_ waiter: CheckedContinuation<[Item]?, Never>) {
        // Take what is there now (the waiter was registered, so nobody else took it).
        let items = self.state.withLock { state in Self.take(&state, limit: 64) }
        waiter.resume(returning: items ?? [])
        self.wakeProducer()
    }

    private static func take(_ state: inout State, limit: Int) -> [Item]? {
        guard !state.finished else { return nil }
        var items: [Item] = []
        while items.count < limit, let item = state.queue.dequeue() { items.append(item) }
        if items.count < limit, state.queue.count == 0, let closing = state.closing {
            items.append(closing)
            state.finished = true
        }
        return items.isEmpty ? nil : items
    }
}
