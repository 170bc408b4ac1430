#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// Cacheus (Rodriguez et al., FAST 2021), as libCacheSim runs it: two experts, a
/// scan-resistant LRU (SR-LRU) and a churn-resistant LFU (CR-LFU), hold the same objects; to
/// make room each proposes a victim and one is chosen at random by the experts' weights,
/// learned from misses on their ghost lists with a learning rate that adapts itself.
/// - SR-LRU: lists SR and R of half the capacity each, and a history H of the capacity. A
///   new object enters SR, one found in H enters R; a hit in SR moves the object to R, whose
///   overflow goes back to SR; SR's overflow leaves the cache (to H) without a ghost. Its
///   victim is SR's least recently used object (R's when SR is empty), and an object leaving
///   the cache is remembered in H.
/// - CR-LFU: frequency buckets; a new object starts at 1, or at the frequency it left with
///   plus 1 when H remembers it. Its victim is the object that joined the lowest bucket
///   *last*.
/// - The victim chosen leaves both experts, and when the experts disagreed its key enters
///   the chosen expert's ghost list (half the capacity each). A miss on a ghost multiplies
///   that expert's weight by e^−lr; the weights are normalized on every miss.
/// - Every capacity's worth of requests the learning rate moves by its last change, up or
///   down as the hit rate followed it.
///
/// libCacheSim's version differs from the paper in ways kept here, so that the counts are
/// its counts: the hit rate that steers the learning rate is an integer division (0 unless
/// every request of the interval hit); SR's and R's shares never adapt, since the flags that
/// would move them are read from objects just created, where they are always clear; an
/// eviction made for an object SR-LRU then refuses (larger than half the capacity) stands.
/// It draws from libCacheSim's generator (the first draw for the learning rate, then one per
/// eviction), so its choices are libCacheSim's. It keeps its own account of what is cached,
/// so it is a ``StandalonePolicy`` (no TTL).
public struct CacheusPolicy: StandalonePolicy, Sendable {
    /// "cacheus".
    public static let name = "cacheus"

    private let capacity: Int
    private let halfCapacity: Int
    private var rng = MMIXGenerator()
    private var requests = 0
    private var learningRate: Double
    private var previousLearningRate: Double = 0
    private var weightLRU = 0.5
    private var weightLFU = 0.5
    private var unlearnCount = 0
    private var hits = 0
    private var previousHitRate: Double = 0

    // SR-LRU: its two lists and its history.
    private var sr = KeyedLRU()
    private var r = KeyedLRU()
    private var history = KeyedLRU()
    // The experts' ghost lists.
    private var ghostLRU = KeyedLRU()
    private var ghostLFU = KeyedLRU()
    // CR-LFU.
    private var lfu = FrequencyBuckets()

    /// An empty cache of `capacity` units, its learning rate drawn as libCacheSim draws it.
    public init(capacity: Int) {
        self.capacity = capacity
        halfCapacity = capacity / 2
        learningRate = 0.001 + Double(rng.next() % 1000) / 1000
    }

    public var metadataBytesPerObject: Int { 2 * (8 + 8 + 2 + SlotList.bytesPerSlot + 16) + 40 }

    public mutating func prefetch(key: UInt64) {
        r.prefetch(key)
        sr.prefetch(key)
        lfu.prefetch(key)
    }

    public mutating func request(_ key: UInt64, size: Int) -> Bool {
        requests += 1
        let hit = findLRU(key)
        lfu.hit(key)
        if hit {
            hits += 1
        } else {
            learnFromGhosts(key)
            if size <= capacity {
                while sr.bytes + r.bytes + size > capacity, sr.count + r.count > 0 { evict() }
                insert(key, size: size)
            }
        }
        if capacity > 0 && requests % capacity == 0 { updateLearningRate() }
        return hit
    }

    // MARK: The experts together

