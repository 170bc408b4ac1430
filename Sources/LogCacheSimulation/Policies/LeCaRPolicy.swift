#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// LeCaR, learning cache replacement (Vietri et al., HotStorage 2018), as libCacheSim's with
/// its defaults (`update-weight=1,lru-weight=0.5`, learning rate 0.45, discount rate
/// 0.005^(1/capacity)):
/// - two experts propose a victim: LRU's least recent object and LFU's least frequent one
///   (the oldest of the lowest frequency); when they agree that one leaves;
/// - otherwise one is chosen at random with the experts' weights, and the victim's key goes
///   to that expert's ghost list (each at most half the capacity, oldest forgotten first);
/// - a miss on a ghost means its expert was wrong: its weight shrinks by
///   exp(−0.45 × d^t), t being the requests since the eviction, and both are normalized.
///
/// The experts are chosen with libCacheSim's own generator (``MMIXGenerator``), drawn once
/// per eviction where the experts disagree, as libCacheSim draws: from the same state the
/// choices, and so the counts, are the same.
public struct LeCaRPolicy: SimulatedPolicy, Sendable {
    /// "lecar".
    public static let name = "lecar"
    /// libCacheSim's learning rate.
    public static let learningRate = 0.45

    private let capacity: Int
    private let discount: Double
    private var lru = SlotList()
    private var lfu = LFUPolicy(capacity: 0)
    private var keys: [UInt64] = []
    private var sizes: [Int] = []
    private var ghostLRU = KeyedLRU()
    private var ghostLFU = KeyedLRU()
    private var evictedAtLRU: [Int64] = []
    private var evictedAtLFU: [Int64] = []
    /// The experts' weights; they sum to 1.
    public private(set) var lruWeight = 0.5
    public private(set) var lfuWeight = 0.5
    private var rng: MMIXGenerator
    /// Requests seen (libCacheSim's `n_req`).
    private var now: Int64 = 0

    /// LeCaR for `capacity` units.
    public init(capacity: Int) { self.init(capacity: capacity, seed: 0) }

    /// The same, its generator starting from state `seed` (libCacheSim's starts from 0).
    public init(capacity: Int, seed: UInt64) {
        self.capacity = capacity
        discount = pow(0.005, 1.0 / Double(max(1, capacity)))
        rng = MMIXGenerator(state: seed)
    }

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot + lfu.metadataBytesPerObject + 16 }

    public func prefetch(key: UInt64) {
        ghostLRU.prefetch(key)
        ghostLFU.prefetch(key)
    }

    public mutating func willMiss(key: UInt64, size: Int) {
        now += 1
        if let n = ghostLRU.find(key) {
            Self.penalize(&lruWeight, other: &lfuWeight, after: now - evictedAtLRU[Int(n)], discount: discount)
            ghostLRU.remove(key)
        } else if let n = ghostLFU.find(key) {
            Self.penalize(&lfuWeight, other: &lruWeight, after: now - evictedAtLFU[Int(n)], discount: discount)
            ghostLFU.remove(key)
        }
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        keys.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        keys[Int(slot)] = key
        sizes[Int(slot)] = size
        lru.pushHead(slot)
        lfu.insert(slot, key: key, size: size, expiresAt: expiresAt)
    }

    public mutating func access(_ slot: UInt32) {
        now += 1
        lru.moveToHead(slot)
        lfu.access(slot)
    }

    public mutating func remove(_ slot: UInt32) {
        lru.remove(slot)
        lfu.remove(slot)
    }

    public mutating func evict() -> UInt32? {
        let byRecency = lru.tail
        guard byRecency != noSlot, let byFrequency = lfu.candidate else { return nil }
        let victim: UInt32
        if byRecency == byFrequency {
            victim = byRecency
        } else if Double(rng.next() % 100) / 100.0 < lruWeight {
            victim = byRecency
            let n = ghostLRU.insert(keys[Int(victim)], size: sizes[Int(victim)], isLIR: false, inCache: false)
            evictedAtLRU.ensureIndex(n, filler: 0)
            evictedAtLRU[Int(n)] = now
            Self.trim(&ghostLRU, to: capacity / 2)
        } else {
            victim = byFrequency
            let n = ghostLFU.insert(keys[Int(victim)], size: sizes[Int(victim)], isLIR: false, inCache: false)
            evictedAtLFU.ensureIndex(n, filler: 0)
            evictedAtLFU[Int(n)] = now
            Self.trim(&ghostLFU, to: capacity / 2)
        }
        lru.remove(victim)
        lfu.remove(victim)
        return victim
    }

    /// Forgets the oldest ghosts while the list holds more than `budget` units.
    private static func trim(_ ghosts: inout KeyedLRU, to budget: Int) {
        while ghosts.bytes > budget, ghosts.count > 0 { ghosts.removeTail() }
    }

    /// libCacheSim's update: the wrong expert's weight times exp(−rate × d^t), both then
    /// normalized (with its small constants, which keep a weight from reaching 0).
    private static func penalize(_ wrong: inout Double, other: inout Double, after t: Int64, discount: Double) {
        let r = pow(discount, Double(t))
        wrong = wrong * exp(-learningRate * r) + 1e-10
        let s = wrong + other + 2e-10
        wrong /= s
        other = (other + 1e-10) / s
    }
}
