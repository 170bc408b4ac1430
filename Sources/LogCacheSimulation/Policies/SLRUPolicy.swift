import LogCache

/// Segmented LRU, as libCacheSim's SLRU with its defaults (`n-seg=4`, each segment a quarter
/// of the capacity):
/// - a new object goes to the head of the lowest segment with room for it, else of segment 0;
/// - a hit moves the object to the head of the next segment up (the top one's head if it is
///   there); a segment over its share demotes its LRU object to the head of the one below,
///   down to segment 0, whose overflow leaves the cache;
/// - the victim is the LRU object of the lowest segment that holds any bytes;
/// - an object larger than one segment is not cached.
public struct SLRUPolicy: SimulatedPolicy, Sendable {
    /// "slru".
    public static let name = "slru"
    /// libCacheSim's `n-seg`.
    public static let segmentCount = 4
    private static let gone: UInt8 = .max

    /// One record per slot, so that unlinking one touches a cache line per object.
    private struct Node {
        var prev = noSlot
        var next = noSlot
        var segment = SLRUPolicy.gone
        var size = 0
    }

    /// The segments' lists, through one array of nodes (a slot is in one list at a time).
    private var nodes: [Node] = []
    private var heads: [UInt32]
    private var tails: [UInt32]
    private var bytes: [Int]
    private let maxBytes: [Int]
    /// Victims of demotions made by a hit, handed out by ``evictAfterAccess()``.
    private var leaving: [UInt32] = []

    /// Segments of `capacity / 4` units each.
    public init(capacity: Int) {
        heads = Array(repeating: noSlot, count: Self.segmentCount)
        tails = Array(repeating: noSlot, count: Self.segmentCount)
        bytes = Array(repeating: 0, count: Self.segmentCount)
        maxBytes = Array(repeating: capacity / Self.segmentCount, count: Self.segmentCount)
    }

    public var metadataBytesPerObject: Int { MemoryLayout<Node>.stride }

    public func canInsert(size: Int) -> Bool { size <= maxBytes[0] }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        nodes.ensureIndex(slot, filler: Node())
        nodes[Int(slot)].size = size
        var target = 0
        for i in 0..<Self.segmentCount where bytes[i] + size <= maxBytes[i] {
            target = i
            break
        }
        put(slot, in: target)
    }

    public mutating func access(_ slot: UInt32) {
        let id = Int(nodes[Int(slot)].segment)
        if id == Self.segmentCount - 1 {
            if heads[id] != slot {
                take(slot)
                put(slot, in: id)
            }
            return
        }
        take(slot)
        put(slot, in: id + 1)
        while nodes[Int(slot)].segment != Self.gone, case let s = Int(nodes[Int(slot)].segment), bytes[s] > maxBytes[s] {
            cool(s)
        }
    }

    public mutating func remove(_ slot: UInt32) {
        guard nodes[Int(slot)].segment != Self.gone else {
            if let i = leaving.firstIndex(of: slot) { leaving.remove(at: i) }
            return
        }
        take(slot)
    }

    public mutating func evict() -> UInt32? {
        guard let victim = lowestTail() else { return nil }
        take(victim)
        return victim
    }

    public mutating func evictAfterAccess() -> UInt32? { leaving.popLast() }

    /// The LRU object of the lowest segment holding any bytes.
    private func lowestTail() -> UInt32? {
        for i in 0..<Self.segmentCount where bytes[i] > 0 { return tails[i] }
        return nil
    }

    /// Demotes segment `id`'s LRU object one segment down, then cools the one below for as
    /// long as it overflows; segment 0's overflow leaves the cache.
    private mutating func cool(_ id: Int) {
        if id == 0 {
            if let victim = lowestTail() {
                take(victim)
                leaving.append(victim)
            }
            return
        }
        let t = tails[id]
        take(t)
        put(t, in: id - 1)
        while bytes[id - 1] > maxBytes[id - 1] { cool(id - 1) }
    }

    private mutating func take(_ slot: UInt32) {
        let s = Int(slot)
        let node = nodes[s]
        let id = Int(node.segment)
        if node.prev != noSlot { nodes[Int(node.prev)].next = node.next } else { heads[id] = node.next }
        if node.next != noSlot { nodes[Int(node.next)].prev = node.prev } else { tails[id] = node.prev }
        bytes[id] -= node.size
        nodes[s].segment = Self.gone
    }

    /// Links `slot` at the head of segment `id`.
    private mutating func put(_ slot: UInt32, in id: Int) {
        let s = Int(slot)
        let h = heads[id]
        nodes[s].prev = noSlot
        nodes[s].next = h
        nodes[s].segment = UInt8(id)
        if h != noSlot { nodes[Int(h)].prev = slot } else { tails[id] = slot }
        heads[id] = slot
        bytes[id] += nodes[s].size
    }
}
