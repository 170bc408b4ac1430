/// 2Q (Johnson and Shasha, VLDB 1994) with libCacheSim's parameters: a FIFO queue (A1in)
/// that new objects enter, an LRU queue (Am) for objects seen again after they left A1in, and
/// a FIFO of ghosts (A1out) remembering the keys A1in dropped.
///
/// Parameters, named as libCacheSim names them: `Ain-size-ratio` 0.25 (A1in's share of the
/// capacity) and `Aout-size-ratio` 0.5 (the ghosts' total size, as a share of the capacity).
/// A hit in A1in changes nothing; a hit in Am moves the object to Am's head. A miss on an A1out
/// ghost enters Am; any other miss enters A1in. Eviction takes A1in's oldest object (which
/// becomes a ghost) while A1in holds more than its share, else Am's least recently used one.
/// Am keeps within the rest of the capacity: an object entering it first pushes out Am's
/// least recently used objects until it fits (``evictBeforeInsert()``).
public struct TwoQPolicy: PersistablePolicy, Sendable {
    /// "2q".
    public static let name = "2q"

    /// A1in's bytes (units) beyond which eviction takes from it.
    public let inTarget: Int
    /// The ghosts' total size.
    public let ghostTarget: Int
    /// Am's share: the capacity less A1in's.
    public let mainTarget: Int
    /// A1in (first) and Am (second).
    private var queues = QueuePair()
    private var ghosts = GhostList()

    public func prefetch(key: UInt64) { ghosts.prefetch(key) }
    /// Whether the miss being handled was on an A1out ghost: the object then enters Am.
    private var hitOnGhost = false
    private var pendingSize = 0

    /// A policy for `capacity` units, split as libCacheSim splits it (shares truncated).
    public init(capacity: Int) {
        inTarget = Int(Double(capacity) * 0.25)
        ghostTarget = Int(Double(capacity) * 0.5)
        mainTarget = capacity - inTarget
    }

    /// Links for two lists, queue flag, key and size per slot (ghosts cost extra, see ``GhostList``).
    public var metadataBytesPerObject: Int { QueuePair.bytesPerSlot }

    /// Whether a cached object is in Am (false: A1in).
    public func isInMain(_ slot: UInt32) -> Bool { queues.isInSecond(slot) }

    /// Whether `key` is remembered as an A1out ghost.
    public func isGhost(_ key: UInt64) -> Bool { ghosts.contains(key) }

    public mutating func willMiss(key: UInt64, size: Int) {
        hitOnGhost = ghosts.remove(key) != nil
        pendingSize = size
    }

    /// An object larger than A1in's share is not cached (libCacheSim's rule).
    public func canInsert(size: Int) -> Bool { size <= inTarget }

    public mutating func evictBeforeInsert() -> UInt32? {
        guard hitOnGhost, queues.secondBytes + pendingSize > mainTarget else { return nil }
        return queues.popSecond()
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        queues.insert(slot, key: key, size: size, intoSecond: hitOnGhost)
        hitOnGhost = false
    }

    public mutating func access(_ slot: UInt32) {
        if queues.isInSecond(slot) { queues.moveToHeadOfSecond(slot) }
    }

    public mutating func remove(_ slot: UInt32) { queues.remove(slot) }

    public mutating func evict() -> UInt32? {
        if queues.firstBytes > inTarget || queues.second.count == 0 {
            guard let victim = queues.popFirst() else { return nil }
            ghosts.admit(queues.key(victim), size: queues.size(victim), budget: ghostTarget)
            return victim
        }
        return queues.popSecond()
    }

    /// A1in oldest first, then Am least recently used first; the value is 1 for Am.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] { queues.persistentState() }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        queues.insert(slot, key: key, size: size, intoSecond: value & 1 != 0)
    }

    /// The A1out ghosts, oldest first.
    public func persistentExtras() -> PolicyExtras {
        PolicyExtras(ghosts: ghosts.fromOldest().map { ($0.key, $0.size, 0) })
    }

    public mutating func restoreExtras(_ extras: PolicyExtras) {
        for g in extras.ghosts where g.list == 0 { ghosts.admit(g.key, size: g.size, budget: ghostTarget) }
    }
}
