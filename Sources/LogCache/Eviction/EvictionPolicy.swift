/// A cache replacement policy: it decides which object leaves when room is needed.
///
/// A policy knows objects only by a slot (a small dense number its owner assigns and
/// reuses after the object leaves), a 64-bit key identity (for ghost lists and frequency
/// sketches, which remember objects no longer cached), sizes and accesses; nothing of files.
/// The same implementations serve the store's eviction and the `cachectl bench` trace
/// simulator, so the two always agree. The owner does the accounting: it asks for victims
/// with ``evict()`` until the new object fits its capacity, then calls ``insert(_:key:size:expiresAt:)``.
public protocol EvictionPolicy {
    /// The policy's name on the command line ("lru").
    static var name: String { get }

    /// An empty policy for a cache of `capacity` units (bytes, or objects when every size is 1).
    init(capacity: Int)

    /// An object entered the cache. `expiresAt` is in the owner's time unit, 0 for never.
    mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64)

    /// A cached object was requested (a hit).
    mutating func access(_ slot: UInt32)

    /// An object left the cache for a reason of its own (removed, replaced, expired).
    mutating func remove(_ slot: UInt32)

    /// Picks the next object to evict and forgets it; nil when the policy tracks nothing.
    mutating func evict() -> UInt32?

    /// Bytes of policy state per tracked object, for reports.
    var metadataBytesPerObject: Int { get }
}
