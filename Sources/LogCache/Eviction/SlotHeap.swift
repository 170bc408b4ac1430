/// A binary min-heap of slots keyed by (`priority`, `order`), with each slot's position
/// remembered so that any slot can be removed or re-keyed in O(log n).
///
/// Serves expiry (soonest first) and Belady (farthest next use first, by negating the
/// priority). `order` breaks ties deterministically, which keeps eviction order reproducible.
public struct SlotHeap: Sendable {
    var heap: [UInt32] = []
    var position: [UInt32] = []
    var priority: [Int64] = []
    var order: [UInt64] = []

    /// An empty heap.
    public init() {}

    /// Bytes of state per slot (position, priority, tie-breaker, heap entry).
    public static let bytesPerSlot = 4 + 8 + 8 + 4

    /// Slots in the heap.
    public var count: Int { heap.count }

    /// Whether `slot` is in the heap.
    @inline(__always)
    public func contains(_ slot: UInt32) -> Bool {
        Int(slot) < position.count && position[Int(slot)] != noSlot
    }

    /// The slot with the smallest key, or nil.
    @inline(__always)
    public var minimum: UInt32? { heap.first }

    /// The priority `slot` was stored with; `slot` must be in the heap.
    @inline(__always)
    public func priority(of slot: UInt32) -> Int64 { priority[Int(slot)] }

    @inline(__always)
    func less(_ a: UInt32, _ b: UInt32) -> Bool {
        let pa = priority[Int(a)], pb = priority[Int(b)]
        return pa < pb || (pa == pb && order[Int(a)] < order[Int(b)])
    }

    /// Adds `slot`, which must not be in the heap.
    @inline(__always)
    public mutating func push(_ slot: UInt32, priority p: Int64, order o: UInt64) {
        position.ensureIndex(slot, filler: noSlot)
        priority.ensureIndex(slot, filler: 0)
        order.ensureIndex(slot, filler: 0)
        priority[Int(slot)] = p
        order[Int(slot)] = o
        heap.append(slot)
        position[Int(slot)] = UInt32(heap.count - 1)
        siftUp(heap.count - 1)
    }

    /// Changes the key of `slot`, which must be in the heap.
    @inline(__always)
    public mutating func update(_ slot: UInt32, priority p: Int64, order o: UInt64) {
        priority[Int(slot)] = p
        order[Int(slot)] = o
        let i = Int(position[Int(slot)])
        siftUp(i)
        siftDown(Int(position[Int(slot)]))
    }

    /// Removes `slot` if it is in the heap.
    @inline(__always)
    public mutating func remove(_ slot: UInt32) {
        guard contains(slot) else { return }
        let i = Int(position[Int(slot)])
        position[Int(slot)] = noSlot
        let last = heap.removeLast()
        if i < heap.count {
            heap[i] = last
            position[Int(last)] = UInt32(i)
            siftUp(i)
            siftDown(Int(position[Int(last)]))
        }
    }

    /// Removes and returns the slot with the smallest key.
    @inline(__always)
    public mutating func popMinimum() -> UInt32? {
        guard let s = heap.first else { return nil }
        remove(s)
        return s
    }

    @inline(__always)
    mutating func siftUp(_ start: Int) {
        var i = start
        let s = heap[i]
        while i > 0, case let parent = (i - 1) / 2, less(s, heap[parent]) {
            place(heap[parent], at: i)
            i = parent
        }
        place(s, at: i)
    }

    @inline(__always)
    mutating func siftDown(_ start: Int) {
        var i = start
        let s = heap[i]
        let n = heap.count
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && less(heap[child + 1], heap[child]) { child += 1 }
            let c = heap[child]
            if !less(c, s) { break }
            place(c, at: i)
            i = child
        }
        place(s, at: i)
    }

    /// Puts `slot` at heap position `i` and remembers where it is.
    @inline(__always)
    private mutating func place(_ slot: UInt32, at i: Int) {
        heap[i] = slot
        position[Int(slot)] = UInt32(i)
    }

    /// All slots, smallest key first (a sorted copy; O(n log n)).
    public func sorted() -> [UInt32] {
        heap.sorted { less($0, $1) }
    }
}