    private mutating func learnFromGhosts(_ key: UInt64) {
        if ghostLRU.find(key) != nil {
            weightLRU *= exp(-learningRate)
        } else if ghostLFU.find(key) != nil {
            weightLFU *= exp(-learningRate)
        }
        weightLRU = weightLRU / (weightLRU + weightLFU)
        weightLFU = 1 - weightLRU
        ghostLRU.remove(key)
        ghostLFU.remove(key)
    }

    private mutating func evict() {
        let lruVictim = sr.bytes > 0 ? sr.tail : r.tail
        let lruKey = sr.bytes > 0 ? sr.keys[Int(lruVictim)] : r.keys[Int(lruVictim)]
        let lfuKey = lfu.victim
        let chooseLRU = Double(rng.next() % 100) / 100.0 < weightLRU
        if lruKey == lfuKey {
            evictLRU()
            evictLFU()
        } else if chooseLRU {
            let size = evictLRU()
            removeLFU(lruKey)
            Self.remember(lruKey, size: size, in: &ghostLRU, budget: halfCapacity)
        } else {
            let size = removeLRU(lfuKey)
            evictLFU()
            Self.remember(lfuKey, size: size, in: &ghostLFU, budget: halfCapacity)
        }
    }

    /// A ghost list's `get`: a key already there moves to the front; a new one enters if it
    /// fits, pushing out the oldest.
    private static func remember(_ key: UInt64, size: Int, in ghosts: inout KeyedLRU, budget: Int) {
        if let n = ghosts.find(key) {
            ghosts.moveToHead(n)
            return
        }
        guard size <= budget else { return }
        while ghosts.bytes + size > budget, ghosts.count > 0 { ghosts.removeTail() }
        ghosts.insert(key, size: size, isLIR: false, inCache: false)
    }

    private mutating func insert(_ key: UInt64, size: Int) {
        // SR-LRU's admission: a remembered object must fit R, a new one SR.
        guard size <= halfCapacity else { return }
        var frequency = 1
        if let h = history.find(key) { frequency = history.numbers[Int(h)] + 1 }
        lfu.insert(key, frequency: frequency)
        insertLRU(key, size: size)
    }

    private mutating func updateLearningRate() {
        let hitRate = Double(UInt64(truncatingIfNeeded: hits) / UInt64(capacity))
        let deltaHitRate = hitRate - previousHitRate
        let deltaRate = learningRate - previousLearningRate
        previousLearningRate = learningRate
        previousHitRate = hitRate
        if deltaRate != 0 {
            let sign: Double = deltaHitRate / deltaRate > 0 ? 1 : -1
            let moved = learningRate + sign * abs(learningRate * deltaRate)
            learningRate = moved > 0.001 ? moved : 0.0001
            unlearnCount = 0
        } else if hitRate == 0 || deltaHitRate <= 0 {
            unlearnCount += 1
        } else if unlearnCount >= 10 {
            unlearnCount = 0
            learningRate = 0.001 + Double(rng.next() % 1000) / 1000
        }
        hits = 0
    }

    // MARK: SR-LRU

    /// A lookup that counts as a request: a hit in SR moves the object to R.
    private mutating func findLRU(_ key: UInt64) -> Bool {
        if let n = r.find(key) {
            r.moveToHead(n)
            return true
        }
        guard let n = sr.find(key) else { return false }
        let size = sr.sizes[Int(n)]
        r.insert(key, size: size, isLIR: false, inCache: true)
        sr.remove(key)
        while r.bytes > halfCapacity { demoteFromR() }
        return true
    }

    /// R's least recently used object goes to the front of SR.
    private mutating func demoteFromR() {
        let t = r.tail
        sr.insert(r.keys[Int(t)], size: r.sizes[Int(t)], isLIR: false, inCache: true)
        r.removeTail()
    }

