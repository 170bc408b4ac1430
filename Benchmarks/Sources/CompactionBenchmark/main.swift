// Compaction: throughput, write amplification, and get latency while a pass runs.
//   compaction-benchmark [--entries N] [--value-size V] [--dir PATH]
// 1. Loads N entries, overwrites each of them twice (two thirds of the log is dead), then
//    measures get latency on one thread with the store idle, and again while one
//    compaction pass runs on another thread; prints p50/p99/p99.9 of both and the pass's
//    summary (MB/s of live data copied, write amplification), beside `dd` writing as many
//    bytes as the pass copied, with fdatasync, in the same directory.
// 2. Steady overwrites of keys picked at random, with background compaction on: bytes
//    written by compaction per byte written by the application, and disk bytes per live
//    byte at the end.
import Dispatch
import Foundation
import LogCache
import Synchronization

struct Arguments {
    var entries = 200_000
    var valueSize = 1024
    var directory = NSTemporaryDirectory() + "logcache-compaction-benchmark"

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = it.next() {
            let value = it.next() ?? ""
            switch flag {
            case "--entries": entries = Int(value) ?? entries
            case "--value-size": valueSize = Int(value) ?? valueSize
            case "--dir": directory = value
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

/// A value of `size` bytes for key `i`, version `v`: half repeated text, half varying bytes.
func value(_ i: Int, _ v: Int, size: Int) -> [UInt8] {
    var x = UInt64(i &* 31 &+ v) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<size).map { j in
        if j % 2 == 0 { return UInt8(97 + j % 23) }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// MB/s of `dd` writing `megabytes` MiB of zeros into `directory` and then fdatasync.
func ddSpeed(directory: String, megabytes: Int) throws -> Double {
    let file = directory + "/dd-compaction-reference.tmp"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/dd")
    process.arguments = ["if=/dev/zero", "of=\(file)", "bs=1M", "count=\(max(1, megabytes))", "conv=fdatasync"]
    process.environment = ["LC_ALL": "C"]
    let error = Pipe()
    process.standardError = error
    try process.run()
    let text = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    // dd's summary: "N bytes (…) copied, S s, R MB/s".
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
    guard process.terminationStatus == 0, let bytes = Double(words.first { Double($0) != nil } ?? ""),
          let s = words.firstIndex(of: "s").flatMap({ Double(words[$0 - 1]) }), s > 0
    else { fatalError("dd failed: \(text)") }
    return bytes / s / 1e6
}

func report(_ name: String, _ value: String) {
    print(name.padding(toLength: 40, withPad: " ", startingAt: 0) + value)
}

/// Percentile `p` (0...1) of sorted nanosecond samples, in microseconds.
func percentile(_ sorted: [UInt64], _ p: Double) -> String {
    guard !sorted.isEmpty else { return "-" }
    let i = min(sorted.count - 1, Int(Double(sorted.count) * p))
    return String(format: "%.1f µs", Double(sorted[i]) / 1000)
}

/// Times random gets of existing keys until `until` says stop (checked every 256 gets).
func timeGets(_ store: CacheStore, keys: Int, seed: UInt64, until: () -> Bool) throws -> [UInt64] {
    var samples: [UInt64] = []
    samples.reserveCapacity(1 << 20)
    var x = seed | 1
    while true {
        for _ in 0..<256 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let key = "key-\(Int(x % UInt64(keys)))"
            let start = nanoseconds()
            guard try store.value(forKey: key) != nil else { fatalError("missing \(key)") }
            samples.append(nanoseconds() - start)
        }
        if until() { break }
    }
    return samples.sorted()
}

let args = Arguments()
try? FileManager.default.removeItem(atPath: args.directory)
defer { try? FileManager.default.removeItem(atPath: args.directory) }
print("compaction: \(args.entries) entries × \(args.valueSize) B, overwritten twice; \(ProcessInfo.processInfo.activeProcessorCount) cores")

let store = try CacheStore(directory: args.directory, options: Options(compaction: .manual))
for v in 0..<3 {
    var batch: [String: [UInt8]] = [:]
    for i in 0..<args.entries {
        batch["key-\(i)"] = value(i, v, size: args.valueSize)
        if batch.count == 1000 { try store.setValues(batch); batch = [:] }
    }
    if !batch.isEmpty { try store.setValues(batch) }
}
let loaded = store.statistics
report("disk before / live", "\(loaded.diskBytes >> 20) MiB / \(loaded.liveBytes >> 20) MiB")

// Idle: as many gets as the pass will take, roughly; bounded by count.
let idleTarget = 400_000
var idleCount = 0
let idle = try timeGets(store, keys: args.entries, seed: 7) { idleCount += 256; return idleCount >= idleTarget }

let done = Atomic<Bool>(false)
let summaryBox = Mutex<CompactionSummary?>(nil)
let passStart = nanoseconds()
let worker = Thread {
    let s = try? store.compact()
    summaryBox.withLock { $0 = s }
    done.store(true, ordering: .releasing)
}
worker.start()
let during = try timeGets(store, keys: args.entries, seed: 11) { done.load(ordering: .acquiring) }
guard let summary = summaryBox.withLock({ $0 }) else { fatalError("the pass failed") }
// The retired segments' files are removed by a background thread after the pass returns;
// closing waits for that, so that dd below does not share the disk with it.
try store.close()
let removedSeconds = Double(nanoseconds() - passStart) / 1e9

report("get p50 idle / during pass", "\(percentile(idle, 0.5)) / \(percentile(during, 0.5))")
report("get p99 idle / during pass", "\(percentile(idle, 0.99)) / \(percentile(during, 0.99))")
report("get p99.9 idle / during pass", "\(percentile(idle, 0.999)) / \(percentile(during, 0.999))")
report("gets timed idle / during pass", "\(idle.count) / \(during.count)")
report("pass seconds", String(format: "%.2f (copy %.2f, sync and index files %.2f)", summary.seconds,
                              summary.copySeconds, summary.syncSeconds))
report("live data copied", String(format: "%.0f MiB at %.0f MB/s", Double(summary.liveBytesCopied) / 1_048_576,
                                   Double(summary.liveBytesCopied) / 1e6 / summary.seconds))
let copiedRate = Double(summary.liveBytesCopied) / 1e6 / summary.seconds
let removedRate = Double(summary.liveBytesCopied) / 1e6 / removedSeconds
report("pass + file removal + close", String(format: "%.2f s: %.0f MB/s", removedSeconds, removedRate))
let dd = try ddSpeed(directory: args.directory, megabytes: summary.liveBytesCopied >> 20)
report("dd writing as many bytes", String(format: "%.0f MB/s (the pass: %.2f× dd; with removal and close: %.2f× dd)",
                                          dd, copiedRate / dd, removedRate / dd))
report("disk after", "\(summary.bytesAfter >> 20) MiB (was \(summary.bytesBefore >> 20) MiB)")
report("pass write amplification", String(format: "%.2f", summary.writeAmplification))
try? FileManager.default.removeItem(atPath: args.directory)

// Steady overwrites with background compaction at its defaults, scaled to the run: a
// smaller segment size so that passes happen within it.
let steady = try CacheStore(directory: args.directory, options: Options(
    segmentSize: 16 << 20, compaction: CompactionOptions(triggerDeadBytes: 64 << 20)))
let rounds = 6
let start = nanoseconds()
var batch: [String: [UInt8]] = [:]
var pick = UInt64(42)
for v in 0..<rounds {
    for n in 0..<args.entries {
        // The first round loads every key; later ones overwrite keys at random.
        pick ^= pick << 13; pick ^= pick >> 7; pick ^= pick << 17
        let i = v == 0 ? n : Int(pick % UInt64(args.entries))
        batch["key-\(i)"] = value(i, v, size: args.valueSize)
        if batch.count == 1000 { try steady.setValues(batch); batch = [:] }
    }
}
if !batch.isEmpty { try steady.setValues(batch) }
let elapsed = Double(nanoseconds() - start) / 1e9
// Let the last queued pass finish before reading the counters.
Thread.sleep(forTimeInterval: 2)
let s = steady.statistics
let userBytes = Double(s.writes) * Double(s.liveBytes) / Double(max(1, s.entries))
report("steady: sets/s with compaction on", String(format: "%.0f", Double(s.writes) / elapsed))
report("steady: passes", "\(s.compactions) (failures \(s.compactionFailures))")
report("steady: write amplification", String(format: "%.2f", (userBytes + Double(s.compactionBytesWritten)) / userBytes))
report("steady: disk / live at end", String(format: "%.2f", Double(s.diskBytes) / Double(max(1, s.liveBytes))))
try steady.close()
