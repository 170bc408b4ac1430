#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// The outcome of replaying a trace against one policy at one capacity.
public struct SimulationResult: Sendable, Equatable {
    /// The policy's command-line name.
    public var policy: String
    /// The capacity in bytes (objects when `countBased`).
    public var capacity: Int
    /// Whether sizes were ignored.
    public var countBased: Bool
    /// Request and miss counts after warm-up.
    public var counts: SimulationCounts
    /// Requests replayed (warm-up included) per second of time spent inside the simulator.
    public var requestsPerSecond: Double
    /// The policy's own state per cached object.
    public var metadataBytesPerObject: Int
}

/// One simulation in a batch replay, whatever its policy type; the work is done in a
/// specialized ``Simulator``, so only the call per block of requests is dynamic.
public protocol SimulationRun: AnyObject, Sendable {
    /// Replays a block of requests, timing it.
    func replay(_ requests: UnsafeBufferPointer<TraceRequest>, counted: Bool)
    /// The results so far.
    var result: SimulationResult { get }
}

/// The ``SimulationRun`` for policy `P`.
public final class PolicySimulationRun<P: SimulatedPolicy>: SimulationRun, @unchecked Sendable {
    // Unchecked: a run is only ever used by one thread at a time (the replay hands each run to
    // exactly one worker per block and waits for all of them).
    private var simulator: Simulator<P>
    private var seconds: Double = 0
    private var replayed = 0

    /// A run of `P` at `capacity`.
    public init(capacity: Int, countBased: Bool, ttl: Int64) {
        simulator = Simulator<P>(capacity: capacity, countBased: countBased, ttl: ttl)
    }

    /// A run of `policy`, made beforehand, at `capacity`.
    public init(policy: P, capacity: Int, countBased: Bool = false, ttl: Int64 = 0) {
        simulator = Simulator<P>(policy: policy, capacity: capacity, countBased: countBased, ttl: ttl)
    }

    public func replay(_ requests: UnsafeBufferPointer<TraceRequest>, counted: Bool) {
        let start = monotonicSeconds()
        simulator.process(requests, counted: counted)
        seconds += monotonicSeconds() - start
        replayed += requests.count
    }

    public var result: SimulationResult {
        SimulationResult(policy: P.name, capacity: simulator.capacity, countBased: simulator.countBased,
                         counts: simulator.counts,
                         requestsPerSecond: seconds > 0 ? Double(replayed) / seconds : 0,
                         metadataBytesPerObject: simulator.policy.metadataBytesPerObject)
    }
}

/// Seconds on the monotonic clock.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The policies the simulator knows, by command-line name.
public enum SimulatedPolicyKind: String, Sendable, CaseIterable {
    /// ``LRUPolicy``.
    case lru
    /// ``LFUPolicy``.
    case lfu
    /// ``FIFOPolicy``.
    case fifo
    /// ``TTLPolicy``.
    case ttl
    /// ``ClockPolicy``.
    case clock
    /// ``SIEVEPolicy``.
    case sieve
    /// ``S3FIFOPolicy``.
    case s3fifo = "s3-fifo"
    /// ``ARCPolicy``.
    case arc
    /// ``WTinyLFUPolicy``.
    case wtinylfu = "w-tinylfu"
    /// ``TwoQPolicy``.
    case twoQ = "2q"
    /// ``MRUPolicy``.
    case mru
    /// ``SLRUPolicy``.
    case slru
    /// ``LFUDAPolicy``.
    case lfuda
    /// ``GDSFPolicy``.
    case gdsf
    /// ``RandomPolicy``.
    case random
    /// ``HyperbolicPolicy``.
    case hyperbolic
    /// ``QDLPPolicy``.
    case qdlp = "qd-lp"
    /// ``LIRSPolicy``.
    case lirs
    /// ``LeCaRPolicy``.
    case lecar
    /// ``CARPolicy``.
    case car
    /// ``LHDPolicy``.
    case lhd
    /// ``ClockProPolicy``.
    case clockPro = "clock-pro"
    /// ``CacheusPolicy``.
    case cacheus
    /// ``BeladyPolicy``.
    case belady

    /// The kind named `text` (case-insensitive; "s3fifo", "wtinylfu", "tinylfu", "twoq", "qdlp",
    /// "clockpro", "opt" and "min" also work).
    public init?(name text: String) {
        let n = text.lowercased()
        let aliases: [String: SimulatedPolicyKind] = ["s3fifo": .s3fifo, "wtinylfu": .wtinylfu, "tinylfu": .wtinylfu,
                                                      "twoq": .twoQ, "qdlp": .qdlp, "clockpro": .clockPro, "opt": .belady, "min": .belady]
        if let k = Self(rawValue: n) ?? aliases[n] { self = k } else { return nil }
    }

    /// Whether the policy can run with a TTL: a ``StandalonePolicy`` keeps its own account of
    /// what is cached, with no expiry.
    public var supportsTTL: Bool { ![.lirs, .lhd, .clockPro, .cacheus].contains(self) }

    /// Whether the policy needs each request's next access (only oracleGeneral traces have it).
    public var needsNextAccess: Bool { self == .belady }

    /// A fresh simulation of this policy.
    public func makeRun(capacity: Int, countBased: Bool = false, ttl: Int64 = 0) -> any SimulationRun {
        switch self {
        case .lru: PolicySimulationRun<LRUPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .lfu: PolicySimulationRun<LFUPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .fifo: PolicySimulationRun<FIFOPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .ttl: PolicySimulationRun<TTLPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .clock: PolicySimulationRun<ClockPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .sieve: PolicySimulationRun<SIEVEPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .s3fifo: PolicySimulationRun<S3FIFOPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .arc: PolicySimulationRun<ARCPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .wtinylfu: PolicySimulationRun<WTinyLFUPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .twoQ: PolicySimulationRun<TwoQPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .mru: PolicySimulationRun<MRUPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .slru: PolicySimulationRun<SLRUPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .lfuda: PolicySimulationRun<LFUDAPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .gdsf: PolicySimulationRun<GDSFPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .random: PolicySimulationRun<RandomPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .hyperbolic: PolicySimulationRun<HyperbolicPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .qdlp: PolicySimulationRun<QDLPPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .lirs: StandaloneSimulationRun<LIRSPolicy>(capacity: capacity, countBased: countBased)
        case .lecar: PolicySimulationRun<LeCaRPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .car: PolicySimulationRun<CARPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        case .lhd: StandaloneSimulationRun<LHDPolicy>(capacity: capacity, countBased: countBased)
        case .clockPro: StandaloneSimulationRun<ClockProPolicy>(capacity: capacity, countBased: countBased)
        case .cacheus: StandaloneSimulationRun<CacheusPolicy>(capacity: capacity, countBased: countBased)
        case .belady: PolicySimulationRun<BeladyPolicy>(capacity: capacity, countBased: countBased, ttl: ttl)
        }
    }
}
