import LogCache

/// Greedy-Dual-Size-Frequency (Cherkasova, 1998), as libCacheSim's GDSF: an object's
/// priority is L + frequency × 10⁶ / size, where L is the priority of the last victim;
/// the lowest priority leaves, ties going to the object whose priority was set first. Small,
/// often requested objects stay; large ones leave unless requested often. The priorities are
/// computed in the same floating-point steps as libCacheSim's, so ties fall alike.
public struct GDSFPolicy: SimulatedPolicy, Sendable {
    /// "gdsf".
    public static let name = "gdsf"
    private var heap = SlotHeap()
    private var frequency: [Int64] = []
    private var sizes: [Int] = []
    private var lastEvicted = 0.0
    /// Requests seen, the tie-breaker (libCacheSim's `n_req`).
    private var now: UInt64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotHeap.bytesPerSlot + 16 }

    public mutating func willMiss(key: UInt64, size: Int) { now += 1 }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        frequency.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        frequency[Int(slot)] = 1
        sizes[Int(slot)] = size
        heap.push(slot, priority: Self.key(lastEvicted + 1.0e6 / Double(size)), order: now)
    }

    public mutating func access(_ slot: UInt32) {
        now += 1
        let s = Int(slot)
        frequency[s] += 1
        let p = lastEvicted + Double(frequency[s]) * 1.0e6 / Double(sizes[s])
        heap.update(slot, priority: Self.key(p), order: now)
    }

    public mutating func remove(_ slot: UInt32) { heap.remove(slot) }

    public mutating func evict() -> UInt32? {
        guard let victim = heap.minimum else { return nil }
        lastEvicted = Self.value(heap.priority(of: victim))
        heap.remove(victim)
        return victim
    }

    /// A non-negative double as an integer of the same order (its bit pattern); infinity
    /// (a size of 0) orders last, as it does among doubles.
    private static func key(_ p: Double) -> Int64 { Int64(bitPattern: p.bitPattern) }
    private static func value(_ k: Int64) -> Double { Double(bitPattern: UInt64(bitPattern: k)) }
}
