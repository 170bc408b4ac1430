import LogCache

/// The cached slots in a dense array, so that one can be drawn uniformly at random in O(1)
/// and any removed in O(1) (the last one takes its place): Hyperbolic's candidate pool.
struct SampledSlots: Sendable {
    private(set) var members: [UInt32] = []
    private var position: [UInt32] = []

    var count: Int { members.count }

    mutating func add(_ slot: UInt32) {
        position.ensureIndex(slot, filler: noSlot)
        position[Int(slot)] = UInt32(members.count)
        members.append(slot)
    }

    mutating func remove(_ slot: UInt32) {
        let i = Int(position[Int(slot)])
        guard i < members.count, members[i] == slot else { return }
        let last = members.removeLast()
        if last != slot {
            members[i] = last
            position[Int(last)] = UInt32(i)
        }
        position[Int(slot)] = noSlot
    }

    /// A member drawn uniformly; the pool must not be empty.
    func draw(_ rng: inout SeededGenerator) -> UInt32 {
        members[Int(rng.next() % UInt64(members.count))]
    }

    /// Bytes of state per slot.
    static let bytesPerSlot = 8
}
