import LogCache

/// Most recently used: the object requested or inserted last leaves first. Useful only on
/// looping scans larger than the cache, where it keeps a fixed part of the loop; as
/// libCacheSim's MRU (no parameters).
public struct MRUPolicy: SimulatedPolicy, Sendable {
    /// "mru".
    public static let name = "mru"
    private var list = SlotList()

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) { list.pushHead(slot) }
    public mutating func access(_ slot: UInt32) { list.moveToHead(slot) }
    public mutating func remove(_ slot: UInt32) { list.remove(slot) }

    public mutating func evict() -> UInt32? {
        let head = list.head
        guard head != noSlot else { return nil }
        list.remove(head)
        return head
    }
}
