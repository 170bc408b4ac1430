/// Two queues that split a policy's cached objects, with each object's key and size and the
/// bytes each queue holds: ARC's T1 and T2, S3-FIFO's small and main queues. An object is in
/// exactly one of them; moving it keeps the byte counts right.
struct QueuePair: Sendable {
    /// The queue new objects enter (T1, the small queue).
    private(set) var first = SlotList()
    /// The queue promoted objects live in (T2, the main queue).
    private(set) var second = SlotList()
    /// Bytes (units) of the objects in ``first``.
    private(set) var firstBytes = 0
    /// Bytes (units) of the objects in ``second``.
    private(set) var secondBytes = 0
    private var inSecond: [Bool] = []
    private var keys: [UInt64] = []
    private var sizes: [Int] = []

    /// Links for two lists, the queue flag, the key and the size, per slot.
    static let bytesPerSlot = SlotList.bytesPerSlot * 2 + 1 + 8 + 8

    /// Takes in an object: its key and size, at the head of ``second`` when `intoSecond`,
    /// else of ``first``.
    mutating func insert(_ slot: UInt32, key: UInt64, size: Int, intoSecond: Bool) {
        inSecond.ensureIndex(slot, filler: false)
        keys.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        keys[Int(slot)] = key
        sizes[Int(slot)] = size
        if intoSecond { pushSecond(slot) } else { pushFirst(slot) }
    }

    /// Whether a cached object is in ``second``.
    func isInSecond(_ slot: UInt32) -> Bool { inSecond[Int(slot)] }
    /// The key an object was taken in with.
    func key(_ slot: UInt32) -> UInt64 { keys[Int(slot)] }
    /// The size an object was taken in with.
    func size(_ slot: UInt32) -> Int { sizes[Int(slot)] }

    /// Puts an object that is in neither queue at the head of ``first``.
    mutating func pushFirst(_ slot: UInt32) {
        inSecond[Int(slot)] = false
        first.pushHead(slot)
        firstBytes += sizes[Int(slot)]
    }

    /// Puts an object that is in neither queue at the head of ``second``.
    mutating func pushSecond(_ slot: UInt32) {
        inSecond[Int(slot)] = true
        second.pushHead(slot)
        secondBytes += sizes[Int(slot)]
    }

    /// Takes an object out of whichever queue holds it.
    mutating func remove(_ slot: UInt32) {
        if inSecond[Int(slot)] {
            second.remove(slot)
            secondBytes -= sizes[Int(slot)]
        } else {
            first.remove(slot)
            firstBytes -= sizes[Int(slot)]
        }
    }

    /// Moves an object to the head of ``second``, from ``first`` or from within ``second``.
    mutating func moveToHeadOfSecond(_ slot: UInt32) {
        if inSecond[Int(slot)] {
            second.moveToHead(slot)
        } else {
            remove(slot)
            pushSecond(slot)
        }
    }

    /// Every object, ``first`` from its tail, then ``second`` from its tail, each with 1 when
    /// in ``second``: inserting them in this order with `intoSecond` set by that value
    /// rebuilds both queues (``PersistablePolicy``).
    func persistentState() -> [(slot: UInt32, value: UInt32)] {
        first.fromTail().map { ($0, 0) } + second.fromTail().map { ($0, 1) }
    }

    /// Takes the tail of ``first`` out; nil when it is empty.
    mutating func popFirst() -> UInt32? {
        guard let t = first.popTail() else { return nil }
        firstBytes -= sizes[Int(t)]
        return t
    }

    /// Takes the tail of ``second`` out; nil when it is empty.
    mutating func popSecond() -> UInt32? {
        guard let t = second.popTail() else { return nil }
        secondBytes -= sizes[Int(t)]
        return t
    }
}
