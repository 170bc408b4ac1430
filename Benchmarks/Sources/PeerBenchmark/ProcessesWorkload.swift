import BenchmarkData
import Foundation

// MARK: 7. Several processes

/// Workload 2 from several processes at once, as batch jobs with many workers use a cache:
/// this process loads a store of workload 3's shape and closes it; then, for each count of
/// processes, that many fresh children of this program open the store, wait at a barrier and
/// each run a contiguous share of one Zipf mix. The figure is every operation of the mix over
/// the time from the first child's start to the last child's end (CLOCK_MONOTONIC, which all
/// processes share). Beside it, the latency of every `set` call, timed inside each child and
/// pooled over all of them: its median, 99th and 99.9th percentiles.
final class ProcessesWorkload: Workload {
    let name = "processes"
    private var pool: [[UInt8]] = []
    private var keyCount = 0
    /// Mix operations as pairs of u32: a key, and the pool entry to set or `UInt32.max` for a get.
    private var mix: [UInt32] = []
    private var batchSize = 1_000
    private var processCounts: [Int] = []

    static let poolSeed: UInt64 = 2
    /// The latency percentiles reported, by name.
    static let percentiles: [(String, Double)] = [("p50", 0.5), ("p99", 0.99), ("p999", 0.999)]
    static let prefix = Array("user/".utf8)

    func prepare(_ context: Context, file: String?) throws {
        let s = context.sizes
        keyCount = s.cacheKeys
        batchSize = s.loadBatch
        processCounts = s.processCounts
        let r = context.results
        for p in processCounts {
            r.declare("7.mix.\(p)", "7 · workload 2 from \(p == 1 ? "1 process" : "\(p) processes at once"), \(s.mixOps.formatted()) ops in all",
                      unit: "ops/s", higherIsBetter: true)
            if p > 1 { r.note("7.mix.\(p)", "RocksDB and LevelDB lock a store to one process") }
        }
        for p in processCounts {
            for (q, _) in Self.percentiles {
                r.declare("7.set.\(q).\(p)", "7 · set latency \(q), \(p == 1 ? "1 process" : "\(p) processes")",
                          unit: "µs", higherIsBetter: false)
            }
        }
        pool = BenchData.halfCompressible(count: 4096, size: 1024, seed: Self.poolSeed)
        var rng = SplitMix64(seed: 71)
        let zipf = ZipfGenerator(count: keyCount, theta: 0.99)
        mix.reserveCapacity(2 * s.mixOps)
        for _ in 0..<s.mixOps {
            mix.append(UInt32(zipf.next(using: &rng)))
            mix.append(rng.next() % 10 == 0 ? UInt32(rng.next() % UInt64(pool.count)) : UInt32.max)
        }
        try file.map {
            try WorkloadFile(pool: pool, prefix: Self.prefix, phases: [
                ("load", (0..<keyCount).flatMap { [UInt32($0), UInt32($0 % pool.count)] }),
                ("mix", mix),
                ("params", [UInt32(batchSize)] + processCounts.map { UInt32($0) }),
            ]).write(to: $0)
        }
    }

