/// Clock with one reference bit: a hit sets the bit; eviction looks at the tail, and an object
/// with its bit set gets it cleared and goes back to the head instead of leaving.
public struct ClockPolicy: PersistablePolicy, Sendable {
    /// "clock".
    public static let name = "clock"
    private var queue = MarkedQueue()

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { MarkedQueue.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { queue.insert(slot) }
    public mutating func access(_ slot: UInt32) { queue.mark(slot) }
    public mutating func remove(_ slot: UInt32) { queue.remove(slot) }

    public mutating func evict() -> UInt32? {
        while true {
            let t = queue.list.tail
            if t == noSlot { return nil }
            guard queue.clearMark(t) else {
                queue.remove(t)
                return t
            }
            queue.moveToHead(t)
        }
    }

    /// Tail first; the value is the reference bit.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] { queue.persistentState() }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        queue.restore(slot, marked: value & 1 != 0)
    }
}
