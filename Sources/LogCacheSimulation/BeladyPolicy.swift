import LogCache

/// Belady's offline optimum (MIN): evict the object whose next request is farthest away,
/// objects never requested again first (the earliest inserted of those first).
///
/// It needs the future, which only the simulator has (oracleGeneral traces carry each request's
/// next-access index), through ``SimulatedPolicy/willSeeNextAccess(_:)``.
public struct BeladyPolicy: SimulatedPolicy, Sendable {
    /// "belady".
    public static let name = "belady"
    /// Belady needs each request's next access.
    public static var needsNextAccess: Bool { true }

    private var heap = SlotHeap()
    private var pending = Int64.max
    private var sequence: UInt64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotHeap.bytesPerSlot }

    public mutating func willSeeNextAccess(_ vtime: Int64) {
        pending = vtime < 0 ? .max : vtime
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        sequence += 1
        // A min-heap on the negated distance yields the farthest next access first.
        heap.push(slot, priority: -pending, order: sequence)
        pending = .max
    }

    public mutating func access(_ slot: UInt32) {
        sequence += 1
        heap.update(slot, priority: -pending, order: sequence)
        pending = .max
    }

    public mutating func remove(_ slot: UInt32) { heap.remove(slot) }
    public mutating func evict() -> UInt32? { heap.popMinimum() }
}
