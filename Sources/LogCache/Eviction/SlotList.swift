/// The "no slot" marker in slot-indexed link arrays; slots are dense and never reach it.
public let noSlot: UInt32 = .max

/// An intrusive doubly linked list of slots, stored as two slot-indexed arrays.
///
/// Policies keep their queues here instead of in node objects: no allocation per object,
/// O(1) moves, and the arrays grow only as far as the highest slot the owner hands out.
/// The head is the most recently added end, the tail the oldest; "previous" points toward the head.
// Its operations are inlinable: the simulator's own policies, in another module, move slots
// on nearly every request, and a call per move (with its own uniqueness checks) was a tenth
// of a replay's time.
public struct SlotList: Sendable {
    @usableFromInline var prev: [UInt32] = []
    @usableFromInline var next: [UInt32] = []
    @usableFromInline var first: UInt32 = noSlot
    @usableFromInline var last: UInt32 = noSlot
    @usableFromInline var length = 0
    /// The most recently added slot, or ``noSlot``.
    @inlinable public var head: UInt32 { first }
    /// The oldest slot, or ``noSlot``.
    @inlinable public var tail: UInt32 { last }
    /// Slots in the list.
    @inlinable public var count: Int { length }

    /// An empty list.
    public init() {}

    /// Bytes of link state per slot, for metadata reports.
    public static let bytesPerSlot = 8

    @inlinable @inline(__always)
    mutating func ensure(_ slot: UInt32) {
        if Int(slot) >= prev.count { grow(to: Int(slot)) }
    }

    @usableFromInline
    mutating func grow(to index: Int) {
        let n = Swift.max(index + 1, prev.count * 2, 64)
        prev.append(contentsOf: repeatElement(noSlot, count: n - prev.count))
        next.append(contentsOf: repeatElement(noSlot, count: n - next.count))
    }

    /// Adds `slot` at the head; it must not be in the list.
    @inlinable @inline(__always)
    public mutating func pushHead(_ slot: UInt32) { link(slot, after: noSlot, before: head) }

    /// Adds `slot` at the tail (it becomes the next one out); it must not be in the list.
    @inlinable @inline(__always)
    public mutating func pushTail(_ slot: UInt32) { link(slot, after: tail, before: noSlot) }

    /// Links `slot` between neighbours `p` (toward the head) and `n` (toward the tail);
    /// ``noSlot`` on a side makes it that end of the list.
    @inlinable @inline(__always)
    mutating func link(_ slot: UInt32, after p: UInt32, before n: UInt32) {
        ensure(slot)
        let i = Int(slot)
        prev[i] = p
        next[i] = n
        if p != noSlot { next[Int(p)] = slot } else { first = slot }
        if n != noSlot { prev[Int(n)] = slot } else { last = slot }
        length += 1
    }

    /// Unlinks `slot`, which must be in the list.
    @inlinable @inline(__always)
    public mutating func remove(_ slot: UInt32) {
        let i = Int(slot)
        let p = prev[i], n = next[i]
        if p != noSlot { next[Int(p)] = n } else { first = n }
        if n != noSlot { prev[Int(n)] = p } else { last = p }
        length -= 1
    }

    /// Moves `slot`, which must be in the list, to the head.
    @inlinable @inline(__always)
    public mutating func moveToHead(_ slot: UInt32) {
        if slot == head { return }
        remove(slot)
        pushHead(slot)
    }

    /// Removes and returns the tail, or nil when the list is empty.
    @inlinable @inline(__always)
    public mutating func popTail() -> UInt32? {
        let t = tail
        if t == noSlot { return nil }
        remove(t)
        return t
    }

    /// The neighbour of `slot` toward the head, or ``noSlot``.
    @inlinable @inline(__always)
    public func towardHead(_ slot: UInt32) -> UInt32 { prev[Int(slot)] }

    /// The neighbour of `slot` toward the tail, or ``noSlot``.
    @inlinable @inline(__always)
    public func towardTail(_ slot: UInt32) -> UInt32 { next[Int(slot)] }

    /// The slots from tail to head: the order in which a FIFO or LRU would evict them.
    public func fromTail() -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        var s = tail
        while s != noSlot {
            out.append(s)
            s = prev[Int(s)]
        }
        return out
    }
}

extension Array {
    /// Grows the array (doubling) so that `index` is valid, filling new places with `filler`.
    // Inlinable: the simulator's policies, in another module, call it on every insert, and
    // unspecialized it would look up the array's generic metadata on each call.
    @inlinable
    package mutating func ensureIndex(_ index: UInt32, filler: Element) {
        if Int(index) >= count {
            let n = Swift.max(Int(index) + 1, count * 2, 64)
            append(contentsOf: repeatElement(filler, count: n - count))
        }
    }
}
