import Synchronization

/// What one ``SharedCache`` handle did with Redis since it was made.
public struct SharedTierStatistics: Sendable, Equatable, Codable {
    /// Local misses that Redis answered.
    public var hits = 0
    /// Local misses that Redis did not answer either (absent or expired there).
    public var misses = 0
    /// Values sent to Redis.
    public var writes = 0
    /// Values kept local because they are over ``SharedTierOptions/maxValueSize``.
    public var skippedLarge = 0
    /// Background writes dropped because the queue was full.
    public var droppedWrites = 0
    /// Values found in Redis and refused: damaged, truncated, of another key, or, with a
    /// secret, without a valid tag. Each is also an error.
    public var refused = 0
    /// Operations that could not use Redis (unreachable, timed out, an error reply, a
    /// refused value); each one fell back to the local store.
    public var errors = 0
    /// Times Redis went from reachable to unreachable.
    public var disconnects = 0
    /// Connections made (or attempted): one per reconnection pause while Redis is down.
    public var connects = 0
    /// Bytes read from Redis (values as stored there).
    public var bytesIn = 0
    /// Bytes sent to Redis (values as stored there).
    public var bytesOut = 0
    /// Round trips to Redis, and their total and longest time, in microseconds.
    public var roundTrips = 0
    /// Total time of the round trips, in microseconds.
    public var latencyMicroseconds = 0
    /// The longest round trip, in microseconds.
    public var maxLatencyMicroseconds = 0
    /// Memoized computations this handle ran while holding the key's lease.
    public var leasedComputations = 0
    /// Memoizations that waited for another machine's lease and got its result.
    public var leaseWaits = 0
    /// Leases taken over after their holder's lease expired without a result.
    public var leaseTakeovers = 0
    /// Whether the last attempt to use Redis succeeded.
    public var reachable = true

    /// The mean round trip, in microseconds; 0 before the first.
    public var meanLatencyMicroseconds: Double {
        roundTrips == 0 ? 0 : Double(latencyMicroseconds) / Double(roundTrips)
    }
}

/// The counters behind ``SharedTierStatistics``, updated from any thread.
final class SharedTierCounters: Sendable {
    let hits = Atomic<Int>(0), misses = Atomic<Int>(0), writes = Atomic<Int>(0)
    let skippedLarge = Atomic<Int>(0), droppedWrites = Atomic<Int>(0), refused = Atomic<Int>(0)
    let errors = Atomic<Int>(0), disconnects = Atomic<Int>(0), connects = Atomic<Int>(0)
    let bytesIn = Atomic<Int>(0), bytesOut = Atomic<Int>(0)
    let roundTrips = Atomic<Int>(0), latency = Atomic<Int>(0), maxLatency = Atomic<Int>(0)
    let leasedComputations = Atomic<Int>(0), leaseWaits = Atomic<Int>(0), leaseTakeovers = Atomic<Int>(0)
    let reachable = Atomic<Bool>(true)

    func add(_ counter: borrowing Atomic<Int>, _ n: Int = 1) { counter.add(n, ordering: .relaxed) }

    func roundTrip(_ elapsed: Duration) {
        let (s, atto) = elapsed.components
        let us = Int(clamping: s) &* 1_000_000 &+ Int(atto / 1_000_000_000_000)
        roundTrips.add(1, ordering: .relaxed)
        latency.add(us, ordering: .relaxed)
        var seen = maxLatency.load(ordering: .relaxed)
        while us > seen {
            let (exchanged, original) = maxLatency.compareExchange(expected: seen, desired: us, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    var snapshot: SharedTierStatistics {
        var s = SharedTierStatistics()
        s.hits = hits.load(ordering: .relaxed)
        s.misses = misses.load(ordering: .relaxed)
        s.writes = writes.load(ordering: .relaxed)
        s.skippedLarge = skippedLarge.load(ordering: .relaxed)
        s.droppedWrites = droppedWrites.load(ordering: .relaxed)
        s.refused = refused.load(ordering: .relaxed)
        s.errors = errors.load(ordering: .relaxed)
        s.disconnects = disconnects.load(ordering: .relaxed)
        s.connects = connects.load(ordering: .relaxed)
        s.bytesIn = bytesIn.load(ordering: .relaxed)
        s.bytesOut = bytesOut.load(ordering: .relaxed)
        s.roundTrips = roundTrips.load(ordering: .relaxed)
        s.latencyMicroseconds = latency.load(ordering: .relaxed)
        s.maxLatencyMicroseconds = maxLatency.load(ordering: .relaxed)
        s.leasedComputations = leasedComputations.load(ordering: .relaxed)
        s.leaseWaits = leaseWaits.load(ordering: .relaxed)
        s.leaseTakeovers = leaseTakeovers.load(ordering: .relaxed)
        s.reachable = reachable.load(ordering: .relaxed)
        return s
    }
}
