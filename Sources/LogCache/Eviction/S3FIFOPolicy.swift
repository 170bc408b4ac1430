/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO queue that filters one-hit wonders, a main
/// FIFO queue with reinsertion, and a ghost queue of keys recently dropped from the small one.
///
/// Parameters (those of the paper and of libCacheSim's defaults): the small queue is 10% of the
/// capacity; the ghost queue remembers keys up to the main queue's share (90% of the capacity,
/// which is "as many entries as the main queue" when every object has size 1); frequencies are
/// 2-bit counters (capped at 3). An object leaving the small queue moves to the main queue when
/// it was hit at least twice there (and starts over at frequency 0), otherwise it becomes a
/// ghost. A requested ghost is inserted straight into the main queue. The main queue's tail
/// leaves when its frequency is 0; otherwise it goes back to the head with the frequency minus one.
public struct S3FIFOPolicy: PersistablePolicy, Sendable {
    /// "s3-fifo".
    public static let name = "s3-fifo"
    /// Hits in the small queue that earn a place in the main queue.
    public static let moveToMainThreshold: UInt8 = 2

    private let smallTarget: Int
    private let ghostBudget: Int
    /// The small queue (first) and the main queue (second).
    private var queues = QueuePair()
    private var ghost = GhostList()
    private var frequency: [UInt8] = []
    /// Bytes (units) held by the small queue.
    public var smallBytes: Int { queues.firstBytes }
    /// Bytes (units) held by the main queue.
    public var mainBytes: Int { queues.secondBytes }

    /// A policy for `capacity` units, split 10% / 90%.
    public init(capacity: Int) {
        smallTarget = max(1, capacity / 10)
        ghostBudget = max(1, capacity - smallTarget)
    }

    /// Links, queue flag, frequency, key and size per slot.
    public var metadataBytesPerObject: Int { QueuePair.bytesPerSlot + 1 }

    /// Whether `key` is remembered as a ghost.
    public func isGhost(_ key: UInt64) -> Bool { ghost.contains(key) }

    /// Whether a cached object is in the small queue (false: the main queue).
    public func isInSmallQueue(_ slot: UInt32) -> Bool { !queues.isInSecond(slot) }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        frequency.ensureIndex(slot, filler: 0)
        frequency[Int(slot)] = 0
        // A requested ghost goes straight to the main queue.
        queues.insert(slot, key: key, size: size, intoSecond: ghost.remove(key) != nil)
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        if frequency[s] < 3 { frequency[s] += 1 }
    }

    public mutating func remove(_ slot: UInt32) { queues.remove(slot) }

    public mutating func evict() -> UInt32? {
        while true {
            if queues.first.count > 0 && (smallBytes >= smallTarget || queues.second.count == 0) {
                if let victim = evictSmall() { return victim }
                continue
            }
            if queues.second.count > 0 { return evictMain() }
            if queues.first.count == 0 { return nil }
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
                ghost.push(queues.key(t), size: queues.size(t))
                while ghost.bytes > ghostBudget, ghost.count > 1 { ghost.dropOldest() }
                return t
            }
        }
        return nil
    }

    /// The small queue oldest first, then the main queue; the value is the frequency, plus 4
    /// in the main queue.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        let f = { (s: UInt32) in UInt32(frequency[Int(s)]) }
        return queues.first.fromTail().map { ($0, f($0)) } + queues.second.fromTail().map { ($0, f($0) | 4) }
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
        for g in extras.ghosts where g.list == 0 {
            ghost.push(g.key, size: g.size)
            while ghost.bytes > ghostBudget, ghost.count > 1 { ghost.dropOldest() }
        }
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
