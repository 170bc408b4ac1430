/// Clock with one reference bit: a hit sets the bit; eviction looks at the tail, and an object
/// with its bit set gets it cleared and goes back to the head instead of leaving.
public struct ClockPolicy: SimulatedPolicy, Sendable {
    /// "clock".
    public static let name = "clock"
    private var list = SlotList()
    private var referenced: [Bool] = []

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotList.bytesPerSlot + 1 }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        referenced.ensureIndex(slot, filler: false)
        referenced[Int(slot)] = false
        list.pushHead(slot)
    }

    public mutating func access(_ slot: UInt32) { referenced[Int(slot)] = true }
    public mutating func remove(_ slot: UInt32) { list.remove(slot) }

    public mutating func evict() -> UInt32? {
        while true {
            let t = list.tail
            if t == noSlot { return nil }
            if !referenced[Int(t)] {
                list.remove(t)
                return t
            }
            referenced[Int(t)] = false
            list.moveToHead(t)
        }
    }
}
