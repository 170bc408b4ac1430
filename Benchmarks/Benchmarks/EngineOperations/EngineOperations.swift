// Micro-benchmarks of single engine operations, run with `swift package benchmark` from
// Benchmarks/. Each works on its own store, filled in its setup outside the measurement, with
// the value shapes of the comparison runner: 1 KiB values that compress to about half, and
// 100–160 KB JSON responses.
import Benchmark
import BenchmarkData
import Foundation
import LogCache

/// A store filled with `count` entries, and the keys that hit and miss in it.
final class Fixture: @unchecked Sendable {
    let directory: String
    let store: CacheStore
    let keys: [[UInt8]]
    let strings: [String]
    let misses: [[UInt8]]
    let pool: [[UInt8]]
    private var next = 0

    init(name: String, count: Int, pool: [[UInt8]]) throws {
        directory = NSTemporaryDirectory() + "logcache-micro-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        store = try CacheStore(directory: directory)
        self.pool = pool
        keys = (0..<count).map { BenchData.key(prefix: Array("k/".utf8), id: $0) }
        strings = keys.map { String(decoding: $0, as: UTF8.self) }
        misses = (0..<count).map { BenchData.key(prefix: Array("absent/".utf8), id: $0) }
        for start in stride(from: 0, to: count, by: 1_000) {
            try store.setValues((start..<min(count, start + 1_000)).map { id in
                StoreEntry(key: keys[id], value: value(id), expiresAt: nil)
            })
        }
    }

    func value(_ id: Int) -> [UInt8] { BenchData.value(pool: pool, index: id % pool.count, id: id) }

    /// The next key id, cycling, so that consecutive operations touch different records.
    func nextID() -> Int {
        next = (next &+ 7_919) % keys.count
        return next
    }

    func remove() {
        try? store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Benchmarks share one fixture at a time: each creates it in setup and removes it in teardown.
nonisolated(unsafe) var fixture: Fixture!

func with(_ name: String, count: Int, pool: @escaping @autoclosure () -> [[UInt8]]) -> (setup: Benchmark.BenchmarkSetupHook, teardown: Benchmark.BenchmarkTeardownHook) {
    ({ fixture = try Fixture(name: name, count: count, pool: pool()) }, { fixture.remove(); fixture = nil })
}

let smallValues = BenchData.halfCompressible(count: 1_024, size: 1_024, seed: 2)
let entries = 100_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    var hooks = with("set", count: entries, pool: smallValues)
    Benchmark("set 1 KiB", closure: { benchmark in
        for _ in benchmark.scaledIterations {
            let id = fixture.nextID()
            try fixture.store.set(fixture.value(id), forKey: fixture.keys[id])
        }
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("get", count: entries, pool: smallValues)
    Benchmark("get hit 1 KiB", closure: { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.store.value(forKey: fixture.keys[fixture.nextID()]))
        }
    }, setup: hooks.setup, teardown: hooks.teardown)

    // Zipf 0.99 over the same 100,000 keys, as in workload 2: the hot keys come from the
    // handle's hot values (Options.hotValueCacheBytes), the rest from their records.
    hooks = with("zipf", count: entries, pool: smallValues)
    let zipfIDs: [Int] = {
        var rng = SplitMix64(seed: 5)
        let zipf = ZipfGenerator(count: entries, theta: 0.99)
        return (0..<(1 << 16)).map { _ in zipf.next(using: &rng) }
    }()
    Benchmark("get hit 1 KiB, Zipf 0.99", closure: { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            i = (i &+ 1) & (zipfIDs.count - 1)
            blackHole(try fixture.store.value(forKey: fixture.keys[zipfIDs[i]]))
        }
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("miss", count: entries, pool: smallValues)
    Benchmark("get miss", closure: { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.store.value(forKey: fixture.misses[fixture.nextID()]))
        }
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("batch-set", count: entries, pool: smallValues)
    Benchmark("setValues 100 × 1 KiB", configuration: .init(scalingFactor: .one), closure: { benchmark in
        let batch = (0..<100).map { _ in
            let id = fixture.nextID()
            return StoreEntry(key: fixture.keys[id], value: fixture.value(id), expiresAt: nil)
        }
        benchmark.startMeasurement()
        try fixture.store.setValues(batch)
        benchmark.stopMeasurement()
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("batch-get", count: entries, pool: smallValues)
    Benchmark("values(forKeys:) 100", configuration: .init(scalingFactor: .one), closure: { benchmark in
        let keys = (0..<100).map { _ in fixture.strings[fixture.nextID()] }
        benchmark.startMeasurement()
        blackHole(try fixture.store.values(forKeys: keys))
        benchmark.stopMeasurement()
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("json", count: 500, pool: BenchData.jsonDocuments(count: 16, minSize: 100_000, maxSize: 160_000, seed: 1))
    Benchmark("set 100–160 KB JSON", configuration: .init(scalingFactor: .one), closure: { benchmark in
        let id = fixture.nextID()
        let value = fixture.value(id)
        benchmark.startMeasurement()
        try fixture.store.set(value, forKey: fixture.keys[id])
        benchmark.stopMeasurement()
    }, setup: hooks.setup, teardown: hooks.teardown)

    hooks = with("json-get", count: 500, pool: BenchData.jsonDocuments(count: 16, minSize: 100_000, maxSize: 160_000, seed: 1))
    Benchmark("get hit 100–160 KB JSON", configuration: .init(scalingFactor: .one), closure: { _ in
        blackHole(try fixture.store.value(forKey: fixture.keys[fixture.nextID()]))
    }, setup: hooks.setup, teardown: hooks.teardown)

    // 1 MiB values lent to a closure, as workload 5 reads them: decompressed into a reused
    // buffer, straight from the segment's map once it is sealed.
    hooks = with("large", count: 128, pool: BenchData.halfCompressible(count: 16, size: 1 << 20, seed: 3))
    Benchmark("withValue 1 MiB", configuration: .init(scalingFactor: .one), closure: { _ in
        blackHole(try fixture.store.withValue(forKey: fixture.keys[fixture.nextID()]) { $0.count })
    }, setup: hooks.setup, teardown: hooks.teardown)

    // The record checksum on its own: every read verifies it over the whole stored record.
    let mebibyte = BenchData.halfCompressible(count: 1, size: 1 << 20, seed: 3)[0]
    Benchmark("CRC32C 1 MiB", configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .one), closure: { _ in
        blackHole(CRC32C.checksum(mebibyte))
    })

    // Reopen: close the filled store (which writes its index file) and time the open alone.
    hooks = with("reopen", count: entries, pool: BenchData.halfCompressible(count: 1_024, size: 100, seed: 4))
    Benchmark("reopen 100k entries", configuration: .init(scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 50), closure: { benchmark in
        try fixture.store.close()
        benchmark.startMeasurement()
        let reopened = try CacheStore(directory: fixture.directory)
        benchmark.stopMeasurement()
        try reopened.close()
    }, setup: hooks.setup, teardown: hooks.teardown)
}
