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

    private var lists: [SlotList]
    private var bytes: [Int]
    private let maxBytes: [Int]
    private var segment: [UInt8] = []
    private var sizes: [Int] = []
    /// Victims of demotions made by a hit, handed out by ``evictAfterAccess()``.
    private var leaving: [UInt32] = []

    /// Segments of `capacity / 4` units each.
    public init(capacity: Int) {
        lists = Array(repeating: SlotList(), count: Self.segmentCount)
        bytes = Array(repeating: 0, count: Self.segmentCount)
        maxBytes = Array(repeating: capacity / Self.segmentCount, count: Self.segmentCount)
    }

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot + 9 }

    public func canInsert(size: Int) -> Bool { size <= maxBytes[0] }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        segment.ensureIndex(slot, filler: Self.gone)
        sizes.ensureIndex(slot, filler: 0)
        sizes[Int(slot)] = size
        var target = 0
        for i in 0..<Self.segmentCount where bytes[i] + size <= maxBytes[i] {
            target = i
            break
        }
        put(slot, in: target)
    }

    public mutating func access(_ slot: UInt32) {
        let id = Int(segment[Int(slot)])
        if id == Self.segmentCount - 1 {
            lists[id].moveToHead(slot)
            return
        }
        take(slot)
        put(slot, in: id + 1)
        while segment[Int(slot)] != Self.gone, case let s = Int(segment[Int(slot)]), bytes[s] > maxBytes[s] {
            cool(s)
        }
    }

    public mutating func remove(_ slot: UInt32) {
        guard segment[Int(slot)] != Self.gone else {
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
        for i in 0..<Self.segmentCount where bytes[i] > 0 { return lists[i].tail }
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
        let t = lists[id].tail
        take(t)
        put(t, in: id - 1)
        while bytes[id - 1] > maxBytes[id - 1] { cool(id - 1) }
    }

    private mutating func take(_ slot: UInt32) {
        let id = Int(segment[Int(slot)])
        lists[id].remove(slot)
        bytes[id] -= sizes[Int(slot)]
        segment[Int(slot)] = Self.gone
    }

    private mutating func put(_ slot: UInt32, in id: Int) {
        lists[id].pushHead(slot)
        bytes[id] += sizes[Int(slot)]
        segment[Int(slot)] = UInt8(id)
    }
}
