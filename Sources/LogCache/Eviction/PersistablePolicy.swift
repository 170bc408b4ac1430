/// A policy whose order survives a restart: the store saves ``persistentState()`` and, on
/// opening, feeds it back through ``restore(_:key:size:expiresAt:value:)``, so that an LRU
/// does not come back as a FIFO and LFU counts are not reset. What a policy remembers beyond
/// its cached objects (ghosts, ARC's target, W-TinyLFU's sketch) goes through
/// ``persistentExtras()`` and ``restoreExtras(_:)``.
///
/// A persistable policy is also a ``SimulatedPolicy``: the store tells it of each new key with
/// ``SimulatedPolicy/willMiss(key:size:)`` just before inserting it, as the simulator does.
public protocol PersistablePolicy: SimulatedPolicy {
    /// Every tracked object, from the first to be evicted to the last, each with one number of
    /// state (an LFU frequency; 0 where the order says everything).
    func persistentState() -> [(slot: UInt32, value: UInt32)]

    /// Re-enters one object of a saved state. Called on an empty policy, once per saved object,
    /// in the saved order; the result evicts in exactly the order the saved policy would have.
    mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32)

    /// The policy's state beyond its cached objects; empty for most.
    func persistentExtras() -> PolicyExtras

    /// Takes back what ``persistentExtras()`` saved, after every saved object was restored and
    /// before any other is inserted. The extras come from a file: a policy checks them and
    /// ignores what it cannot use rather than trusting them.
    mutating func restoreExtras(_ extras: PolicyExtras)
}

extension PersistablePolicy {
    /// No state beyond the objects' order.
    public func persistentExtras() -> PolicyExtras { PolicyExtras() }
    /// No state beyond the objects' order.
    public mutating func restoreExtras(_ extras: PolicyExtras) {}
}

/// What a policy keeps beyond its cached objects, in the `POLICY` file (docs/format.md).
public struct PolicyExtras: Sendable, Equatable {
    /// Keys remembered without being cached (ghosts), each list oldest first, with each one's
    /// size and which of the policy's ghost lists holds it.
    public var ghosts: [(key: UInt64, size: Int, list: UInt8)]
    /// Numbers of state in the policy's own layout (ARC's target, a sketch's counters).
    public var words: [UInt64]

    /// Whether two sets of extras hold the same words and the same ghosts, in the same order.
    public static func == (a: PolicyExtras, b: PolicyExtras) -> Bool {
        a.words == b.words
            && a.ghosts.elementsEqual(b.ghosts, by: { $0.key == $1.key && $0.size == $1.size && $0.list == $1.list })
    }

    /// Extras of `ghosts` and `words`; empty by default.
    public init(ghosts: [(key: UInt64, size: Int, list: UInt8)] = [], words: [UInt64] = []) {
        self.ghosts = ghosts
        self.words = words
    }
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

    /// Called after the owner has made room for the object ``SimulatedPolicy/willMiss(key:size:)`` announced
    /// and before it is inserted: a victim the policy wants gone besides (2Q keeps Am within
    /// its share), or nil. The owner calls it until it returns nil.
    mutating func evictBeforeInsert() -> UInt32?

    /// Called after ``EvictionPolicy/access(_:)``: a victim the hit made (W-TinyLFU's
    /// probation overflowing), or nil. The owner calls it until it returns nil.
    mutating func evictAfterAccess() -> UInt32?

    /// Whether a missed object of `size` units is cached at all (2Q, as libCacheSim's, takes
    /// none larger than A1in's share). The simulator asks after ``SimulatedPolicy/willMiss(key:size:)``; a
    /// store caches whatever is written.
    func canInsert(size: Int) -> Bool

    /// A request for `key` comes a few requests from now: a policy that will look the key up
    /// in ghost lists of its own can start bringing those entries into the processor's cache.
    func prefetch(key: UInt64)

    /// The slot the next ``EvictionPolicy/evict()`` will most likely name, or ``noSlot``: the
    /// simulator starts fetching that object's key and map entry ahead of the eviction.
    var likelyVictim: UInt32 { get }
}

extension SimulatedPolicy {
    /// Most policies do not adapt to ghost hits.
    public mutating func willMiss(key: UInt64, size: Int) {}
    /// Online policies ignore the future.
    public mutating func willSeeNextAccess(_ vtime: Int64) {}
    /// Online policies ignore the future.
    public static var needsNextAccess: Bool { false }
    /// Most policies evict only what the owner asks for.
    public mutating func evictBeforeInsert() -> UInt32? { nil }
    /// Most policies never evict on a hit.
    public mutating func evictAfterAccess() -> UInt32? { nil }
    /// Most policies cache anything that fits the capacity.
    public func canInsert(size: Int) -> Bool { true }
    /// Most policies keep nothing by key.
    @inline(__always)
    public func prefetch(key: UInt64) {}
    /// Most policies give no hint.
    public var likelyVictim: UInt32 { noSlot }
}
