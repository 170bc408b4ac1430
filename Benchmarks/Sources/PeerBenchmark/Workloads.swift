import BenchmarkData
import Foundation

/// The sizes of a run. `standard` fits in a few minutes on two cores; `full` is the issue's.
struct Sizes {
    var llmEntries = 3_500
    var llmLookups = 10_000
    var llmMissFraction = 0.65
    var llmBatch = 100
    var cacheKeys: Int
    var loadBatch = 1_000
    var warmGets: Int
    var mixOps: Int
    var largeTotal: Int
    var largeValue = 1 << 20
    var reopenCounts: [Int]
    /// Row 7's counts of processes.
    var processCounts = [1, 2, 4, 8]

    static let standard = Sizes(cacheKeys: 200_000, warmGets: 200_000, mixOps: 400_000,
                                largeTotal: 512 << 20, reopenCounts: [100_000, 1_000_000])
    static let full = Sizes(cacheKeys: 1_000_000, warmGets: 1_000_000, mixOps: 2_000_000,
                            largeTotal: 2 << 30, reopenCounts: [1_000_000, 10_000_000])
}

/// What the workloads share in a run.
struct Context {
    let sizes: Sizes
    let results: Results
    /// This program, started again as a fresh process to measure a store's open.
    let executable: String
}

/// One workload of the comparison. A workload declares its rows and generates its data once
/// (`prepare`), then runs on each store in turn; workloads 6 and 7 start child processes of
/// this program for their measurements.
protocol Workload: AnyObject {
    /// Its name for the diskcache replay script.
    var name: String { get }
    /// Declares the rows, generates the data, and writes the workload file to `file` if given.
    func prepare(_ context: Context, file: String?) throws
    /// Runs on a new store of `kind` in `directory`.
    func run(_ kind: PeerKind, directory: String, _ context: Context) throws
}

/// Fails the run when a store returned other bytes than were stored under a key.
func verify(_ store: any PeerStore, key: [UInt8], expected: [UInt8], _ what: String) throws {
    var same = false
    guard try store.get(key, { same = $0.elementsEqual(expected) }), same else {
        throw PeerError("\(what): wrong or missing value for key \(String(decoding: key, as: UTF8.self))")
    }
}

/// Stores keys `0 ..< count` in batches of `batch`, key `id` with pool entry `id % pool.count`
/// stamped with `id`: how rows 3, 6 and 7 fill a store.
func load(_ store: any PeerStore, count: Int, batch: Int, pool: [[UInt8]], key: (Int) -> [UInt8]) throws {
    for start in stride(from: 0, to: count, by: batch) {
        try store.setBatch((start..<min(count, start + batch)).map { id in
            Pair(key: key(id), value: BenchData.value(pool: pool, index: id % pool.count, id: id))
        })
    }
}

/// Shuffles with a fixed seed, so that every store and the Python replay see one order.
func shuffled(_ values: [Int], seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    return values.shuffled(using: &rng)
}

// MARK: 1. LLM responses

/// The pull request's case: 3,500 JSON responses of 100–160 KB, then 10,000 lookups of which
/// 65% miss, one at a time and in batches; beside them the floor, the time zstd alone takes
/// to decompress the same hits from memory.
final class LLMWorkload: Workload {
    let name = "llm"
    private var pool: [[UInt8]] = []
    private var keys: [[UInt8]] = []
    private var lookups: [Int] = []
    private var batches: [KeyBatch] = []
    private var entries = 0

    func prepare(_ context: Context, file: String?) throws {
        let s = context.sizes
        let misses = Int((Double(s.llmLookups) * s.llmMissFraction).rounded())
        let hits = s.llmLookups - misses
        entries = s.llmEntries
        precondition(hits <= entries, "more hits than entries")
        let r = context.results
        r.declare("1.write", "1 · write \(entries.formatted()) JSON responses of 100–160 KB, one at a time", unit: "s", higherIsBetter: false)
        r.declare("1.get", "1 · \(s.llmLookups.formatted()) lookups, \(Int(s.llmMissFraction * 100))% miss, one at a time", unit: "s", higherIsBetter: false)
        r.declare("1.batch", "1 · the same lookups in batches of \(s.llmBatch)", unit: "s", higherIsBetter: false)
        r.declare("1.disk", "1 · bytes on disk", unit: "MB", higherIsBetter: false)

        pool = BenchData.jsonDocuments(count: 64, minSize: 100_000, maxSize: 160_000, seed: 1)
        let prefix = Array("chat/".utf8)
        keys = (0..<(entries + misses)).map { BenchData.key(prefix: prefix, id: $0) }
        lookups = shuffled(Array(0..<hits) + Array(entries..<(entries + misses)), seed: 11)
        batches = stride(from: 0, to: lookups.count, by: s.llmBatch).map { start in
            KeyBatch(lookups[start..<min(lookups.count, start + s.llmBatch)].map { keys[$0] })
        }

        // The floor: the hits' values compressed as LogCache and SQLite store them, then
        // decompressed into new buffers in lookup order, with no store in between.
        var raw = 0
        compressed = try (0..<entries).map { id -> [UInt8] in
            let v = value(id)
            raw += v.count
            return try zstd.compressed(v)
        }
        try measureFloor(r)
        r.reference("1.disk", "raw JSON \(format(Double(raw) / 1e6)) MB, zstd-3 alone",
                    Double(compressed.reduce(0) { $0 + $1.count }) / 1e6)

        try file.map {
            try WorkloadFile(pool: pool, prefix: prefix, phases: [
                ("load", (0..<entries).flatMap { [UInt32($0), UInt32($0 % pool.count)] }),
                ("lookups", lookups.map { UInt32($0) }),
                ("params", [UInt32(s.llmBatch)]),
            ]).write(to: $0)
        }
    }

