import LogCache

/// Random eviction: the victim is drawn uniformly from the cached objects. libCacheSim's
/// Random draws from its hash table (a random bucket until one is not empty, then an object
/// of its chain), which is uniform up to chain lengths; with a different generator the
/// victims differ one by one, and only the miss ratio is comparable (docs/bench.md).
public struct RandomPolicy: SimulatedPolicy, Sendable {
    /// "random".
    public static let name = "random"
    private var pool = SampledSlots()
    private var rng: SeededGenerator

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) { self.init(capacity: capacity, seed: 0x5EED_0001) }

    /// The same, drawing its victims from a generator seeded with `seed`.
    public init(capacity: Int, seed: UInt64) { rng = SeededGenerator(seed: seed) }

    public var metadataBytesPerObject: Int { SampledSlots.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { pool.add(slot) }
    public mutating func access(_ slot: UInt32) {}
    public mutating func remove(_ slot: UInt32) { pool.remove(slot) }

    public mutating func evict() -> UInt32? {
        guard pool.count > 0 else { return nil }
        let victim = pool.draw(&rng)
        pool.remove(victim)
        return victim
    }
}
