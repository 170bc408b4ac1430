extension PolicyKind {
    /// A new, empty instance of the policy for a store of `capacity` bytes.
    func makeStorePolicy(capacity: Int) -> any PersistablePolicy {
        switch self {
        case .lru: LRUPolicy(capacity: capacity)
        case .lfu: LFUPolicy(capacity: capacity)
        case .ttl: TTLPolicy(capacity: capacity)
        case .fifo: FIFOPolicy(capacity: capacity)
        }
    }

    /// Whether hits change the policy's order; when they do not (FIFO), reads skip the
    /// policy's lock altogether.
    var tracksHits: Bool { self != .fifo }
}
