/// SIEVE (Zhang et al., NSDI 2024): a FIFO queue and a hand. New objects enter at the head
/// unvisited and a hit marks them visited. The hand moves from the tail toward the head
/// (wrapping to the tail), clearing visited marks, and evicts the first unvisited object;
/// it then rests on that object's neighbour toward the head. Survivors never move.
public struct SIEVEPolicy: PersistablePolicy, Sendable {
    /// "sieve".
    public static let name = "sieve"
    private var queue = MarkedQueue()
    /// Where the next eviction starts looking; ``noSlot`` means the tail.
    public private(set) var hand: UInt32 = noSlot

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { MarkedQueue.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { queue.insert(slot) }
    public mutating func access(_ slot: UInt32) { queue.mark(slot) }

    public mutating func remove(_ slot: UInt32) {
        if slot == hand { hand = queue.list.towardHead(slot) }
        queue.remove(slot)
    }

    public mutating func evict() -> UInt32? {
        var s = hand == noSlot ? queue.list.tail : hand
        if s == noSlot { return nil }
        while queue.clearMark(s) {
            s = queue.list.towardHead(s)
            if s == noSlot { s = queue.list.tail }
        }
        hand = queue.list.towardHead(s)
        queue.remove(s)
        return s
    }

    /// Tail first; the value is the visited bit, plus 2 on the object the hand rests on.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        queue.persistentState().map { ($0.slot, $0.value | ($0.slot == hand ? 2 : 0)) }
    }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        queue.restore(slot, marked: value & 1 != 0)
        if value & 2 != 0 { hand = slot }
    }
}
