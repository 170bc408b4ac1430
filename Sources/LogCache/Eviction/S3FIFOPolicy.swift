/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO queue that filters one-hit wonders, a main
/// FIFO queue with reinsertion, and a ghost queue of keys recently dropped from the small one.
///
/// Parameters (those of the paper and of libCacheSim's defaults): the small queue is 10% of the
/// capacity; the ghost queue remembers keys up to 90% of the capacity (as many entries as the
/// main queue holds when every object has size 1); frequencies are 2-bit counters (capped at
/// 3). Eviction takes from the small queue unless the main queue holds more than its 90% or
/// the small queue is empty. An object leaving the small queue moves to the main queue when it
/// was hit at least twice there (and starts over at frequency 0), otherwise it becomes a ghost.
/// A requested ghost is inserted straight into the main queue. The main queue's tail leaves
/// when its frequency is 0; otherwise it goes back to the head with the frequency minus one.
/// As in libCacheSim, an object larger than the small queue is not cached (``canInsert(size:)``).
public struct S3FIFOPolicy: PersistablePolicy, Sendable {
    /// "s3-fifo".
    public static let name = "s3-fifo"
    /// Hits in the small queue that earn a place in the main queue.
    public static let moveToMainThreshold: UInt8 = 2

    private let smallTarget: Int
    /// The main queue's share: the capacity less the small queue's.
    private let mainTarget: Int
    private let ghostBudget: Int
    /// Whether the miss being handled was on a ghost: the object then enters the main queue.
    private var hitOnGhost = false
    /// The small queue (first) and the main queue (second).
    private var queues = QueuePair()
    private var ghost = GhostList()

    public func prefetch(key: UInt64) { ghost.prefetch(key) }
    private var frequency: [UInt8] = []
    /// Bytes (units) held by the small queue.
    public var smallBytes: Int { queues.firstBytes }
    /// Bytes (units) held by the main queue.
    public var mainBytes: Int { queues.secondBytes }

    /// A policy for `capacity` units, split 10% / 90%.
    public init(capacity: Int) {
        smallTarget = max(1, capacity / 10)
        mainTarget = capacity - smallTarget
        ghostBudget = max(1, Int(Double(capacity) * 0.9))
    }

    /// Links, queue flag, frequency, key and size per slot.
    public var metadataBytesPerObject: Int { QueuePair.bytesPerSlot + 1 }

    /// Whether `key` is remembered as a ghost.
    public func isGhost(_ key: UInt64) -> Bool { ghost.contains(key) }

    /// Whether a cached object is in the small queue (false: the main queue).
    public func isInSmallQueue(_ slot: UInt32) -> Bool { !queues.isInSecond(slot) }

    /// A missed key is forgotten as a ghost whether or not it is then cached.
    public mutating func willMiss(key: UInt64, size: Int) {
        hitOnGhost = ghost.remove(key) != nil
    }

    /// An object larger than the small queue is not cached (libCacheSim's rule).
    public func canInsert(size: Int) -> Bool { size <= smallTarget }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        frequency.ensureIndex(slot, filler: 0)
        frequency[Int(slot)] = 0
        // A requested ghost goes straight to the main queue.
        queues.insert(slot, key: key, size: size, intoSecond: hitOnGhost)
        hitOnGhost = false
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        if frequency[s] < 3 { frequency[s] += 1 }
    }

    public mutating func remove(_ slot: UInt32) { queues.remove(slot) }

    public mutating func evict() -> UInt32? {
        while true {
            if queues.second.count > 0 && (mainBytes > mainTarget || smallBytes == 0) { return evictMain() }
            if queues.first.count > 0 {
                if let victim = evictSmall() { return victim }
                continue
            }
            if queues.second.count > 0 { return evictMain() }
            return nil
        }
    }

    /// Drains the small queue's tail until one object leaves the cache (nil: all were promoted).
    private mutating func evictSmall() -> UInt32? {
        while let t = queues.popFirst() {
            let s = Int(t)
            if frequency[s] >= Self.moveToMainThreshold {
                frequency[s] = 0
                queues.pushSecond(t)
            } else {
                ghost.admit(queues.key(t), size: queues.size(t), budget: ghostBudget)
                return t
            }
        }
        return nil
    }

    /// The small queue oldest first, then the main queue; the value is the frequency, plus 4
    /// in the main queue.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        queues.persistentState().map { ($0.slot, UInt32(frequency[Int($0.slot)]) | $0.value << 2) }
    }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        frequency.ensureIndex(slot, filler: 0)
        frequency[Int(slot)] = UInt8(value & 3)
        queues.insert(slot, key: key, size: size, intoSecond: value & 4 != 0)
    }

    /// The ghosts, oldest first.
    public func persistentExtras() -> PolicyExtras {
        PolicyExtras(ghosts: ghost.fromOldest().map { ($0.key, $0.size, 0) })
    }

    public mutating func restoreExtras(_ extras: PolicyExtras) {
        for g in extras.ghosts where g.list == 0 { ghost.admit(g.key, size: g.size, budget: ghostBudget) }
    }

    private mutating func evictMain() -> UInt32? {
        // Popped and pushed back: reinsertion at the head with one less frequency.
        while let t = queues.popSecond() {
            let s = Int(t)
            guard frequency[s] > 0 else { return t }
            frequency[s] -= 1
            queues.pushSecond(t)
        }
        return nil
    }
}
