/// ARC (Megiddo and Modha, FAST 2003), measured in the owner's units (bytes or objects).
///
/// T1 holds objects seen once recently, T2 objects seen at least twice; B1 and B2 remember the
/// keys recently evicted from each. A miss on a B1 ghost raises the target size `p` of T1 by
/// max(|B2|/|B1|, 1), a miss on a B2 ghost lowers it by max(|B1|/|B2|, 1), `p` staying within
/// 0 … c. Eviction (the paper's REPLACE) takes T1's LRU end into B1 when T1 exceeds `p` (or
/// equals it and the miss was a B2 ghost), else T2's into B2.
///
/// Ghosts are trimmed as libCacheSim trims them, at most one per eviction and only for a miss
/// that hit no ghost: when |T1| + |B1| and the new object would pass c, B1's oldest goes (or,
/// with B1 empty, T1's LRU end leaves without becoming a ghost); otherwise, when all four lists
/// reach 2c, B2's oldest goes. All sizes are in the owner's unit (bytes, or objects when every
/// size is 1, which is the paper's algorithm); `p` too, so a byte-sized cache moves it by a
/// byte or more per ghost hit, as libCacheSim does.
public struct ARCPolicy: PersistablePolicy, Sendable {
    /// "arc".
    public static let name = "arc"

    private let capacity: Int
    /// T1 (first) and T2 (second).
    private var queues = QueuePair()
    private var b1 = GhostList()
    private var b2 = GhostList()

    public func prefetch(key: UInt64) {
        b1.prefetch(key)
        b2.prefetch(key)
    }
    private enum GhostHit { case none, b1, b2 }
    private var pending = GhostHit.none
    /// The size of the object the current miss will insert.
    private var pendingSize = 0
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
        pendingSize = size
        if b1.contains(key) {
            let delta = max(Double(b2.bytes) / Double(max(b1.bytes, 1)), 1)
            target = min(target + delta, Double(capacity))
            b1.remove(key)
            pending = .b1
        } else if b2.contains(key) {
            let delta = max(Double(b1.bytes) / Double(max(b2.bytes, 1)), 1)
            target = max(target - delta, 0)
            b2.remove(key)
            pending = .b2
        }
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        // A ghost hit means the key was seen before: it goes straight to T2.
        queues.insert(slot, key: key, size: size, intoSecond: pending != .none)
        pending = .none
    }

    /// A hit ends whatever miss came before it (its ghost hit no longer breaks REPLACE's tie).
    public mutating func access(_ slot: UInt32) {
        pending = .none
        queues.moveToHeadOfSecond(slot)
    }

    /// T1 least recently used first, then T2; the value is 1 in T2.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] { queues.persistentState() }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        queues.insert(slot, key: key, size: size, intoSecond: value & 1 != 0)
    }

    /// B1 (list 1) and B2 (list 2), oldest first; the target of T1 and the size of the last
    /// miss, which the next eviction's ghost trimming weighs.
    public func persistentExtras() -> PolicyExtras {
        PolicyExtras(ghosts: b1.fromOldest().map { ($0.key, $0.size, 1) } + b2.fromOldest().map { ($0.key, $0.size, 2) },
                     words: [target.bitPattern, UInt64(max(pendingSize, 0))])
    }

    /// A target that is not a number from 0 to the capacity, or a size of 2^32 or more, is not taken.
    public mutating func restoreExtras(_ extras: PolicyExtras) {
        for g in extras.ghosts {
            if g.list == 1 { b1.push(g.key, size: g.size) } else if g.list == 2 { b2.push(g.key, size: g.size) }
        }
        if let bits = extras.words.first {
            let t = Double(bitPattern: bits)
            if t.isFinite, t >= 0, t <= Double(capacity) { target = t }
        }
        // A record's length is below 2^32; anything larger is not a size this policy saw.
        if extras.words.count > 1, extras.words[1] < 1 << 32 { pendingSize = Int(extras.words[1]) }
    }
    public mutating func remove(_ slot: UInt32) { queues.remove(slot) }

    public mutating func evict() -> UInt32? {
        if pending == .none {
            if queues.firstBytes &+ b1.bytes &+ pendingSize > capacity {
                if b1.bytes > 0 {
                    b1.dropOldest()
                } else if let v = queues.popFirst() {
                    // T1 alone is full: its LRU end leaves, remembered nowhere.
                    return v
                }
            } else if queues.firstBytes &+ queues.secondBytes &+ b1.bytes &+ b2.bytes >= doubleCapacity, b2.bytes > 0 {
                b2.dropOldest()
            }
        }
        return replace()
    }

    /// The paper's REPLACE: T1's LRU end into B1, or T2's into B2.
    private mutating func replace() -> UInt32? {
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
