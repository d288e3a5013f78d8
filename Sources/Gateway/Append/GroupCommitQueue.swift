/// Group commit's decisions, as a value type without I/O (ADR 0019): items queue while a batch
/// is in flight and form the next batch; when nothing is in flight an item starts one at once,
/// so an idle daemon adds no delay and a busy one sends ever larger batches. A batch holds at
/// most `maxItems` items and, past its first item, at most `maxBytes` bytes.
struct GroupCommitQueue<Item> {
    let maxItems: Int
    let maxBytes: Int
    private var pending: [(item: Item, bytes: Int)] = []
    private var head = 0
    /// A batch is in flight (its runner will ask for the next one).
    private(set) var running = false

    init(maxItems: Int, maxBytes: Int) {
        precondition(maxItems >= 1 && maxBytes >= 1)
        self.maxItems = maxItems
        self.maxBytes = maxBytes
    }

    /// Items waiting for a batch.
    var waiting: Int { self.pending.count - self.head }

    /// Queues an item; true when the caller must start a runner (none is running), which then
    /// takes batches with ``next()`` until it gets nil.
    mutating func submit(_ item: Item, bytes: Int) -> Bool {
        self.pending.append((item, bytes))
        guard !self.running else { return false }
        self.running = true
        return true
    }

    /// The next batch, oldest items first; nil when nothing waits, which ends the run.
    mutating func next() -> [Item]? {
        guard self.head < self.pending.count else {
            self.running = false
            self.pending.removeAll(keepingCapacity: true)
            self.head = 0
            return nil
        }
        var batch: [Item] = []
        var bytes = 0
        while self.head < self.pending.count, batch.count < self.maxItems {
            let next = self.pending[self.head]
            if !batch.isEmpty, bytes + next.bytes > self.maxBytes { break }
            batch.append(next.item)
            bytes += next.bytes
            self.head += 1
        }
        if self.head == self.pending.count {
            self.pending.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head > 1024, self.head * 2 > self.pending.count {
            self.pending.removeFirst(self.head)
            self.head = 0
        }
        return batch
    }
}
