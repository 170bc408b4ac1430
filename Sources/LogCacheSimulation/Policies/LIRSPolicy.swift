import LogCache

/// LIRS, low inter-reference recency set (Jiang and Zhang, 2002), as libCacheSim's LIRS with
/// `hirs-ratio=0.01`:
/// - objects are LIR (re-referenced soon after their last reference) or HIR; the LIR objects
///   fill 99% of the capacity, the resident HIR objects, in the queue Q, the last 1%;
/// - the stack S orders recent entries, LIR, resident HIR and non-resident HIR (remembered
///   only); a HIR object requested while in S becomes LIR, and S's least recent LIR object
///   becomes HIR in Q in its place; S's bottom is kept a LIR entry ("pruning");
/// - Q's oldest object leaves the cache when room is needed (and stays in S as non-resident);
/// - S is kept within twice the capacity by forgetting the oldest non-resident entries.
///
/// libCacheSim's version keeps its own occupancy count, which some sequences of hits leave
/// different from the bytes of the objects it treats as cached; so that the counts are the
/// same, this follows it step by step, its bounds included, as a ``StandalonePolicy``.
public struct LIRSPolicy: StandalonePolicy, Sendable {
    /// "lirs".
    public static let name = "lirs"
    /// libCacheSim's `hirs-ratio`.
    public static let hirsRatio = 0.01

    private let capacity: Int
    private let hirsLimit: Int
    private let lirsLimit: Int
    private var s = KeyedLRU()
    private var q = KeyedLRU()
    private var nonResident = KeyedLRU()
    private var lirsBytes = 0
    private var hirsBytes = 0
    private var nonResidentBytes = 0
    private var occupied = 0

    /// LIR and HIR shares of `capacity` in libCacheSim's arithmetic (HIR at least 1).
    public init(capacity: Int) {
        self.capacity = capacity
        hirsLimit = max(1, Int(Self.hirsRatio * Double(capacity)))
        lirsLimit = capacity - hirsLimit
    }

    public var metadataBytesPerObject: Int { 2 * (8 + 8 + 2 + SlotList.bytesPerSlot + 16) }

    public mutating func request(_ key: UInt64, size: Int) -> Bool {
        let hit = find(key)
        if !hit && canInsert(key, size: size) {
            while occupied + size > capacity {
                let before = (occupied, lirsBytes, hirsBytes)
                evict(key, size: size)
                // libCacheSim would loop for ever on a step that frees nothing.
                if (occupied, lirsBytes, hirsBytes) == before { break }
            }
            insert(key, size: size)
        }
        limitStack()
        return hit
    }

    private mutating func find(_ key: UInt64) -> Bool {
        let sn = s.find(key)
        if let sn { s.moveToHead(sn) }
        let qn = q.find(key)
        if let qn { q.moveToHead(qn) }
        if let sn {
            if s.isLIR[Int(sn)] {
                prune()
                return true
            }
            guard s.inCache[Int(sn)] else { return false }
            // A resident HIR object in S: it becomes LIR.
            if let qn {
                let qSize = q.sizes[Int(qn)]
                hirsBytes -= qSize
                q.remove(key)
                occupied -= qSize
            }
            let size = s.sizes[Int(sn)]
            while lirsBytes + size > lirsLimit, s.count > 0 { evictLIR() }
            if let again = s.find(key) { s.isLIR[Int(again)] = true }
            lirsBytes += size
            occupied += size
            return true
        }
        if let qn {
            // A resident HIR object no longer in S: it enters S again, still HIR.
            let size = q.sizes[Int(qn)]
            while lirsBytes + size > lirsLimit, s.count > 0 { evictLIR() }
            s.insert(key, size: size, isLIR: false, inCache: true)
            return true
        }
        return false
    }

