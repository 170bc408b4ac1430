// Engine throughput and memory: N entries with V-byte values (default 1,000,000 × 100 B).
//   core-benchmark [--entries N] [--value-size V] [--dir PATH] [--compression none|lz4|zstd]
// Prints set throughput (single and batched), get throughput (one and two threads), reopen
// time, and resident memory per entry once open.
import Dispatch
import Foundation
import LogCache

struct Arguments {
    var entries = 1_000_000
    var valueSize = 100
    var directory = NSTemporaryDirectory() + "logcache-core-benchmark"
    var compression: Compression = .zstd(level: 3)

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = it.next() {
            let value = it.next() ?? ""
            switch flag {
            case "--entries": entries = Int(value) ?? entries
            case "--value-size": valueSize = Int(value) ?? valueSize
            case "--dir": directory = value
            case "--compression":
                compression = value == "none" ? .none : value == "lz4" ? .lz4 : .zstd(level: 3)
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

/// Resident set size of this process in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A value of `size` bytes for key `i`: half repeated text, half varying bytes, so it compresses
/// about as much as typical cached data.
func value(_ i: Int, size: Int) -> [UInt8] {
    var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
    return (0..<size).map { j in
        if j % 2 == 0 { return UInt8(97 + j % 23) }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

func report(_ name: String, _ value: String) {
    print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + value)
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--measure-open" {
    // Child mode: open the store and print "seconds residentBytesGained indexBytes".
    let before = residentBytes()
    var opened: CacheStore?
    let time = seconds { opened = try? CacheStore(directory: CommandLine.arguments[2]) }
    guard let store = opened else { exit(3) }
    print(time, residentBytes() - before, store.statistics.indexMemoryBytes)
    try? store.close()
    exit(0)
}

let args = Arguments()
let n = args.entries
try? FileManager.default.removeItem(atPath: args.directory)
let keys = (0..<n).map { "key-\($0)" }
let values = (0..<min(n, 4096)).map { value($0, size: args.valueSize) }

print("LogCache core benchmark: \(n) entries, \(args.valueSize)-byte values, \(args.compression)")
do {
    let store = try CacheStore(directory: args.directory, options: Options(compression: args.compression))
    let setTime = try seconds {
        for i in 0..<n { try store.set(values[i % values.count], forKey: keys[i]) }
    }
    report("set (one at a time)", String(format: "%.0f ops/s  (%.2f s)", Double(n) / setTime, setTime))
    let batch = 1000
    let batchTime = try seconds {
        for start in stride(from: 0, to: n, by: batch) {
            var chunk: [String: [UInt8]] = [:]
            for i in start..<min(n, start + batch) { chunk[keys[i]] = values[(i + 1) % values.count] }
            try store.setValues(chunk)
        }
    }
    report("set (batches of \(batch))", String(format: "%.0f ops/s  (%.2f s)", Double(n) / batchTime, batchTime))
    let stats = store.statistics
    report("disk bytes", "\(stats.diskBytes) (\(stats.diskBytes / n) per entry, \(stats.segments) segments)")
    try store.close()

    // Reopen in a fresh process, so that its resident memory holds nothing of the writes above.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["--measure-open", args.directory]
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    let fields = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    guard fields.count == 3 else { print("error: reopen measurement failed: \(output)"); exit(3) }
    report("reopen (fresh process)", String(format: "%.3f s", fields[0]))
    report("resident memory per entry", String(format: "%.1f bytes", fields[1] / Double(n)))
    report("index memory per entry", String(format: "%.1f bytes", fields[2] / Double(n)))
    let store2 = try CacheStore(directory: args.directory)

    var order = Array(0..<n)
    var rng = SystemRandomNumberGenerator()
    order.shuffle(using: &rng)
    var found = 0
    let getTime = try seconds {
        for i in order where try store2.value(forKey: keys[i]) != nil { found += 1 }
    }
    guard found == n else { print("error: only \(found) of \(n) keys found"); exit(3) }
    report("get (random, 1 thread)", String(format: "%.0f ops/s  (%.2f s)", Double(n) / getTime, getTime))
    let threads = 2
    let shuffled = order
    let parallelTime = seconds {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for j in stride(from: t, to: n, by: threads) { _ = try? store2.value(forKey: keys[shuffled[j]]) }
        }
    }
    report("get (random, \(threads) threads)", String(format: "%.0f ops/s  (%.2f s)", Double(n) / parallelTime, parallelTime))
    try store2.close()

    // The same gets with trace recording on and off, alternating three times each, in
    // handles of their own (so that neither has warmed the other's hot values).
    var plain: [Double] = [], recorded: [Double] = []
    for round in 0..<6 {
        let recording = round % 2 == 1
        let handle = try CacheStore(directory: args.directory, options: Options(
            traceRecording: recording ? TraceRecording(maxBytes: 1 << 30, fileBytes: 64 << 20) : nil))
        let time = try seconds { for i in order { _ = try handle.value(forKey: keys[i]) } }
        try handle.close()
        if recording { recorded.append(Double(n) / time) } else { plain.append(Double(n) / time) }
    }
    try? FileManager.default.removeItem(atPath: args.directory + "/traces")
    let median = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
    report("get, trace recording off / on", String(format: "%.0f / %.0f ops/s (median of 3 each: %.3f)",
                                                   median(plain), median(recorded), median(recorded) / median(plain)))

    // Eviction: twice as many distinct keys as the store may hold, so every set past the
    // first half evicts one entry.
    let bounded = max(1, n / 10)
    for policy in PolicyKind.allCases {
        let path = args.directory + "-\(policy)"
        try? FileManager.default.removeItem(atPath: path)
        let store = try CacheStore(directory: path, options: Options(compression: args.compression, maxEntries: bounded, policy: policy))
        let time = try seconds {
            for i in 0..<(2 * bounded) {
                try store.set(values[i % values.count], forKey: keys[i])
                if i % 4 == 0 { _ = try store.value(forKey: keys[i / 2]) }
            }
        }
        let s = store.statistics
        report("set with eviction, \(policy)", String(format: "%.0f ops/s, %.1f policy bytes/entry, %d evictions",
                                                      Double(2 * bounded) / time, s.policyBytesPerEntry, s.evictions))
        try store.close()
        try? FileManager.default.removeItem(atPath: path)
    }
    if ProcessInfo.processInfo.environment["KEEP_STORE"] == nil {
        try? FileManager.default.removeItem(atPath: args.directory)
    }
} catch {
    print("error: \(error)")
    exit(3)
}