    private func value(_ id: Int) -> [UInt8] { BenchData.value(pool: pool, index: id % pool.count, id: id) }

    private let zstd = ZstdCodec(level: 3)
    private var compressed: [[UInt8]] = []
    private var floor = Double.infinity

    /// Measures the floor again (best of three) and keeps the lowest figure of the run: it is
    /// measured beside every store's lookups, so that a burst of other work on the machine
    /// during one measurement cannot raise it.
    private func measureFloor(_ r: Results) throws {
        var total = 0
        floor = min(floor, try bestOf(3) {
            for id in lookups where id < entries {
                total &+= try compressed[id].withUnsafeBytes { try zstd.decompress($0) }.count
            }
        })
        r.reference("1.get", "zstd floor", floor)
        r.reference("1.batch", "zstd floor", floor)
    }

    func run(_ kind: PeerKind, directory: String, _ context: Context) throws {
        let r = context.results
        let store = try kind.open(directory)
        r.record("1.write", kind.title, try seconds {
            for id in 0..<entries { try store.set(keys[id], value(id)) }
        })
        // Lookups are short and repeatable: the best of three passes, like the floor, so that
        // a burst of other work on the machine does not decide the row.
        var bytes = 0
        var hits = 0
        r.record("1.get", kind.title, try bestOf(3) {
            hits = 0
            for id in lookups where try store.get(keys[id], { bytes &+= $0.count }) { hits += 1 }
        })
        var batchHits = 0
        r.record("1.batch", kind.title, try bestOf(3) {
            batchHits = 0
            for batch in batches { batchHits += try store.getBatch(batch) { _, v in bytes &+= v.count } }
        })
        let expectedHits = lookups.filter { $0 < entries }.count
        guard hits == expectedHits, batchHits == expectedHits else {
            throw PeerError("\(kind.title): \(hits) and \(batchHits) hits, expected \(expectedHits)")
        }
        try measureFloor(r)
        for id in stride(from: 0, to: entries, by: 97) { try verify(store, key: keys[id], expected: value(id), "llm") }
        try store.close()
        r.record("1.disk", kind.title, Double(diskUsage(directory)) / 1e6)
    }
}

// MARK: 3, 4 and 2. Bulk load, warm gets, cache mix

/// One store per engine for three workloads, in this order: the bulk load (3), warm uniform
/// gets (4) and the Zipf mix (2), which needs a loaded store.
final class CacheWorkload: Workload {
    let name = "cache"
    private var pool: [[UInt8]] = []
    private var keys: [[UInt8]] = []
    private var gets: [Int] = []
    /// Mix operations: a key, and the pool entry to set or -1 for a get.
    private var mix: [(key: Int, pool: Int)] = []
    private var batchSize = 1_000