    private mutating func insertLRU(_ key: UInt64, size: Int) {
        if history.find(key) != nil {
            history.remove(key)
            while r.bytes + size > halfCapacity, r.count > 0 { demoteFromR() }
            r.insert(key, size: size, isLIR: false, inCache: true)
        } else {
            sr.insert(key, size: size, isLIR: false, inCache: true)
        }
        // SR's overflow leaves the cache, remembered in H, and CR-LFU forgets it.
        while sr.bytes > halfCapacity {
            let t = sr.tail
            let k = sr.keys[Int(t)]
            rememberInHistory(k, size: sr.sizes[Int(t)])
            removeLFU(k)
            sr.removeTail()
        }
        trimHistory()
    }

    /// SR-LRU's eviction: SR's oldest, or R's when SR is empty, remembered in H. Returns its size.
    @discardableResult
    private mutating func evictLRU() -> Int {
        let fromSR = sr.bytes > 0
        let t = fromSR ? sr.tail : r.tail
        let key = fromSR ? sr.keys[Int(t)] : r.keys[Int(t)]
        let size = fromSR ? sr.sizes[Int(t)] : r.sizes[Int(t)]
        rememberInHistory(key, size: size)
        if fromSR { sr.removeTail() } else { r.removeTail() }
        trimHistory()
        return size
    }

    /// SR-LRU's removal of `key`, remembered in H. Returns its size.
    private mutating func removeLRU(_ key: UInt64) -> Int {
        var size = 0
        if let n = r.find(key) {
            size = r.sizes[Int(n)]
            rememberInHistory(key, size: size)
            r.remove(key)
        } else if let n = sr.find(key) {
            size = sr.sizes[Int(n)]
            rememberInHistory(key, size: size)
            sr.remove(key)
        } else {
            return 0
        }
        trimHistory()
        return size
    }

    private mutating func rememberInHistory(_ key: UInt64, size: Int) {
        history.insert(key, size: size, isLIR: false, inCache: false)
    }

    /// H is kept below the capacity (libCacheSim trims while it holds at least as much).
    private mutating func trimHistory() {
        while history.bytes >= capacity, history.count > 0 { history.removeTail() }
    }

    // MARK: CR-LFU

    /// CR-LFU's eviction of its victim; its frequency is kept with its history entry.
    private mutating func evictLFU() {
        let key = lfu.victim
        let frequency = lfu.evictVictim()
        if let h = history.find(key) { history.numbers[Int(h)] = frequency }
    }

    private mutating func removeLFU(_ key: UInt64) {
        guard let frequency = lfu.remove(key) else { return }
        if let h = history.find(key) { history.numbers[Int(h)] = frequency }
    }
}

/// CR-LFU's frequency buckets, as libCacheSim keeps them: each bucket a list in order of
/// arrival, the lowest non-empty frequency tracked by scanning upward from the old lowest
/// when its bucket empties (−1 when nothing is left), buckets never freed.
struct FrequencyBuckets: Sendable {
    private struct Bucket: Sendable {
        var first = noSlot
        var last = noSlot
        var count = 0
    }

    private var map = KeySlotMap(capacity: 1 << 12)
    private var keys: [UInt64] = []
    private var frequencies: [Int] = []
    private var previous: [UInt32] = []
    private var next: [UInt32] = []
    private var freeNodes: [UInt32] = []
    /// Buckets of frequencies below `denseLimit` by index (index 0 unused), the rest by key:
    /// a lookup per hit, and a scan upward from the lowest, must not hash.
    private var dense = [Bucket](repeating: Bucket(), count: 64)
    private var sparse: [Int: Bucket] = [:]
    private static let denseLimit = 1 << 16
    private var minimum = 1
    private var maximum = 1

    /// The key of the object that joined the lowest bucket last.
    var victim: UInt64 {
        guard minimum >= 1 else { return 0 }
        let b = bucket(minimum)
        return b.last == noSlot ? 0 : keys[Int(b.last)]
    }

    /// Starts bringing `key`'s map entry into the processor's cache.
    func prefetch(_ key: UInt64) { map.prefetch(key) }

