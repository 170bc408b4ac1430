import LogCacheRedis
import Prometheus
import Synchronization

/// The proxy's counters since it started (`GET /logcache/stats`, and in Prometheus's text
/// format `GET /metrics`).
final class ProxyStatistics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let requests: [String: Counter]
    private let upstreamErrorCounter: Counter
    private let hitBytesCounter: Counter
    private let savedSecondsCounter: Counter
    private let entriesGauge: Gauge
    private let liveBytesGauge: Gauge
    private let diskBytesGauge: Gauge
    private let sharedGauges: [(String, Gauge)]

    init() {
        let registry = self.registry
        func name(_ subsystem: String, _ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "logcache", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
        }
        let requestsName = name("proxy", "requests", "total",
                                "Requests by outcome: answered from the store, fetched, forwarded uncached, or joined to one in flight")
        var requests: [String: Counter] = [:]
        for outcome in ["hit", "miss", "bypass", "joined"] {
            requests[outcome] = registry.makeCounter(descriptor: requestsName, labels: [("outcome", outcome)])
        }
        self.requests = requests
        upstreamErrorCounter = registry.makeCounter(
            descriptor: name("proxy", "upstream_errors", "total", "Upstream calls that failed or answered with a status other than 2xx"))
        hitBytesCounter = registry.makeCounter(descriptor: name("proxy", "hit_bytes", "total", "Body bytes answered from the store"))
        savedSecondsCounter = registry.makeCounter(
            descriptor: name("proxy", "time_saved_seconds", "total", "Upstream time the hits saved"))
        entriesGauge = registry.makeGauge(descriptor: name("store", "entries", "", "Live entries in the store"))
        liveBytesGauge = registry.makeGauge(descriptor: name("store", "live", "bytes", "Bytes of the store's live records"))
        diskBytesGauge = registry.makeGauge(descriptor: name("store", "disk", "bytes", "Bytes of the store's files on disk"))
        // The shared tier's counters are the handle's own; they are read, not counted here,
        // so each is a gauge set to the handle's value at every scrape.
        sharedGauges = [
            ("hits", "Local misses the shared tier answered"), ("misses", "Local misses the shared tier did not answer"),
            ("writes", "Values sent to the shared tier"), ("errors", "Operations that could not use the shared tier"),
            ("refused", "Shared values refused as damaged or forged"), ("dropped_writes", "Background writes dropped"),
            ("in_bytes", "Bytes read from the shared tier"), ("out_bytes", "Bytes sent to the shared tier"),
            ("round_trips", "Round trips to the shared tier"), ("latency_seconds", "Total time of the round trips"),
            ("reachable", "1 when the shared tier answered last, else 0"),
        ].map { metric, help in
            (metric, registry.makeGauge(descriptor: name("shared_tier", metric, "", help)))
        }
    }

    func hit(bytes: Int, savedMicroseconds micros: Int) {
        hits.add(1, ordering: .relaxed)
        hitBytes.add(bytes, ordering: .relaxed)
        savedMicroseconds.add(micros, ordering: .relaxed)
        requests["hit"]?.increment()
        hitBytesCounter.increment(by: Int64(bytes))
        savedSecondsCounter.increment(by: Double(micros) / 1e6)
    }

    func miss() {
        misses.add(1, ordering: .relaxed)
        requests["miss"]?.increment()
    }

    func bypass() {
        bypasses.add(1, ordering: .relaxed)
        requests["bypass"]?.increment()
    }

    func join() {
        joined.add(1, ordering: .relaxed)
        requests["joined"]?.increment()
    }

    func upstreamError() {
        upstreamErrors.add(1, ordering: .relaxed)
        upstreamErrorCounter.increment()
    }

    /// The metrics in Prometheus's text format, with the store's sizes as they are now.
    func prometheusText(entries: Int, liveBytes: Int, diskBytes: Int, shared: SharedTierStatistics?) -> [UInt8] {
        entriesGauge.set(Double(entries))
        liveBytesGauge.set(Double(liveBytes))
        diskBytesGauge.set(Double(diskBytes))
        if let s = shared {
            let values: [String: Double] = [
                "hits": Double(s.hits), "misses": Double(s.misses), "writes": Double(s.writes), "errors": Double(s.errors),
                "refused": Double(s.refused), "dropped_writes": Double(s.droppedWrites), "in_bytes": Double(s.bytesIn),
                "out_bytes": Double(s.bytesOut), "round_trips": Double(s.roundTrips),
                "latency_seconds": Double(s.latencyMicroseconds) / 1e6, "reachable": s.reachable ? 1 : 0,
            ]
            for (metric, gauge) in sharedGauges { gauge.set(values[metric] ?? 0) }
        }
        return registry.emitToBuffer()
    }

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
