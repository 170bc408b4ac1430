/// A queue of keys (with sizes) of objects no longer cached: the "ghosts" adaptive policies
/// use to notice that they evicted something too early.
///
/// Ghosts have no slot (the owner reuses slots at once), so they live in their own node pool,
/// found by key through a ``KeySlotMap``. The head is the newest ghost.
public struct GhostList: Sendable {
    private var map = KeySlotMap(capacity: 64)
    private var keys: [UInt64] = []
    private var sizes: [Int] = []
    private var links = SlotList()
    private var free: [UInt32] = []
    /// Total size of the remembered objects.
    public private(set) var bytes = 0

    /// An empty ghost list.
    public init() {}

    /// Ghosts remembered.
    public var count: Int { links.count }

    /// Bytes of state per ghost: key, size, links and its map entry (at half load).
    public static let bytesPerGhost = 8 + 8 + SlotList.bytesPerSlot + 32

    /// Starts bringing `key`'s entry into the processor's cache (see ``KeySlotMap/prefetch(_:)``).
    @inline(__always)
    public func prefetch(_ key: UInt64) { map.prefetch(key) }

    /// Whether `key` is remembered.
    public func contains(_ key: UInt64) -> Bool { map.find(key) != noSlot }

    /// Remembers `key` as the newest ghost (moving it there if it was already remembered).
    public mutating func push(_ key: UInt64, size: Int) {
        _ = remove(key)
        let node: UInt32
        if let f = free.popLast() {
            node = f
            keys[Int(node)] = key
            sizes[Int(node)] = size
        } else {
            node = UInt32(keys.count)
            keys.append(key)
            sizes.append(size)
        }
        links.pushHead(node)
        map.set(key, node)
        bytes += size
    }

    /// Forgets `key`; returns its size, or nil when it was not remembered.
    @discardableResult
    public mutating func remove(_ key: UInt64) -> Int? {
        let node = map.remove(key)
        if node == noSlot { return nil }
        links.remove(node)
        free.append(node)
        bytes -= sizes[Int(node)]
        return sizes[Int(node)]
    }

    /// Remembers `key` as a FIFO cache of `budget` units takes an object: the oldest ghosts go
    /// until it fits, and one larger than the whole budget is not kept (libCacheSim's ghost
    /// queues are such caches).
    public mutating func admit(_ key: UInt64, size: Int, budget: Int) {
        guard size <= budget else { return }
        while bytes + size > budget, dropOldest() != nil {}
        push(key, size: size)
    }

    /// Every ghost with its size, oldest first: the order ``push(_:size:)`` must see them in
    /// to rebuild the list.
    public func fromOldest() -> [(key: UInt64, size: Int)] {
        links.fromTail().map { (keys[Int($0)], sizes[Int($0)]) }
    }

    /// Forgets the oldest ghost; returns its key, or nil when there is none.
    @discardableResult
    public mutating func dropOldest() -> UInt64? {
        guard let node = links.popTail() else { return nil }
        let key = keys[Int(node)]
        map.remove(key)
        free.append(node)
        bytes -= sizes[Int(node)]
        // The next oldest is usually the next to go, and its map entry is somewhere random
        // in a table larger than the processor's cache: start fetching it now.
        if links.tail != noSlot { map.prefetch(keys[Int(links.tail)]) }
        return key
    }
}
