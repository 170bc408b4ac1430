/// A policy whose order survives a restart: the store saves ``persistentState()`` and, on
/// opening, feeds it back through ``restore(_:key:size:expiresAt:value:)``, so that an LRU
/// does not come back as a FIFO and LFU counts are not reset.
public protocol PersistablePolicy: EvictionPolicy {
    /// Every tracked object, from the first to be evicted to the last, each with one number of
    /// state (an LFU frequency; 0 where the order says everything).
    func persistentState() -> [(slot: UInt32, value: UInt32)]

    /// Re-enters one object of a saved state. Called on an empty policy, once per saved object,
    /// in the saved order; the result evicts in exactly the order the saved policy would have.
    mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32)
}

/// What the trace simulator can tell a policy beyond ``EvictionPolicy``: hooks the store has no
/// use for, kept out of the base protocol. Both have empty defaults.
public protocol SimulatedPolicy: EvictionPolicy {
    /// A request for `key` missed and `size` units will be inserted after the evictions that
    /// follow; adaptive policies (ARC) must know whether the key is a ghost before they choose victims.
    mutating func willMiss(key: UInt64, size: Int)

    /// The request handled by the next ``EvictionPolicy/insert(_:key:size:expiresAt:)`` or
    /// ``EvictionPolicy/access(_:)`` call will next recur at request `vtime` (-1: never).
    /// Called only when ``needsNextAccess`` is true.
    mutating func willSeeNextAccess(_ vtime: Int64)

    /// Whether the policy needs future knowledge (an offline policy such as Belady's).
    static var needsNextAccess: Bool { get }
}

extension SimulatedPolicy {
    /// Most policies do not adapt to ghost hits.
    public mutating func willMiss(key: UInt64, size: Int) {}
    /// Online policies ignore the future.
    public mutating func willSeeNextAccess(_ vtime: Int64) {}
    /// Online policies ignore the future.
    public static var needsNextAccess: Bool { false }
}