    func run(_ kind: PeerKind, directory: String, _ context: Context) throws {
        let store = try kind.open(directory)
        try load(store, count: keyCount, batch: batchSize, pool: pool) { BenchData.key(prefix: Self.prefix, id: $0) }
        try store.close()
        // The children read the mix from a file beside the store rather than generating it
        // again, so that each one starts at the barrier at once.
        let opsFile = directory + ".ops"
        defer { try? FileManager.default.removeItem(atPath: opsFile) }
        try mix.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: opsFile)) }

        for p in processCounts where p == 1 || kind.sharesAcrossProcesses {
            let (rate, latencies) = try runChildren(p, kind: kind, directory: directory, opsFile: opsFile, context)
            context.results.record("7.mix.\(p)", kind.title, rate)
            let sorted = latencies.sorted()
            guard !sorted.isEmpty else { continue }
            for (q, fraction) in Self.percentiles {
                let rank = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
                context.results.record("7.set.\(q).\(p)", kind.title, Double(sorted[max(0, rank)]) / 1000)
            }
        }
    }

    /// Starts `count` children on the store, releases them together, and returns operations
    /// per second over the span of all of them, and every child's set latencies (ns).
    private func runChildren(_ count: Int, kind: PeerKind, directory: String, opsFile: String,
                             _ context: Context) throws -> (Double, [UInt32]) {
        var children: [(process: Process, input: Pipe, output: Pipe)] = []
        defer { for c in children where c.process.isRunning { c.process.terminate() } }
        for index in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: context.executable)
            process.arguments = ["--mix-child", kind.rawValue, directory, opsFile,
                                 String(keyCount), String(index), String(count)]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            children.append((process, input, output))
        }
        // The barrier: every child has opened the store and read its share before any starts.
        for child in children {
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let more = child.output.fileHandleForReading.availableData
                guard !more.isEmpty else { throw PeerError("a child of workload 7 exited before it was ready") }
                line.append(more)
            }
            guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
                throw PeerError("workload 7 child: \(String(decoding: line, as: UTF8.self))")
            }
        }
        for child in children { child.input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var first = UInt64.max, last = UInt64.min, operations = 0
        var latencies: [UInt32] = []
        for (index, child) in children.enumerated() {
            let output = String(decoding: child.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.process.waitUntilExit()
            let fields = output.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
            guard child.process.terminationStatus == 0, fields.count == 3 else {
                throw PeerError("workload 7 child failed (status \(child.process.terminationStatus)): \(output)")
            }
            first = min(first, fields[0])
            last = max(last, fields[1])
            operations += Int(fields[2])
            let file = Self.latencyFile(opsFile, index)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            try? FileManager.default.removeItem(atPath: file)
            var own = [UInt32](repeating: 0, count: bytes.count / 4)
            own.withUnsafeMutableBytes { _ = bytes.copyBytes(to: $0) }
            latencies += own
        }
        guard operations == mix.count / 2 else { throw PeerError("workload 7: \(operations) of \(mix.count / 2) operations ran") }
        return (Double(operations) / (Double(last - first) / 1e9), latencies)
    }

    /// Where child `index` leaves the latencies of its sets: nanoseconds as u32, in order.
    static func latencyFile(_ opsFile: String, _ index: Int) -> String { opsFile + ".latency.\(index)" }

    /// The child's side: opens the store, reads its share of the mix, says `ready`, waits for
    /// `go`, runs, and prints its start and end (nanoseconds, CLOCK_MONOTONIC) and its count of
    /// operations. Every get must hit (the store holds every key), and every 64th value read
    /// is checked to carry its key's stamp.
    static func child(kind: PeerKind, directory: String, opsFile: String, keyCount: Int, index: Int, count: Int) throws {
        let store = try kind.open(directory)
        let all = try Data(contentsOf: URL(fileURLWithPath: opsFile))
        let pairs = all.count / 8
        let share = (pairs * index / count)..<(pairs * (index + 1) / count)
        var ops = [UInt32](repeating: 0, count: 2 * share.count)
        ops.withUnsafeMutableBytes { _ = all.copyBytes(to: $0, from: (8 * share.lowerBound)..<(8 * share.upperBound)) }
        let pool = BenchData.halfCompressible(count: 4096, size: 1024, seed: poolSeed)
        let keys = (0..<keyCount).map { BenchData.key(prefix: prefix, id: $0) }
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        guard readLine() == "go" else { throw PeerError("no go from the runner") }

        var misses = 0, wrong = 0, checked = 0
        var latencies: [UInt32] = []
        latencies.reserveCapacity(share.count / 8)
        let start = monotonicNanoseconds()
        for i in 0..<share.count {
            let key = Int(ops[2 * i]), entry = ops[2 * i + 1]
            if entry == UInt32.max {
                checked &+= 1
                let found = try store.get(keys[key]) { value in
                    guard checked & 63 == 0 else { return }
                    if value.count != 1024 || !value[BenchData.stampRange].elementsEqual(BenchData.hex16(UInt64(key))) { wrong += 1 }
                }
                if !found { misses += 1 }
            } else {
                let value = BenchData.value(pool: pool, index: Int(entry), id: key)
                let before = monotonicNanoseconds()
                try store.set(keys[key], value)
                latencies.append(UInt32(clamping: monotonicNanoseconds() - before))
            }
        }
        let end = monotonicNanoseconds()
        try latencies.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: latencyFile(opsFile, index))) }
        try store.close()
        guard misses == 0, wrong == 0 else { throw PeerError("\(misses) gets missed and \(wrong) values were wrong") }
        print(start, end, share.count)
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
