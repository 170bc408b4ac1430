import LogCache

/// A policy that keeps its own account of what is cached, and so decides hits itself: LIRS,
/// whose stacks hold entries for objects no longer cached and whose libCacheSim version
/// counts its occupancy by rules of its own (objects may count as cached there that the
/// ordinary account would have released), needs this to give libCacheSim's counts exactly.
public protocol StandalonePolicy {
    /// The policy's name on the command line.
    static var name: String { get }

    /// An empty cache of `capacity` units (bytes, or objects when every size is 1).
    init(capacity: Int)

    /// Handles one request of `size` units for `key`: a hit, or a miss after which the
    /// object is cached if the policy takes it. Returns whether it was a hit.
    mutating func request(_ key: UInt64, size: Int) -> Bool

    /// Bytes of policy state per cached object, for reports.
    var metadataBytesPerObject: Int { get }

    /// A request for `key` comes a few requests from now: the policy can start bringing its
    /// lookup's memory into the processor's cache. Changes nothing (it is `mutating` only so
    /// that the call works on the policy in place, not on a copy).
    mutating func prefetch(key: UInt64)
}

extension StandalonePolicy {
    /// No prefetching unless the policy says how.
    public mutating func prefetch(key: UInt64) {}
}

/// The ``SimulationRun`` of a ``StandalonePolicy``, counting as ``Simulator`` does. Such a
/// policy has no expiry: `cachectl bench` refuses `--ttl` with it.
public final class StandaloneSimulationRun<P: StandalonePolicy>: SimulationRun, @unchecked Sendable {
    // Unchecked: as PolicySimulationRun, only ever used by one thread at a time.
    private var policy: P
    private let capacity: Int
    private let countBased: Bool
    private var counts = SimulationCounts()
    private var seconds: Double = 0
    private var replayed = 0

    /// A run of `P` at `capacity`.
    public init(capacity: Int, countBased: Bool) {
        self.capacity = capacity
        self.countBased = countBased
        policy = P(capacity: capacity)
    }

    public func replay(_ requests: UnsafeBufferPointer<TraceRequest>, counted: Bool) {
        let start = monotonicSeconds()
        // The lookups of the requests eight ahead are started before each one is handled, as
        // the Simulator does, so that their cache misses overlap.
        let ahead = 8
        for i in 0..<min(ahead, requests.count) { policy.prefetch(key: requests[i].id) }
        for (i, r) in requests.enumerated() {
            if i + ahead < requests.count { policy.prefetch(key: requests[i + ahead].id) }
            let size = countBased ? 1 : r.size
            let hit = policy.request(r.id, size: size)
            if counted {
                counts.requests += 1
                counts.requestBytes += size
                if !hit {
                    counts.misses += 1
                    counts.missBytes += size
                }
            }
        }
        seconds += monotonicSeconds() - start
        replayed += requests.count
    }

    public var result: SimulationResult {
        SimulationResult(policy: P.name, capacity: capacity, countBased: countBased, counts: counts,
                         requestsPerSecond: seconds > 0 ? Double(replayed) / seconds : 0,
                         metadataBytesPerObject: policy.metadataBytesPerObject)
    }
}