    func prepare(_ context: Context, file: String?) throws {
        let s = context.sizes
        batchSize = s.loadBatch
        let n = s.cacheKeys
        let r = context.results
        r.declare("3.load", "3 · bulk load \(n.formatted()) × 1 KiB, batches of \(s.loadBatch.formatted())", unit: "sets/s", higherIsBetter: true)
        r.declare("3.disk", "3 · bytes on disk after the load", unit: "MB", higherIsBetter: false)
        r.declare("4.get", "4 · warm gets, uniform over \(n.formatted()) keys", unit: "gets/s", higherIsBetter: true)
        r.declare("2.mix", "2 · Zipf 0.99, 90% get / 10% set, \(s.mixOps.formatted()) ops", unit: "ops/s", higherIsBetter: true)

        pool = BenchData.halfCompressible(count: 4096, size: 1024, seed: 2)
        let prefix = Array("user/".utf8)
        keys = (0..<n).map { BenchData.key(prefix: prefix, id: $0) }
        var rng = SplitMix64(seed: 21)
        gets = (0..<s.warmGets).map { _ in Int(rng.next() % UInt64(n)) }
        let zipf = ZipfGenerator(count: n, theta: 0.99)
        mix = (0..<s.mixOps).map { _ in
            let key = zipf.next(using: &rng)
            return rng.next() % 10 == 0 ? (key, Int(rng.next() % UInt64(pool.count))) : (key, -1)
        }
        r.reference("3.disk", "raw", Double(n * 1024) / 1e6)
        try file.map {
            try WorkloadFile(pool: pool, prefix: prefix, phases: [
                ("load", (0..<n).flatMap { [UInt32($0), UInt32($0 % pool.count)] }),
                ("gets", gets.map { UInt32($0) }),
                ("mix", mix.flatMap { [UInt32($0.key), UInt32(bitPattern: Int32($0.pool))] }),
                ("params", [UInt32(s.loadBatch)]),
            ]).write(to: $0)
        }
    }

    func run(_ kind: PeerKind, directory: String, _ context: Context) throws {
        let r = context.results
        let n = keys.count
        var store = try kind.open(directory)
        let loadTime = try seconds { try load(store, count: n, batch: batchSize, pool: pool) { keys[$0] } }
        r.record("3.load", kind.title, Double(n) / loadTime)
        try store.close()
        r.record("3.disk", kind.title, Double(diskUsage(directory)) / 1e6)

        store = try kind.open(directory)
        for id in stride(from: 0, to: n, by: max(1, n / 1000)) {
            try verify(store, key: keys[id], expected: BenchData.value(pool: pool, index: id % pool.count, id: id), "load")
        }
        // Warm: every key read once, so that the page cache and the stores' caches hold
        // what they will hold in steady use.
        var bytes = 0
        for key in keys { _ = try store.get(key) { bytes &+= $0.count } }
        var hits = 0
        let getTime = try seconds {
            for id in gets where try store.get(keys[id], { bytes &+= $0.count }) { hits += 1 }
        }
        guard hits == gets.count else { throw PeerError("\(kind.title): \(hits) of \(gets.count) warm gets hit") }
        r.record("4.get", kind.title, Double(gets.count) / getTime)

        var mixHits = 0
        let mixTime = try seconds {
            for op in mix {
                if op.pool < 0 {
                    if try store.get(keys[op.key], { bytes &+= $0.count }) { mixHits += 1 }
                } else {
                    try store.set(keys[op.key], BenchData.value(pool: pool, index: op.pool, id: op.key))
                }
            }
        }
        guard mixHits == mix.filter({ $0.pool < 0 }).count else { throw PeerError("\(kind.title): mix gets missed") }
        r.record("2.mix", kind.title, Double(mix.count) / mixTime)
        try store.close()
    }
}

// MARK: 5. Large values

/// 1 MiB values written one at a time until the total is reached, then flushed to the disk;
/// then all read back in random order (from the page cache: the data was just written).
/// Beside them, the disk's sequential write speed measured with `dd` in the same run.
final class LargeValueWorkload: Workload {
    let name = "large"
    private var pool: [[UInt8]] = []
    private var keys: [[UInt8]] = []
    private var reads: [Int] = []

    func prepare(_ context: Context, file: String?) throws {
        let s = context.sizes
        let count = s.largeTotal / s.largeValue
        let r = context.results
        let mib = s.largeTotal >> 20
        r.declare("5.write", "5 · write \(mib.formatted()) MiB as 1 MiB values, then flush", unit: "MB/s", higherIsBetter: true)
        r.declare("5.read", "5 · read them back, random order", unit: "MB/s", higherIsBetter: true)
        pool = BenchData.halfCompressible(count: 16, size: s.largeValue, seed: 3)
        let prefix = Array("blob/".utf8)
        keys = (0..<count).map { BenchData.key(prefix: prefix, id: $0) }
        reads = shuffled(Array(0..<count), seed: 31)
        // The floor of the reads: the values compressed as LogCache stores values of 1 MiB
        // (zstd level 1), decompressed in the order of the reads into one reused buffer,
        // with no store in between.
        let zstd = ZstdCodec(level: 1)
        frames = try (0..<count).map { try zstd.compressed(BenchData.value(pool: pool, index: $0 % pool.count, id: $0)) }
        try measureFloor(r)
        try file.map {
            try WorkloadFile(pool: pool, prefix: prefix, phases: [
                ("load", (0..<count).flatMap { [UInt32($0), UInt32($0 % pool.count)] }),
                ("reads", reads.map { UInt32($0) }),
            ]).write(to: $0)
        }
    }

