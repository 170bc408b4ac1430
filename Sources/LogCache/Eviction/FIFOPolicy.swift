/// First in, first out: hits change nothing.
public struct FIFOPolicy: PersistablePolicy, SimulatedPolicy, Sendable {
    /// "fifo".
    public static let name = "fifo"
    private var list = SlotList()

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { list.pushHead(slot) }
    public mutating func access(_ slot: UInt32) {}
    public mutating func remove(_ slot: UInt32) { list.remove(slot) }
    public mutating func evict() -> UInt32? { list.popTail() }

    /// Oldest first; no state beyond the order.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] { list.fromTail().map { ($0, 0) } }

    /// Re-inserting in saved order rebuilds the queue.
    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        list.pushHead(slot)
    }
}
