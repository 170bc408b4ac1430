import CoreMetrics
import Synchronization

/// The handle's counters and the store's sizes as swift-metrics counters and gauges, with
/// the store's directory as the `directory` dimension.
///
/// Nothing on the data path: a timer pushes what ``CacheStore/statistics`` says every
/// ``Options/metricsInterval`` (counters by how much they grew since the last push), and
/// ``CacheStore/close()`` pushes once more. Off, with no timer and no metric made, unless a
/// metrics backend is bootstrapped (`MetricsSystem.bootstrap`), or bound with
/// `withMetricsFactory` around the store's opening, when the store opens.
final class StoreMetrics: Sendable {
    private let counters: [(label: String, counter: Counter, read: @Sendable (Statistics) -> Int)]
    private let gauges: [(label: String, gauge: Gauge, read: @Sendable (Statistics) -> Int)]
    private let last = Mutex<[String: Int]>([:])

    /// The metrics of the store in `directory`; nil when no backend is bootstrapped.
    init?(directory: String) {
        let factory = MetricsSystem.factory
        guard !(factory is NOOPMetricsHandler) else { return nil }
        let dimensions = [("directory", directory)]
        let counted: [(String, @Sendable (Statistics) -> Int)] = [
            ("logcache_hits", { $0.hits }), ("logcache_misses", { $0.misses }), ("logcache_writes", { $0.writes }),
            ("logcache_deletes", { $0.deletes }), ("logcache_evictions", { $0.evictions }),
            ("logcache_evicted_bytes", { $0.evictedBytes }), ("logcache_expirations", { $0.expirations }),
            ("logcache_compactions", { $0.compactions }), ("logcache_compaction_failures", { $0.compactionFailures }),
            ("logcache_compaction_bytes_freed", { $0.compactionBytesFreed }),
        ]
        counters = counted.map { ($0.0, Counter(label: $0.0, dimensions: dimensions, factory: factory), $0.1) }
        let measured: [(String, @Sendable (Statistics) -> Int)] = [
            ("logcache_entries", { $0.entries }), ("logcache_live_bytes", { $0.liveBytes }),
            ("logcache_disk_bytes", { $0.diskBytes }), ("logcache_segments", { $0.segments }),
        ]
        gauges = measured.map { ($0.0, Gauge(label: $0.0, dimensions: dimensions, factory: factory), $0.1) }
    }

    /// Pushes `statistics`: each counter by its growth since the last push, each gauge as it is.
    func report(_ statistics: Statistics) {
        last.withLock { seen in
            for c in counters {
                let now = c.read(statistics)
                let growth = now - (seen[c.label] ?? 0)
                if growth > 0 { c.counter.increment(by: Int64(growth)) }
                seen[c.label] = now
            }
        }
        for g in gauges { g.gauge.record(Int64(g.read(statistics))) }
    }
}
