/// Least recently used: a set or a hit moves the object to the head; the tail leaves.
public struct LRUPolicy: PersistablePolicy, SimulatedPolicy, Sendable {
    /// "lru".
    public static let name = "lru"
    private var list = SlotList()

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { list.pushHead(slot) }
    public mutating func access(_ slot: UInt32) { list.moveToHead(slot) }
    public mutating func remove(_ slot: UInt32) { list.remove(slot) }
    public mutating func evict() -> UInt32? { list.popTail() }

    /// Least recently used first; no state beyond the order.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] { list.fromTail().map { ($0, 0) } }

    /// Re-inserting in saved order puts the last saved (most recently used) at the head.
    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        list.pushHead(slot)
    }
}
