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

    /// Everything LeCaR keeps per cached object, in one place: a hit touches the links of
    /// both experts, and one cache line holds them all (kept in separate arrays they were ten
    /// lines, each a likely miss in tables of megabytes).
    private struct Node {
        var key: UInt64 = 0
        var size: Int = 0
        /// LRU links: toward the most recent end and toward the least recent one.
        var newer: UInt32 = noSlot
        var older: UInt32 = noSlot
        /// LFU: the frequency, its bucket, and the links within the bucket (in arrival order).
        var frequency: UInt32 = 0
        var bucket: UInt32 = noSlot
        var bucketPrevious: UInt32 = noSlot
        var bucketNext: UInt32 = noSlot
    }

    /// An LFU frequency bucket: its objects in arrival order, and its neighbours in ascending
    /// frequency (a pool; buckets are reused).
    private struct Bucket {
        var frequency: UInt32 = 0
        var head: UInt32 = noSlot
        var tail: UInt32 = noSlot
        var lower: UInt32 = noSlot
        var higher: UInt32 = noSlot
    }

    private let capacity: Int
    private let discount: Double
    private var nodes: [Node] = []
    private var mostRecent = noSlot
    private var leastRecent = noSlot
    private var buckets: [Bucket] = []
    private var freeBuckets: [UInt32] = []
    private var lowest = noSlot
    private var ghosts = ExpertGhosts()
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

    public var metadataBytesPerObject: Int { MemoryLayout<Node>.stride }

    public func prefetch(key: UInt64) { ghosts.prefetch(key) }

    /// The favoured expert's candidate.
    public var likelyVictim: UInt32 {
        if lruWeight >= 0.5 || lowest == noSlot { return leastRecent }
        return buckets[Int(lowest)].head
    }

    public mutating func willMiss(key: UInt64, size: Int) {
        now += 1
        guard let (expert, evictedAt) = ghosts.remove(key) else { return }
        if expert == 0 {
            Self.penalize(&lruWeight, other: &lfuWeight, after: now - evictedAt, discount: discount)
        } else {
            Self.penalize(&lfuWeight, other: &lruWeight, after: now - evictedAt, discount: discount)
        }
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        let s = Int(slot)
        if s >= nodes.count { nodes.append(contentsOf: repeatElement(Node(), count: s + 1 - nodes.count)) }
        nodes[s].key = key
        nodes[s].size = size
        pushMostRecent(slot)
        // LFU: frequency 1, at the end of the lowest bucket if that is 1's.
        let b = lowest != noSlot && buckets[Int(lowest)].frequency == 1 ? lowest : newBucket(1, above: noSlot)
        nodes[s].frequency = 1
        append(slot, to: b)
    }

    public mutating func access(_ slot: UInt32) {
        now += 1
        if slot != mostRecent {
            unlinkRecency(slot)
            pushMostRecent(slot)
        }
        // LFU: one bucket up, created when the next bucket is not f + 1's.
        let s = Int(slot)
        let f = nodes[s].frequency
        if f == .max { return }
        let b = nodes[s].bucket
        let n = buckets[Int(b)].higher
        let target = n == noSlot || buckets[Int(n)].frequency != f + 1 ? newBucket(f + 1, above: b) : n
        unlinkFrequency(slot)
        nodes[s].frequency = f + 1
        append(slot, to: target)
    }

    public mutating func remove(_ slot: UInt32) {
        unlinkRecency(slot)
        unlinkFrequency(slot)
    }

    public mutating func evict() -> UInt32? {
        let byRecency = leastRecent
        guard byRecency != noSlot, lowest != noSlot else { return nil }
        // LFU's candidate: the earliest arrival at the lowest frequency.
        let byFrequency = buckets[Int(lowest)].head
        let victim: UInt32
        if byRecency == byFrequency {
            victim = byRecency
        } else if Double(rng.next() % 100) / 100.0 < lruWeight {
            victim = byRecency
            ghosts.push(nodes[Int(victim)].key, size: nodes[Int(victim)].size, expert: 0, at: now, budget: capacity / 2)
        } else {
            victim = byFrequency
            ghosts.push(nodes[Int(victim)].key, size: nodes[Int(victim)].size, expert: 1, at: now, budget: capacity / 2)
        }
        remove(victim)
        return victim
    }

    // MARK: The LRU expert's list

    private mutating func pushMostRecent(_ slot: UInt32) {
        let s = Int(slot)
        nodes[s].newer = noSlot
        nodes[s].older = mostRecent
        if mostRecent != noSlot { nodes[Int(mostRecent)].newer = slot } else { leastRecent = slot }
        mostRecent = slot
    }

    private mutating func unlinkRecency(_ slot: UInt32) {
        let s = Int(slot)
        let p = nodes[s].newer, n = nodes[s].older
        if p != noSlot { nodes[Int(p)].older = n } else { mostRecent = n }
        if n != noSlot { nodes[Int(n)].newer = p } else { leastRecent = p }
    }

    // MARK: The LFU expert's buckets (as LFUPolicy keeps them)

    private mutating func newBucket(_ f: UInt32, above lower: UInt32) -> UInt32 {
        let b: UInt32
        if let reused = freeBuckets.popLast() {
            b = reused
        } else {
            b = UInt32(buckets.count)
            buckets.append(Bucket())
        }
        let higher = lower == noSlot ? lowest : buckets[Int(lower)].higher
        buckets[Int(b)] = Bucket(frequency: f, head: noSlot, tail: noSlot, lower: lower, higher: higher)
        if lower != noSlot { buckets[Int(lower)].higher = b } else { lowest = b }
        if higher != noSlot { buckets[Int(higher)].lower = b }
        return b
    }

    private mutating func append(_ slot: UInt32, to b: UInt32) {
        let s = Int(slot)
        let t = buckets[Int(b)].tail
        nodes[s].bucket = b
        nodes[s].bucketNext = noSlot
        nodes[s].bucketPrevious = t
        if t != noSlot { nodes[Int(t)].bucketNext = slot } else { buckets[Int(b)].head = slot }
        buckets[Int(b)].tail = slot
    }

    private mutating func unlinkFrequency(_ slot: UInt32) {
        let s = Int(slot)
        let b = Int(nodes[s].bucket)
        let p = nodes[s].bucketPrevious, n = nodes[s].bucketNext
        if p != noSlot { nodes[Int(p)].bucketNext = n } else { buckets[b].head = n }
        if n != noSlot { nodes[Int(n)].bucketPrevious = p } else { buckets[b].tail = p }
        if buckets[b].head == noSlot {
            let lower = buckets[b].lower, higher = buckets[b].higher
            if lower != noSlot { buckets[Int(lower)].higher = higher } else { lowest = higher }
            if higher != noSlot { buckets[Int(higher)].lower = lower }
            freeBuckets.append(UInt32(b))
        }
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

/// LeCaR's two ghost lists (keys an expert evicted, each list oldest-first within its own
/// budget) under one map, so that a miss finds whether its key is either expert's ghost, and
/// forgets it, in one lookup. A ghost's key, size, time and links share one node (one cache
/// line to touch, not six).
struct ExpertGhosts: Sendable {
    private struct Node {
        var key: UInt64 = 0
        var size: Int = 0
        var evictedAt: Int64 = 0
        /// Links toward the newer and the older end of its expert's list.
        var newer: UInt32 = noSlot
        var older: UInt32 = noSlot
        var expert: UInt8 = 0
    }

    /// One expert's list: its two ends and the units it holds.
    private struct List {
        var newest = noSlot
        var oldest = noSlot
        var bytes = 0
    }

    private var map = KeySlotMap(capacity: 1 << 12)
    private var nodes: [Node] = []
    /// Index 0 is the LRU expert's list, 1 the LFU expert's (inline: no copy-on-write check).
    private var lists = InlineArray<2, List>(repeating: List())
    private var freeNodes: [UInt32] = []

    /// Starts bringing `key`'s map entry into the processor's cache.
    func prefetch(_ key: UInt64) { map.prefetch(key) }

    /// Forgets `key`; returns the expert whose ghost it was (0 LRU, 1 LFU) and when it was
    /// evicted, or nil when it was no ghost.
    mutating func remove(_ key: UInt64) -> (expert: Int, evictedAt: Int64)? {
        let n = map.remove(key)
        if n == noSlot { return nil }
        let node = nodes[Int(n)]
        unlink(n)
        return (Int(node.expert), node.evictedAt)
    }

    /// Remembers `key` as `expert`'s newest ghost, then forgets that expert's oldest ones while
    /// its list holds more than `budget` units.
    mutating func push(_ key: UInt64, size: Int, expert: Int, at time: Int64, budget: Int) {
        let n: UInt32
        if let reused = freeNodes.popLast() {
            n = reused
        } else {
            n = UInt32(nodes.count)
            nodes.append(Node())
        }
        // A key is a ghost of at most one expert (an evicted object was cached, so its ghost
        // was forgotten at its miss); kept safe all the same.
        let old = map.find(key)
        if old != noSlot { unlink(old) }
        map.set(key, n)
        let first = lists[expert].newest
        nodes[Int(n)] = Node(key: key, size: size, evictedAt: time, newer: noSlot, older: first, expert: UInt8(expert))
        if first != noSlot { nodes[Int(first)].newer = n } else { lists[expert].oldest = n }
        lists[expert].newest = n
        lists[expert].bytes += size
        while lists[expert].bytes > budget, lists[expert].oldest != noSlot {
            let t = lists[expert].oldest
            map.remove(nodes[Int(t)].key)
            unlink(t)
        }
        // The next oldest is usually the next to go; its map entry is somewhere random in a
        // table larger than the processor's cache: start fetching it now.
        let t = lists[expert].oldest
        if t != noSlot { map.prefetch(nodes[Int(t)].key) }
    }

    private mutating func unlink(_ n: UInt32) {
        let node = nodes[Int(n)]
        let e = Int(node.expert)
        if node.newer != noSlot { nodes[Int(node.newer)].older = node.older } else { lists[e].newest = node.older }
        if node.older != noSlot { nodes[Int(node.older)].newer = node.newer } else { lists[e].oldest = node.newer }
        lists[e].bytes -= node.size
        freeNodes.append(n)
    }
}
