// The shared tier on Redis (docs/performance.md, "The shared tier"):
//   SharedTierBenchmark --redis URL [--size BYTES] [--keys N] [--requests N] [--compute-ms MS] [--dir PATH]
// 1. A local hit: value(forKey:) on a warm key through the plain store and through the
//    shared tier's handle, median of 9 rounds of 100,000 gets each (no round trip expected).
// 2. A shared hit: a machine whose store is empty reads N keys another machine wrote, each
//    once (GET, check, decode, write into the local store); the median and p99 per get.
// 3. Two machines warming one cache: two handles with stores of their own memoize the same
//    R requests (each computation sleeps MS), in opposite orders, on two threads; the
//    computations with the tier, against the 2R two machines compute without one.
import Dispatch
import Foundation
import LogCache
import LogCacheRedis
import Synchronization

struct Arguments {
    var redis = ""
    var size = 1024
    var keys = 20_000
    var requests = 400
    var computeMS = 5
    /// "all", or one of "local", "shared", "warm" (tools/bench-shared alternates "shared"
    /// with redis-benchmark so that both see the same state of the machine).
    var phase = "all"
    var directory = NSTemporaryDirectory() + "logcache-shared-benchmark"

    init() {
        var it = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = it.next() {
            let value = it.next() ?? ""
            switch flag {
            case "--redis": redis = value
            case "--size": size = Int(value) ?? size
            case "--keys": keys = Int(value) ?? keys
            case "--requests": requests = Int(value) ?? requests
            case "--compute-ms": computeMS = Int(value) ?? computeMS
            case "--dir": directory = value
            case "--phase": phase = value
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
        if redis.isEmpty {
            FileHandle.standardError.write(Data("--redis URL is required (tools/bench-shared starts a server)\n".utf8))
            exit(2)
        }
    }
}

func value(_ i: Int, size: Int) -> [UInt8] {
    var x = UInt64(i &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<size).map { j in
        if j % 2 == 0 { return UInt8(ascii: "a") &+ UInt8(j % 26) }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}

func microseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count) * p))]
}

let args = Arguments()
let fm = FileManager.default
try? fm.removeItem(atPath: args.directory)
try fm.createDirectory(atPath: args.directory, withIntermediateDirectories: true)
defer { try? fm.removeItem(atPath: args.directory) }

let options = try SharedTierOptions(url: args.redis)
let storeA = try CacheStore(directory: args.directory + "/a")
let storeB = try CacheStore(directory: args.directory + "/b")
let a = try SharedCache(local: storeA, options: options)
let b = try SharedCache(local: storeB, options: options)
_ = try a.removeAll(everywhere: true)

// 1. Local hits.
if args.phase == "all" || args.phase == "local" {
try a.set(value(0, size: args.size), forKey: "warm")
var plain: [Double] = [], tiered: [Double] = []
let warm = Array("warm".utf8)
for _ in 0..<9 {
    // Alternating, so that both see the same state of the machine.
    for into in [0, 1] {
        let started = ContinuousClock.now
        for _ in 0..<100_000 {
            let v = into == 0 ? try storeA.value(forKey: warm) : try a.value(forKey: warm)
            precondition(v != nil)
        }
        let ns = microseconds(ContinuousClock.now - started) * 1000 / 100_000
        if into == 0 { plain.append(ns) } else { tiered.append(ns) }
    }
}
let tripsBefore = a.sharedStatistics.roundTrips
_ = try a.value(forKey: warm)
print("local hit, \(args.size) B: plain store \(String(format: "%.0f", median(plain))) ns, through the shared tier \(String(format: "%.0f", median(tiered))) ns (ratio \(String(format: "%.2f", median(tiered) / median(plain)))); round trips on a local hit: \(a.sharedStatistics.roundTrips - tripsBefore)")

}

// 2. Shared hits: a writes in batches, b reads each key once.
if args.phase == "all" || args.phase == "shared" {
let keys = (0..<args.keys).map { Array("key-\($0)".utf8) }
for start in stride(from: 0, to: keys.count, by: 500) {
    let batch = (start..<min(start + 500, keys.count)).map { (key: keys[$0], value: value($0, size: args.size), type: ValueType.bytes) }
    try a.setValues(batch)
}
var latencies: [Double] = []
latencies.reserveCapacity(keys.count)
let sharedStarted = ContinuousClock.now
for k in keys {
    let t = ContinuousClock.now
    guard try b.value(forKey: k) != nil else { fatalError("a shared value is missing") }
    latencies.append(microseconds(ContinuousClock.now - t))
}
let total = microseconds(ContinuousClock.now - sharedStarted)
let s = b.sharedStatistics
print("shared hit, \(args.size) B: median \(String(format: "%.1f", median(latencies))) µs, p99 \(String(format: "%.1f", percentile(latencies, 0.99))) µs, mean \(String(format: "%.1f", total / Double(keys.count))) µs over \(keys.count) gets (hits \(s.hits), errors \(s.errors), round trip mean \(String(format: "%.1f", s.meanLatencyMicroseconds)) µs)")

}

// 3. Two machines warming one cache.
if args.phase == "all" || args.phase == "warm" {
let computations = Atomic<Int>(0)
let requests = (0..<args.requests).map { "request \($0)" }
let group = DispatchGroup()
let failures = Mutex<[String]>([])
let warmStarted = ContinuousClock.now
for (cache, order) in [(a, requests), (b, Array(requests.reversed()))] {
    group.enter()
    Thread {
        defer { group.leave() }
        do {
            for r in order {
                _ = try cache.memoize(namespace: "bench", version: "1", key: r) { () throws -> String in
                    computations.add(1, ordering: .relaxed)
                    usleep(useconds_t(args.computeMS * 1000))
                    return "answer to \(r)"
                }
            }
        } catch {
            failures.withLock { $0.append("\(error)") }
        }
    }.start()
}
group.wait()
let warmSeconds = microseconds(ContinuousClock.now - warmStarted) / 1e6
if let f = failures.withLock({ $0.first }) { fatalError("memoize failed: \(f)") }
let n = computations.load(ordering: .relaxed)
print("two machines, \(args.requests) requests each (\(args.computeMS) ms per computation): \(n) computations with the tier against \(2 * args.requests) without (\(String(format: "%.2f", Double(n) / Double(2 * args.requests))) of them), \(String(format: "%.2f", warmSeconds)) s")
}
_ = try a.removeAll(everywhere: true)
a.close()
b.close()
try storeA.close()
try storeB.close()
