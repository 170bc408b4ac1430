import LogCache

/// QD-LP, quick demotion and lazy promotion (Yang et al., 2023), as libCacheSim's QDLP with
/// its defaults `fifo-size-ratio=0.10,ghost-size-ratio=0.9,main-cache=Clock2,move-to-main-threshold=1`:
/// - a new object enters a probationary FIFO, unless its key is a ghost: then it goes
///   straight to the main cache, a Clock with 2-bit counters of 90% of the capacity;
/// - to make room, the FIFO's oldest object leaves (its key becoming a ghost, in a FIFO of
///   ghosts of 90% of the capacity) unless it was requested while in the FIFO, when it moves
///   to the main cache instead; only when the FIFO is empty does the main cache evict;
/// - the main cache makes room for what enters it by its own Clock;
/// - an object larger than the FIFO's share is not cached.
public struct QDLPPolicy: SimulatedPolicy, Sendable {
    /// "qd-lp".
    public static let name = "qd-lp"
    /// libCacheSim's `fifo-size-ratio`.
    public static let fifoSizeRatio = 0.10
    /// libCacheSim's `ghost-size-ratio`.
    public static let ghostSizeRatio = 0.9
    /// The main cache's Clock counts up to this (`Clock2`: a 2-bit counter).
    public static let maxClockCount: UInt8 = 3

    private let fifoSize: Int
    private let mainSize: Int
    private let ghostSize: Int
    private var fifo = SlotList()
    private var main = SlotList()
    private var fifoBytes = 0
    private var mainBytes = 0
    private var ghost = GhostList()
    private var inMain: [Bool] = []
    /// Hits while in the FIFO, or the Clock counter while in the main cache.
    private var count: [UInt8] = []
    private var sizes: [Int] = []
    private var keys: [UInt64] = []
    /// The missed object is a ghost: it will enter the main cache.
    private var ghostHit = false
    private var missSize = 0
    /// Victims the main cache made while an object moved into it.
    private var leaving: [UInt32] = []

    /// A FIFO of 10% of `capacity`, a main cache of the rest and ghosts for 90%.
    public init(capacity: Int) {
        // In libCacheSim's arithmetic: the products are truncated to integers.
        fifoSize = Int(Double(capacity) * Self.fifoSizeRatio)
        mainSize = capacity - fifoSize
        ghostSize = Int(Double(capacity) * Self.ghostSizeRatio)
    }

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot + 18 }

    public func prefetch(key: UInt64) { ghost.prefetch(key) }

    public mutating func willMiss(key: UInt64, size: Int) {
        ghostHit = ghost.remove(key) != nil
        missSize = size
    }

    public func canInsert(size: Int) -> Bool { size <= fifoSize }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        let s = Int(slot)
        inMain.ensureIndex(slot, filler: false)
        count.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        keys.ensureIndex(slot, filler: 0)
        sizes[s] = size
        keys[s] = key
        count[s] = 0
        if ghostHit {
            ghostHit = false
            inMain[s] = true
            main.pushHead(slot)
            mainBytes += size
        } else {
            inMain[s] = false
            fifo.pushHead(slot)
            fifoBytes += size
        }
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        if inMain[s] {
            if count[s] < Self.maxClockCount { count[s] += 1 }
        } else if count[s] < .max {
            count[s] += 1
        }
    }

    public mutating func remove(_ slot: UInt32) {
        if let i = leaving.firstIndex(of: slot) {
            leaving.remove(at: i)
            return
        }
        let s = Int(slot)
        if inMain[s] {
            main.remove(slot)
            mainBytes -= sizes[s]
        } else {
            fifo.remove(slot)
            fifoBytes -= sizes[s]
        }
    }

    public mutating func evict() -> UInt32? {
        while true {
            if let queued = leaving.popLast() { return queued }
            // By bytes, as libCacheSim asks: a FIFO of zero-size objects counts as empty.
            if fifoBytes == 0 { return evictMain() }
            guard let t = fifo.popTail() else { return nil }
            let s = Int(t)
            fifoBytes -= sizes[s]
            if count[s] >= 1 && sizes[s] <= mainSize {
                // Promoted: the main cache makes room for it as a cache of its own would.
                while mainBytes + sizes[s] > mainSize, let v = evictMain() { leaving.append(v) }
                count[s] = 0
                inMain[s] = true
                main.pushHead(t)
                mainBytes += sizes[s]
                continue
            }
            if count[s] == 0 && !ghost.contains(keys[s]) {
                ghost.admit(keys[s], size: sizes[s], budget: ghostSize)
            }
            return t
        }
    }

    /// A ghost entering the main cache: the main cache's own evictions, after those queued.
    public mutating func evictBeforeInsert() -> UInt32? {
        if let queued = leaving.popLast() { return queued }
        guard ghostHit, mainBytes + missSize > mainSize else { return nil }
        return evictMain()
    }

    /// The main cache's Clock: an object with a count goes back to the head with one less.
    private mutating func evictMain() -> UInt32? {
        while let t = main.popTail() {
            let s = Int(t)
            if count[s] >= 1 {
                count[s] -= 1
                main.pushHead(t)
                continue
            }
            mainBytes -= sizes[s]
            return t
        }
        return nil
    }
}
