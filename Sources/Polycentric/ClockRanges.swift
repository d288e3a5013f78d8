/// A set of logical clocks as sorted, disjoint, non-adjacent inclusive ranges — the arithmetic
/// of `/ranges` sync (what the server has minus what the client has, and back).
package struct ClockRanges: Hashable, Sendable, CustomStringConvertible {
    /// Sorted, disjoint, never adjacent (`1...3, 5...5`, never `1...3, 4...5`).
    package private(set) var ranges: [ClosedRange<UInt64>] = []

    package init() {}

    /// The set of the given ranges (any order, overlapping or not).
    package init(_ ranges: some Sequence<ClosedRange<UInt64>>) {
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = self.ranges.last, range.lowerBound <= last.upperBound || range.lowerBound - last.upperBound == 1 {
                self.ranges[self.ranges.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                self.ranges.append(range)
            }
        }
    }

    /// The set of the given clocks.
    package init(clocks: some Sequence<UInt64>) {
        self.init(clocks.map { $0...$0 })
    }

    package var isEmpty: Bool { self.ranges.isEmpty }

    /// How many clocks the set holds.
    package var count: UInt64 { self.ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) } }

    package func contains(_ clock: UInt64) -> Bool {
        var low = 0
        var high = self.ranges.count
        while low < high {
            let mid = (low + high) / 2
            if self.ranges[mid].upperBound < clock { low = mid + 1 } else { high = mid }
        }
        return low < self.ranges.count && self.ranges[low].contains(clock)
    }

    package mutating func insert(_ clock: UInt64) {
        self = self.union(ClockRanges([clock...clock]))
    }

    package func union(_ other: ClockRanges) -> ClockRanges {
        ClockRanges(self.ranges + other.ranges)
    }

    /// The clocks in `self` and not in `other`.
    package func subtracting(_ other: ClockRanges) -> ClockRanges {
        var result: [ClosedRange<UInt64>] = []
        var j = 0
        for range in self.ranges {
            var low = range.lowerBound
            let high = range.upperBound
            var exhausted = false
            while j < other.ranges.count, other.ranges[j].upperBound < low { j += 1 }
            var k = j
            while k < other.ranges.count, other.ranges[k].lowerBound <= high {
                let cut = other.ranges[k]
                if cut.lowerBound > low { result.append(low...(cut.lowerBound - 1)) }
                if cut.upperBound >= high {
                    exhausted = true
                    break
                }
                low = cut.upperBound + 1
                k += 1
            }
            if !exhausted { result.append(low...high) }
        }
        return ClockRanges(result)
    }

    /// The first `limit` clocks, in order (how a client pages `GET /events`).
    package func prefix(_ limit: UInt64) -> ClockRanges {
        var left = limit
        var result: [ClosedRange<UInt64>] = []
        for range in self.ranges where left > 0 {
            let size = range.upperBound - range.lowerBound + 1
            if size <= left {
                result.append(range)
                left -= size
            } else {
                result.append(range.lowerBound...(range.lowerBound + left - 1))
                left = 0
            }
        }
        return ClockRanges(result)
    }

    package var description: String {
        self.ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}
