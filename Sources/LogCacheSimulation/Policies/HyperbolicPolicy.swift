import LogCache

/// Hyperbolic caching (Blankstein, Sen and Freedman, 2017), as libCacheSim's: each object's
/// priority is its request count divided by the requests since it entered the cache, and the
/// victim is the lowest-priority of `n-sample` = 64 objects drawn at random (with
/// replacement). Randomized: comparable with libCacheSim by miss ratio, not object by object.
public struct HyperbolicPolicy: SimulatedPolicy, Sendable {
    /// "hyperbolic".
    public static let name = "hyperbolic"
    /// libCacheSim's `n-sample`.
    public static let samples = 64
    private var pool = SampledSlots()
    private var rng: SeededGenerator
    private var frequency: [Int64] = []
    private var entered: [Int64] = []
    /// Requests seen (hits and misses), libCacheSim's `n_req`.
    private var now: Int64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) { self.init(capacity: capacity, seed: 0x5EED_0002) }

    /// The same, drawing its samples from a generator seeded with `seed`.
    public init(capacity: Int, seed: UInt64) { rng = SeededGenerator(seed: seed) }

    public var metadataBytesPerObject: Int { SampledSlots.bytesPerSlot + 16 }

    public mutating func willMiss(key: UInt64, size: Int) { now += 1 }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        frequency.ensureIndex(slot, filler: 0)
        entered.ensureIndex(slot, filler: 0)
        frequency[Int(slot)] = 1
        entered[Int(slot)] = now
        pool.add(slot)
    }

    public mutating func access(_ slot: UInt32) {
        now += 1
        frequency[Int(slot)] += 1
    }

    public mutating func remove(_ slot: UInt32) { pool.remove(slot) }

    public mutating func evict() -> UInt32? {
        guard pool.count > 0 else { return nil }
        var best = noSlot
        var bestScore = 1.0e16
        for _ in 0..<Self.samples {
            let s = pool.draw(&rng)
            let age = Double(now - entered[Int(s)])
            let score = 1.0e8 * Double(frequency[Int(s)]) / age
            if bestScore > score {
                best = s
                bestScore = score
            }
        }
        // Every score is finite and below 1e16 unless an object entered at this very request.
        if best == noSlot { best = pool.draw(&rng) }
        pool.remove(best)
        return best
    }
}