    private mutating func canInsert(_ key: UInt64, size: Int) -> Bool {
        guard size <= capacity else { return false }
        if let sn = s.find(key) {
            guard !s.isLIR[Int(sn)] && !s.inCache[Int(sn)] else { return false }
            let stored = s.sizes[Int(sn)]
            while lirsBytes + stored > lirsLimit, s.count > 0 { evictLIR() }
            if nonResident.remove(key) { nonResidentBytes -= stored }
            return true
        }
        guard q.find(key) == nil else { return false }
        if size > lirsLimit || size > hirsLimit { return false }
        if lirsBytes + size > lirsLimit && hirsBytes + size > hirsLimit {
            while hirsBytes + size > hirsLimit, q.count > 0 { evictHIR() }
        }
        return true
    }

    private mutating func evict(_ key: UInt64, size: Int) {
        if let sn = s.find(key) {
            if !s.isLIR[Int(sn)] && !s.inCache[Int(sn)] {
                while hirsBytes >= hirsLimit, q.count > 0 { evictHIR() }
                evictLIR()
            }
            return
        }
        if q.find(key) == nil, lirsBytes + size > lirsLimit, hirsBytes + size > hirsLimit {
            evictHIR()
        }
    }

    private mutating func insert(_ key: UInt64, size: Int) {
        if let sn = s.find(key) {
            if !s.isLIR[Int(sn)] && !s.inCache[Int(sn)] {
                s.isLIR[Int(sn)] = true
                s.inCache[Int(sn)] = true
                lirsBytes += s.sizes[Int(sn)]
                occupied += s.sizes[Int(sn)]
            }
            return
        }
        guard q.find(key) == nil else { return }
        if lirsBytes + size <= lirsLimit {
            s.insert(key, size: size, isLIR: true, inCache: true)
            lirsBytes += size
        } else {
            s.insert(key, size: size, isLIR: false, inCache: true)
            q.insert(key, size: size, isLIR: false, inCache: true)
            hirsBytes += size
        }
        occupied += size
    }

    /// S's least recent entry (LIR, S being pruned) leaves S and becomes a resident HIR
    /// object in Q, or leaves the cache when it is larger than Q's share.
    private mutating func evictLIR() {
        let t = s.tail
        guard t != noSlot else { return }
        let key = s.keys[Int(t)], size = s.sizes[Int(t)]
        lirsBytes -= size
        s.removeTail()
        occupied -= size
        if size <= hirsLimit {
            while hirsBytes + size > hirsLimit, q.count > 0 { evictHIR() }
            q.insert(key, size: size, isLIR: false, inCache: true)
            hirsBytes += size
            occupied += size
        }
        prune()
    }

    /// Q's oldest object leaves the cache; if it is in S it stays there, non-resident.
    private mutating func evictHIR() {
        let t = q.tail
        guard t != noSlot else { return }
        let key = q.keys[Int(t)], size = q.sizes[Int(t)]
        hirsBytes -= size
        q.removeTail()
        if let sn = s.find(key) {
            s.inCache[Int(sn)] = false
            nonResident.insert(key, size: size, isLIR: false, inCache: false)
            nonResidentBytes += s.sizes[Int(sn)]
        }
        occupied -= size
    }

    /// Removes HIR entries from S's bottom until a LIR one is there (never the top entry).
    private mutating func prune() {
        var t = s.tail
        while t != s.head {
            if s.isLIR[Int(t)] { break }
            let key = s.keys[Int(t)]
            if !s.inCache[Int(t)], nonResident.remove(key) { nonResidentBytes -= s.sizes[Int(t)] }
            s.removeTail()
            t = s.tail
        }
    }

    /// Keeps S within twice the capacity by forgetting the oldest non-resident entries.
    private mutating func limitStack() {
        while s.bytes > 2 * capacity {
            let t = nonResident.tail
            guard t != noSlot else { break }
            nonResidentBytes -= nonResident.sizes[Int(t)]
            s.remove(nonResident.keys[Int(t)])
            nonResident.removeTail()
        }
    }
}
