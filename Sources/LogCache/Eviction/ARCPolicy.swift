/// ARC (Megiddo and Modha, FAST 2003), measured in the owner's units (bytes or objects).
///
/// T1 holds objects seen once recently, T2 objects seen at least twice; B1 and B2 remember the
/// keys recently evicted from each. A miss on a B1 ghost raises the target size `p` of T1 by
/// max(|B2|/|B1|, 1) times the object's size, a miss on a B2 ghost lowers it likewise. Eviction
/// takes T1's LRU end when T1 exceeds `p` (or equals it and the miss was a B2 ghost), else T2's.
/// Ghost lists are kept within the paper's bounds: |T1|+|B1| ≤ c and |T1|+|T2|+|B1|+|B2| ≤ 2c.
/// With sizes the bounds and `p` are in bytes; with every size 1 this is the paper's algorithm.
public struct ARCPolicy: PersistablePolicy, Sendable {
    /// "arc".
    public static let name = "arc"

    private let capacity: Int
    /// T1 (first) and T2 (second).
    private var queues = QueuePair()
    private var b1 = GhostList()
    private var b2 = GhostList()
    private enum GhostHit { case none, b1, b2 }
    private var pending = GhostHit.none
    /// The adaptive target size of T1.
    public private(set) var target: Double = 0

    /// A policy for `capacity` units.
    public init(capacity: Int) { self.capacity = capacity }

    /// Twice the capacity, the bound of all four lists together; saturating, since a store's
    /// capacity may be as large as an `Int` holds.
    private var doubleCapacity: Int {
        let (d, overflow) = capacity.multipliedReportingOverflow(by: 2)
        return overflow ? .max : d
    }

    /// Links for two lists, list flag, key and size per slot (ghosts cost extra, see ``GhostList``).
    public var metadataBytesPerObject: Int { QueuePair.bytesPerSlot }

    /// Whether a cached object is in T2 (seen at least twice).
    public func isFrequent(_ slot: UInt32) -> Bool { queues.isInSecond(slot) }

    /// Whether `key` is a ghost in B1 (evicted from T1) or B2 (evicted from T2).
    public func ghostList(of key: UInt64) -> Int? {
        if b1.contains(key) { return 1 }
        if b2.contains(key) { return 2 }
        return nil
    }

    public mutating func willMiss(key: UInt64, size: Int) {
        pending = .none
        if b1.contains(key) {
            let delta = max(Double(b2.bytes) / Double(max(b1.bytes, 1)), 1)
            target = min(target + delta * Double(size), Double(capacity))
            b1.remove(key)
            pending = .b1
        } else if b2.contains(key) {
            let delta = max(Double(b1.bytes) / Double(max(b2.bytes, 1)), 1)
            target = max(target - delta * Double(size), 0)
            b2.remove(key)
            pending = .b2
        }
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        // A ghost hit means the key was seen before: it goes straight to T2.
        queues.insert(slot, key: key, size: size, intoSecond: pending != .none)
        pending = .none
        let t1Bytes = queues.firstBytes, t2Bytes = queues.secondBytes
        while t1Bytes + b1.bytes > capacity, b1.count > 0 { b1.dropOldest() }
        while t1Bytes &+ t2Bytes &+ b1.bytes &+ b2.bytes > doubleCapacity, b2.count > 0 { b2.dropOldest() }
    }

    public mutating func access(_ slot: UInt32) { queues.moveToHeadOfSecond(slot) }

    /// T1 least recently used first, then T2; the value is 1 in T2.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        queues.first.fromTail().map { ($0, 0) } + queues.second.fromTail().map { ($0, 1) }
    }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        queues.insert(slot, key: key, size: size, intoSecond: value & 1 != 0)
    }

    /// B1 (list 1) and B2 (list 2), oldest first, and the target of T1.
    public func persistentExtras() -> PolicyExtras {
        PolicyExtras(ghosts: b1.fromOldest().map { ($0.key, $0.size, 1) } + b2.fromOldest().map { ($0.key, $0.size, 2) },
                     words: [target.bitPattern])
    }

    /// A target that is not a number from 0 to the capacity is not taken.
    public mutating func restoreExtras(_ extras: PolicyExtras) {
        for g in extras.ghosts {
            if g.list == 1 { b1.push(g.key, size: g.size) } else if g.list == 2 { b2.push(g.key, size: g.size) }
        }
        if let bits = extras.words.first {
            let t = Double(bitPattern: bits)
            if t.isFinite, t >= 0, t <= Double(capacity) { target = t }
        }
    }
    public mutating func remove(_ slot: UInt32) { queues.remove(slot) }

    public mutating func evict() -> UInt32? {
        let t1Size = Double(queues.firstBytes)
        let fromT1 = queues.first.count > 0
            && (queues.second.count == 0 || t1Size > target || (pending == .b2 && t1Size == target))
        if fromT1 {
            guard let v = queues.popFirst() else { return nil }
            b1.push(queues.key(v), size: queues.size(v))
            return v
        }
        guard let v = queues.popSecond() else { return nil }
        b2.push(queues.key(v), size: queues.size(v))
        return v
    }
}
