import CLogCacheSupport
import LogCache

/// Replays requests against one policy at one capacity with libCacheSim's semantics.
///
/// On a hit the policy hears of it. On a miss the request and its bytes are counted; an object
/// larger than the whole cache is not inserted; otherwise victims are evicted until the object
/// fits, then it is inserted. There is no per-object overhead, and an object keeps the size it
/// was inserted with. With a TTL, an object inserted at time t expires at t+TTL: a request
/// after that is a miss that removes it, and expired objects are reclaimed (soonest first)
/// before the policy is asked for live victims. Specialized per policy, so the policy calls inline.
public struct Simulator<P: SimulatedPolicy> {
    /// The policy being measured.
    public private(set) var policy: P
    /// The capacity in bytes, or in objects when ``countBased``.
    public let capacity: Int
    /// Whether every object counts as size 1.
    public let countBased: Bool
    /// The time to live in trace-clock units, 0 for none.
    public let ttl: Int64

    private var map = KeySlotMap(capacity: 1 << 16)
    /// Each slot's key and size side by side: one array to check and write per insertion,
    /// one line to read per release.
    private var occupants: [SlotOccupant] = []
    private var expiresAt: [Int64] = []
    private var expiry = SlotHeap()
    private var expirySequence: UInt64 = 0
    private var freeSlots: [UInt32] = []
    /// The policy's likely next victim, whose key was prefetched at the last release.
    private var hinted = noSlot
    private var nextSlot: UInt32 = 0
    /// Units occupied.
    public private(set) var usedBytes = 0
    /// Objects cached.
    public var objectCount: Int { map.count }
    /// What has been counted so far.
    public private(set) var counts = SimulationCounts()

    /// A simulator of `P` with `capacity` units (objects when `countBased`), with an optional TTL.
    public init(capacity: Int, countBased: Bool = false, ttl: Int64 = 0) {
        self.init(policy: P(capacity: capacity), capacity: capacity, countBased: countBased, ttl: ttl)
    }

    /// A simulator of `policy`, made beforehand (a randomized policy with a seed of its own).
    public init(policy: P, capacity: Int, countBased: Bool = false, ttl: Int64 = 0) {
        self.capacity = capacity
        self.countBased = countBased
        self.ttl = ttl
        self.policy = policy
    }

    /// Whether `id` is cached now (an expired object still counts until it is requested or reclaimed).
    public func contains(_ id: UInt64) -> Bool { map.find(id) != noSlot }

    /// The slot `id` occupies, if it is cached (for inspecting the policy's view of it).
    public func slot(of id: UInt64) -> UInt32? {
        let s = map.find(id)
        return s == noSlot ? nil : s
    }

    /// Handles one request; `counted` is false during warm-up. Returns whether it was a hit.
    @inline(__always)
    @discardableResult
    public mutating func process(_ r: TraceRequest, counted: Bool = true) -> Bool {
        let size = countBased ? 1 : r.size
        if counted {
            counts.requests += 1
            counts.requestBytes += size
        }
        let found = map.find(r.id)
        if found != noSlot {
            if ttl == 0 || expiresAt[Int(found)] >= r.time {
                if P.needsNextAccess { policy.willSeeNextAccess(r.nextAccess) }
                policy.access(found)
                while let victim = policy.evictAfterAccess() { release(victim) }
                return true
            }
            policy.remove(found)
            release(found)
        }
        if counted {
            counts.misses += 1
            counts.missBytes += size
        }
        if size > capacity { return false }
        admit(r, size: size)
        return false
    }

    /// Handles a block of requests; `counted` is false during warm-up. One call per block
    /// keeps the owner's exclusive access to the simulator to one check per block.
    // A run reaches this through `any SimulationRun`, where `P` is not known at compile time:
    // without these, every policy ran the generic body (field offsets from metadata, a
    // witness-table call per policy operation). Each attribute compiles a copy for one policy
    // and makes the generic entry jump to it when `P` is that policy; a policy added to
    // SimulatedPolicyKind belongs here too.
    @_specialize(where P == LRUPolicy)
    @_specialize(where P == LFUPolicy)
    @_specialize(where P == FIFOPolicy)
    @_specialize(where P == TTLPolicy)
    @_specialize(where P == ClockPolicy)
    @_specialize(where P == SIEVEPolicy)
    @_specialize(where P == S3FIFOPolicy)
    @_specialize(where P == ARCPolicy)
    @_specialize(where P == WTinyLFUPolicy)
    @_specialize(where P == TwoQPolicy)
    @_specialize(where P == MRUPolicy)
    @_specialize(where P == SLRUPolicy)
    @_specialize(where P == LFUDAPolicy)
    @_specialize(where P == GDSFPolicy)
    @_specialize(where P == RandomPolicy)
    @_specialize(where P == HyperbolicPolicy)
    @_specialize(where P == QDLPPolicy)
    @_specialize(where P == LeCaRPolicy)
    @_specialize(where P == CARPolicy)
    @_specialize(where P == BeladyPolicy)
    public mutating func process(_ block: UnsafeBufferPointer<TraceRequest>, counted: Bool) {
        // The map lookup of a request a few ahead is started before this one is handled.
        let ahead = 8
        for i in block.indices {
            if i + ahead < block.count {
                map.prefetch(block[i + ahead].id)
                policy.prefetch(key: block[i + ahead].id)
            }
            process(block[i], counted: counted)
        }
    }

