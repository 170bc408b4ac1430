import LogCache

/// Random eviction: the victim is drawn uniformly from the cached objects. libCacheSim's
/// Random draws from its hash table (a random bucket until one is not empty, then an object
/// of its chain), which is uniform up to chain lengths; with a different generator the
/// victims differ one by one, and only the miss ratio is comparable (docs/bench.md).
public struct RandomPolicy: SimulatedPolicy, Sendable {
    /// "random".
    public static let name = "random"
    /// Which slots hold an object: the owner keeps slots dense (it reuses freed ones), so a
    /// slot drawn below the highest in use is nearly always cached, and one drawn that is not
    /// is drawn again.
    private var cached: [Bool] = []
    private var count = 0
    private var highest: UInt32 = 0
    private var rng: SeededGenerator

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) { self.init(capacity: capacity, seed: 0x5EED_0001) }

    /// The same, drawing its victims from a generator seeded with `seed`.
    public init(capacity: Int, seed: UInt64) { rng = SeededGenerator(seed: seed) }

    public var metadataBytesPerObject: Int { 1 }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        cached.ensureIndex(slot, filler: false)
        cached[Int(slot)] = true
        count += 1
        if slot >= highest { highest = slot + 1 }
    }

    public mutating func access(_ slot: UInt32) {}

    public mutating func remove(_ slot: UInt32) {
        if cached[Int(slot)] {
            cached[Int(slot)] = false
            count -= 1
        }
    }

    public mutating func evict() -> UInt32? {
        guard count > 0 else { return nil }
        // Uniform over the cached slots: each draw is uniform below `highest`, and those that
        // miss are drawn again. Lemire's multiply-shift maps 64 random bits below `highest`.
        let bound = UInt64(highest)
        while true {
            let s = UInt32(rng.next().multipliedFullWidth(by: bound).high)
            if cached[Int(s)] {
                cached[Int(s)] = false
                count -= 1
                return s
            }
        }
    }
}
