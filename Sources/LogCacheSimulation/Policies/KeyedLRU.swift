import LogCache

/// An LRU list of entries found by key, each with a size and two flags, as the LRU caches
/// libCacheSim's composite policies are built from (LIRS's stacks S and Q and its list of
/// non-resident entries). Its entries are its own nodes, not the simulator's slots: a stack
/// remembers objects that are no longer cached.
struct KeyedLRU: Sendable {
    private var map = KeySlotMap(capacity: 1 << 12)
    private(set) var keys: [UInt64] = []
    private(set) var sizes: [Int] = []
    /// LIRS: a LIR entry (else HIR).
    var isLIR: [Bool] = []
    /// LIRS: the object is cached (else only remembered).
    var inCache: [Bool] = []
    /// A number kept with the entry for the owner's use, 0 when inserted (Cacheus: the
    /// frequency an object had when it left, kept with its history entry).
    var numbers: [Int] = []
    private var list = SlotList()
    private var freeNodes: [UInt32] = []
    private var nodeCount: UInt32 = 0
    /// Sum of the entries' sizes.
    private(set) var bytes = 0

    var count: Int { list.count }
    var head: UInt32 { list.head }
    var tail: UInt32 { list.tail }

    /// Starts bringing `key`'s map entry into the processor's cache.
    @inline(__always)
    func prefetch(_ key: UInt64) { map.prefetch(key) }

    /// The node of `key`, or nil.
    @inline(__always)
    func find(_ key: UInt64) -> UInt32? {
        let n = map.find(key)
        return n == noSlot ? nil : n
    }

    /// Adds `key` at the head (most recent) and returns its node.
    @discardableResult
    mutating func insert(_ key: UInt64, size: Int, isLIR lir: Bool, inCache cached: Bool) -> UInt32 {
        let n: UInt32
        if let reused = freeNodes.popLast() {
            n = reused
        } else {
            n = nodeCount
            nodeCount += 1
            keys.ensureIndex(n, filler: 0)
            sizes.ensureIndex(n, filler: 0)
            isLIR.ensureIndex(n, filler: false)
            inCache.ensureIndex(n, filler: false)
            numbers.ensureIndex(n, filler: 0)
        }
        keys[Int(n)] = key
        sizes[Int(n)] = size
        isLIR[Int(n)] = lir
        inCache[Int(n)] = cached
        numbers[Int(n)] = 0
        map.set(key, n)
        list.pushHead(n)
        bytes += size
        return n
    }

    mutating func moveToHead(_ n: UInt32) { list.moveToHead(n) }

    /// Removes the entry of `key`; whether there was one.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Bool {
        guard let n = find(key) else { return false }
        unlink(n)
        return true
    }

    /// Removes the least recent entry.
    mutating func removeTail() {
        if list.tail != noSlot { unlink(list.tail) }
    }

    private mutating func unlink(_ n: UInt32) {
        list.remove(n)
        if map.find(keys[Int(n)]) == n { _ = map.remove(keys[Int(n)]) }
        bytes -= sizes[Int(n)]
        freeNodes.append(n)
    }
}