    mutating func admit(_ r: TraceRequest, size: Int) {
        // The likely victim's key arrived since the last release; its map entry, which the
        // release will remove, is fetched while the policy works out its choice, and so are
        // the policy's own entries for it (a ghost list it will join).
        if hinted != noSlot && Int(hinted) < occupants.count {
            let key = occupants[Int(hinted)].key
            map.prefetch(key)
            policy.prefetch(key: key)
        }
        policy.willMiss(key: r.id, size: size)
        if !policy.canInsert(size: size) { return }
        // The slot released last is the one the new object takes; it is held here rather than
        // pushed and popped at once (the same slot, one array round trip fewer per eviction).
        var spare = noSlot
        while usedBytes + size > capacity {
            if ttl != 0, let soonest = expiry.minimum, expiry.priority(of: soonest) < r.time {
                policy.remove(soonest)
                release(soonest, holding: &spare)
                continue
            }
            guard let victim = policy.evict() else { break }
            release(victim, holding: &spare)
        }
        while let victim = policy.evictBeforeInsert() { release(victim, holding: &spare) }
        let slot: UInt32
        if spare != noSlot {
            slot = spare
        } else if let reused = freeSlots.popLast() {
            slot = reused
        } else {
            slot = nextSlot
            nextSlot += 1
            occupants.ensureIndex(slot, filler: SlotOccupant(key: 0, size: 0))
        }
        occupants[Int(slot)] = SlotOccupant(key: r.id, size: size)
        map.set(r.id, slot)
        usedBytes += size
        var expires: Int64 = 0
        if ttl != 0 {
            // Saturates: a TTL of Int64.max means "never" in effect, and must not trap.
            let (sum, overflow) = r.time.addingReportingOverflow(ttl)
            expires = overflow ? (ttl > 0 ? .max : .min) : sum
            expiresAt.ensureIndex(slot, filler: 0)
            expiresAt[Int(slot)] = expires
            expirySequence += 1
            expiry.push(slot, priority: expires, order: expirySequence)
        }
        if P.needsNextAccess { policy.willSeeNextAccess(r.nextAccess) }
        policy.insert(slot, key: r.id, size: size, expiresAt: expires)
    }

    /// Releases `slot` and holds it in `spare`, handing the slot held before to the free
    /// list: the free list then looks as if every slot had been pushed, the last one held.
    @inline(__always)
    mutating func release(_ slot: UInt32, holding spare: inout UInt32) {
        if spare != noSlot { freeSlots.append(spare) }
        release(slot, keepingSlot: true)
        spare = slot
    }

    /// Forgets the object in `slot`; the slot goes to the free list unless the caller takes it.
    mutating func release(_ slot: UInt32, keepingSlot: Bool = false) {
        let occupant = occupants[Int(slot)]
        map.remove(occupant.key)
        usedBytes -= occupant.size
        if ttl != 0 { expiry.remove(slot) }
        if !keepingSlot { freeSlots.append(slot) }
        hinted = policy.likelyVictim
        if hinted != noSlot && Int(hinted) < occupants.count {
            occupants.withUnsafeBufferPointer { if let b = $0.baseAddress { logcache_prefetch(b + Int(hinted)) } }
        }
    }
}

/// A slot's object in a ``Simulator``: outside the generic simulator, since a type nested
/// in a generic one is generic too, and its accesses would go through runtime metadata.
struct SlotOccupant {
    var key: UInt64
    var size: Int
}

/// Request and miss counts of one simulation.
public struct SimulationCounts: Sendable, Equatable {
    /// Requests counted (after warm-up).
    public var requests = 0
    /// Bytes those requests asked for.
    public var requestBytes = 0
    /// Requests that missed.
    public var misses = 0
    /// Bytes of the requests that missed.
    public var missBytes = 0

    /// Counts start at zero.
    public init() {}

    /// Misses over requests (0 when nothing was counted).
    public var missRatio: Double { requests > 0 ? Double(misses) / Double(requests) : 0 }
    /// Missed bytes over requested bytes (0 when nothing was counted).
    public var byteMissRatio: Double { requestBytes > 0 ? Double(missBytes) / Double(requestBytes) : 0 }
}
