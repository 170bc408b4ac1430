/// A FIFO queue of slots with one mark bit per slot: the structure of Clock (the reference
/// bit) and SIEVE (the visited bit). New slots enter at the head unmarked; a hit marks them.
struct MarkedQueue: Sendable {
    private(set) var list = SlotList()
    private var marks: [Bool] = []

    /// Bytes of state per slot: the links and the mark.
    static let bytesPerSlot = SlotList.bytesPerSlot + 1

    /// Adds `slot` at the head, unmarked.
    mutating func insert(_ slot: UInt32) {
        marks.ensureIndex(slot, filler: false)
        marks[Int(slot)] = false
        list.pushHead(slot)
    }

    /// Marks `slot`, which is in the queue.
    mutating func mark(_ slot: UInt32) { marks[Int(slot)] = true }

    /// Whether `slot` is marked.
    func isMarked(_ slot: UInt32) -> Bool { marks[Int(slot)] }

    /// Whether `slot` is marked; if so the mark is cleared (the slot gets its second chance).
    mutating func clearMark(_ slot: UInt32) -> Bool {
        guard marks[Int(slot)] else { return false }
        marks[Int(slot)] = false
        return true
    }

    mutating func remove(_ slot: UInt32) { list.remove(slot) }

    /// The slots from tail to head, each with 1 when marked: the order and state
    /// ``restore(_:marked:)`` rebuilds the queue from.
    func persistentState() -> [(slot: UInt32, value: UInt32)] {
        list.fromTail().map { ($0, marks[Int($0)] ? 1 : 0) }
    }

    /// Re-enters a saved slot at the head, marked or not.
    mutating func restore(_ slot: UInt32, marked: Bool) {
        insert(slot)
        marks[Int(slot)] = marked
    }
    mutating func moveToHead(_ slot: UInt32) { list.moveToHead(slot) }
}
