/// Soonest expiry first: entries with an expiry time leave in order of it (ties: insertion
/// order); entries without one (expiresAt 0) leave only after all of those, least recently
/// used first. Expiring entries do not move on a hit: their deadline, not their use, decides.
public struct TTLPolicy: PersistablePolicy, SimulatedPolicy, Sendable {
    /// "ttl".
    public static let name = "ttl"
    private var expiring = SlotHeap()
    private var forever = SlotList()
    private var sequence: UInt64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    /// Heap state and list links per slot (a slot is in one of the two, but both are allocated).
    public var metadataBytesPerObject: Int { SlotHeap.bytesPerSlot + SlotList.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        if expiresAt != 0 {
            sequence += 1
            expiring.push(slot, priority: expiresAt, order: sequence)
        } else {
            forever.pushHead(slot)
        }
    }

    public mutating func access(_ slot: UInt32) {
        if !expiring.contains(slot) { forever.moveToHead(slot) }
    }

    public mutating func remove(_ slot: UInt32) {
        if expiring.contains(slot) { expiring.remove(slot) } else { forever.remove(slot) }
    }

    public mutating func evict() -> UInt32? {
        if let s = expiring.popMinimum() { return s }
        return forever.popTail()
    }

    /// Expiring entries by deadline, then the others least recently used first.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        (expiring.sorted() + forever.fromTail()).map { ($0, 0) }
    }

    /// Re-inserting in saved order gives equal deadlines the saved tie order.
    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        insert(slot, key: key, size: size, expiresAt: expiresAt)
    }
}