    private var frames: [[UInt8]] = []
    private var floor = Double.infinity

    /// Measures the floor again (best of three) and keeps the fastest of the run, as
    /// workload 1 does, so that a burst of other work during one measurement cannot lower it.
    private func measureFloor(_ r: Results) throws {
        let zstd = ZstdCodec(level: 1)
        var buffer: [UInt8] = []
        var bytes = 0
        let time = try bestOf(3) {
            for id in reads { bytes &+= try frames[id].withUnsafeBytes { try zstd.decompress($0, into: &buffer) } }
        }
        floor = min(floor, time)
        r.reference("5.read", "zstd alone", Double(bytes / 3) / floor / 1e6)
    }

    /// Measures the disk in the directory the stores will use, right before they run.
    func measureDisk(directory: String, _ context: Context) throws {
        let speed = try diskWriteSpeed(directory: directory, megabytes: context.sizes.largeTotal >> 20)
        context.results.reference("5.write", "disk (dd, fdatasync)", speed)
    }

    func run(_ kind: PeerKind, directory: String, _ context: Context) throws {
        let r = context.results
        let store = try kind.open(directory)
        let total = Double(keys.count * pool[0].count)
        let writeTime = try seconds {
            for id in keys.indices { try store.set(keys[id], BenchData.value(pool: pool, index: id % pool.count, id: id)) }
            try store.flush()
        }
        r.record("5.write", kind.title, total / writeTime / 1e6)
        var bytes = 0
        let readTime = try seconds {
            for id in reads { guard try store.get(keys[id], { bytes &+= $0.count }) else { throw PeerError("large: miss") } }
        }
        r.record("5.read", kind.title, total / readTime / 1e6)
        try measureFloor(r)
        try verify(store, key: keys[0], expected: BenchData.value(pool: pool, index: 0, id: 0), "large")
        try store.close()
    }
}

// MARK: 6. Reopen

/// Stores of each size (100-byte values, loaded in batches and closed), each opened by a
/// fresh process: the time to open, the resident memory the process gained per entry, and
/// the time of the first lookup (which stores that load lazily pay instead).
final class ReopenWorkload: Workload {
    let name = "reopen"
    private var pool: [[UInt8]] = []
    private let prefix = Array("r/".utf8)
    private var counts: [Int] = []

    func prepare(_ context: Context, file: String?) throws {
        counts = context.sizes.reopenCounts
        let r = context.results
        for n in counts {
            r.declare("6.open.\(n)", "6 · open a store of \(n.formatted()) entries", unit: "s", higherIsBetter: false)
            r.declare("6.first.\(n)", "6 · then the first lookup", unit: "ms", higherIsBetter: false)
            r.declare("6.rss.\(n)", "6 · resident memory gained, per entry", unit: "B", higherIsBetter: false)
        }
        pool = BenchData.halfCompressible(count: 4096, size: 100, seed: 4)
        try file.map {
            try WorkloadFile(pool: pool, prefix: prefix, phases: [("counts", counts.map { UInt32($0) })]).write(to: $0)
        }
    }

    func run(_ kind: PeerKind, directory: String, _ context: Context) throws {
        let r = context.results
        for n in counts {
            let path = directory + "-\(n)"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let store = try kind.open(path)
            try load(store, count: n, batch: 1_000, pool: pool) { BenchData.key(prefix: prefix, id: $0) }
            try store.close()
            let probe = String(decoding: BenchData.key(prefix: prefix, id: n / 2), as: UTF8.self)
            let result = try runProcess(context.executable, ["--open-child", kind.rawValue, path, probe])
            let fields = result.output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
            guard result.status == 0, fields.count == 3 else { throw PeerError("open in a child process failed: \(result.output)") }
            r.record("6.open.\(n)", kind.title, fields[0])
            r.record("6.first.\(n)", kind.title, fields[1] * 1e3)
            r.record("6.rss.\(n)", kind.title, fields[2] / Double(n))
        }
    }

    /// The child's side: opens the store, looks up `probe`, and prints the open time, the
    /// lookup time and the resident bytes the open gained.
    static func child(kind: PeerKind, directory: String, probe: String) throws {
        let before = residentBytes()
        var store: (any PeerStore)?
        let openTime = try seconds { store = try kind.open(directory) }
        let gained = residentBytes() - before
        var found = false
        let firstTime = try seconds { found = try store!.get(Array(probe.utf8)) { _ in } }
        guard found else { throw PeerError("probe key not found after reopening") }
        print(openTime, firstTime, gained)
        try store!.close()
    }
}
