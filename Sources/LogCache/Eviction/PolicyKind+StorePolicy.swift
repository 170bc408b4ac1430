extension PolicyKind {
    /// A new, empty instance of the policy for a store of `capacity` units.
    func makeStorePolicy(capacity: Int) -> any PersistablePolicy {
        switch self {
        case .lru: LRUPolicy(capacity: capacity)
        case .lfu: LFUPolicy(capacity: capacity)
        case .ttl: TTLPolicy(capacity: capacity)
        case .fifo: FIFOPolicy(capacity: capacity)
        case .clock: ClockPolicy(capacity: capacity)
        case .sieve: SIEVEPolicy(capacity: capacity)
        case .s3fifo: S3FIFOPolicy(capacity: capacity)
        case .wtinylfu: WTinyLFUPolicy(capacity: capacity)
        case .arc: ARCPolicy(capacity: capacity)
        case .twoQ: TwoQPolicy(capacity: capacity)
        }
    }

    /// Whether hits change the policy's order; when they do not (FIFO), reads skip the
    /// policy's lock altogether.
    var tracksHits: Bool { self != .fifo }
}