    @inline(__always)
    private func bucket(_ frequency: Int) -> Bucket {
        frequency < Self.denseLimit ? (frequency < dense.count ? dense[frequency] : Bucket()) : (sparse[frequency] ?? Bucket())
    }

    @inline(__always)
    private mutating func setBucket(_ frequency: Int, _ b: Bucket) {
        if frequency < Self.denseLimit {
            if frequency >= dense.count {
                dense.append(contentsOf: repeatElement(Bucket(), count: max(frequency + 1, 2 * dense.count) - dense.count))
            }
            dense[frequency] = b
        } else {
            sparse[frequency] = b
        }
    }

    mutating func insert(_ key: UInt64, frequency: Int) {
        let n: UInt32
        if let reused = freeNodes.popLast() {
            n = reused
        } else {
            n = UInt32(keys.count)
            keys.append(0); frequencies.append(0); previous.append(noSlot); next.append(noSlot)
        }
        keys[Int(n)] = key
        frequencies[Int(n)] = frequency
        map.set(key, n)
        if frequency == 1 { minimum = 1 }
        append(n, to: frequency)
        if maximum < frequency { maximum = frequency }
        if minimum > frequency || minimum == -1 { minimum = frequency }
    }

    /// A hit: the object moves to the end of the next bucket up.
    mutating func hit(_ key: UInt64) {
        let n = map.find(key)
        guard n != noSlot else { return }
        let old = frequencies[Int(n)]
        let new = old + 1
        frequencies[Int(n)] = new
        if maximum < new { maximum = new }
        unlink(n, from: old)
        append(n, to: new)
        if minimum == old && bucket(old).count == 0 { raiseMinimum() }
    }

    /// Evicts ``victim``; returns its frequency.
    mutating func evictVictim() -> Int {
        guard minimum >= 1 else { return 0 }
        var b = bucket(minimum)
        guard b.last != noSlot else { return 0 }
        let n = b.last
        let frequency = frequencies[Int(n)]
        b.count -= 1
        if previous[Int(n)] == noSlot {
            b.first = noSlot
            b.last = noSlot
            setBucket(minimum, b)
            let old = minimum
            raiseMinimum()
            if minimum == old { minimum = -1 }
        } else {
            b.last = previous[Int(n)]
            next[Int(b.last)] = noSlot
            setBucket(minimum, b)
        }
        free(n)
        return frequency
    }

    /// Removes `key`; returns its frequency, or nil when absent.
    mutating func remove(_ key: UInt64) -> Int? {
        let n = map.find(key)
        guard n != noSlot else { return nil }
        let frequency = frequencies[Int(n)]
        unlink(n, from: frequency)
        free(n)
        if minimum >= 1 && bucket(minimum).count == 0 { raiseMinimum() }
        return frequency
    }

    /// The lowest frequency above the current lowest with objects, up to the highest; the
    /// lowest stays where it is when there is none.
    private mutating func raiseMinimum() {
        guard minimum >= 0 else { return }
        var f = minimum + 1
        while f <= maximum {
            if bucket(f).count > 0 {
                minimum = f
                return
            }
            f += 1
        }
    }

    private mutating func append(_ n: UInt32, to frequency: Int) {
        var b = bucket(frequency)
        previous[Int(n)] = b.last
        next[Int(n)] = noSlot
        if b.last != noSlot { next[Int(b.last)] = n } else { b.first = n }
        b.last = n
        b.count += 1
        setBucket(frequency, b)
    }

    private mutating func unlink(_ n: UInt32, from frequency: Int) {
        var b = bucket(frequency)
        let p = previous[Int(n)], x = next[Int(n)]
        if p != noSlot { next[Int(p)] = x } else { b.first = x }
        if x != noSlot { previous[Int(x)] = p } else { b.last = p }
        b.count -= 1
        setBucket(frequency, b)
    }

    private mutating func free(_ n: UInt32) {
        _ = map.remove(keys[Int(n)])
        freeNodes.append(n)
    }
}
