import Synchronization

/// The proxy's counters since it started (`GET /logcache/stats`).
final class ProxyStatistics: Sendable {
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let bypasses = Atomic<Int>(0)
    let upstreamErrors = Atomic<Int>(0)
    /// Response body bytes served from the store.
    let hitBytes = Atomic<Int>(0)
    /// The upstream time the hits saved, in microseconds (each hit counts the time its
    /// response took when it was fetched).
    let savedMicroseconds = Atomic<Int>(0)
    /// Requests that waited for an identical one in flight and got its response.
    let joined = Atomic<Int>(0)

    struct Snapshot: Encodable {
        var hits, misses, bypasses, upstreamErrors, hitBytes, joined: Int
        var timeSavedSeconds: Double
    }

    var snapshot: Snapshot {
        Snapshot(hits: hits.load(ordering: .relaxed), misses: misses.load(ordering: .relaxed),
                 bypasses: bypasses.load(ordering: .relaxed), upstreamErrors: upstreamErrors.load(ordering: .relaxed),
                 hitBytes: hitBytes.load(ordering: .relaxed), joined: joined.load(ordering: .relaxed),
                 timeSavedSeconds: Double(savedMicroseconds.load(ordering: .relaxed)) / 1e6)
    }
}
