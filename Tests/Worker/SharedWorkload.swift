import CLogCacheSupport
// Workloads for several processes on one store (the multi-process tests and
// tools/bench-multiprocess).
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds: comparable between processes on one machine.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A value that names its key, its writer and its write number, followed by filler bytes
/// derived from those, so a reader can tell a whole, right value from a torn or foreign one.
func sharedValue(key: String, writer: Int, n: Int) -> [UInt8] {
    let head = Array("\(key)|\(writer)|\(n)|".utf8)
    var x = UInt64(truncatingIfNeeded: head.reduce(5381) { ($0 &* 33) &+ Int($1) }) | 1
    let filler = (0..<((n &* 7 &+ writer &* 13) % 600)).map { _ -> UInt8 in
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return UInt8(truncatingIfNeeded: x % 64 + 32)
    }
    return head + filler
}

/// "writer:n" when `bytes` is exactly a value written for `key`, nil otherwise.
func checkSharedValue(_ bytes: [UInt8], key: String) -> String? {
    let parts = bytes.split(separator: UInt8(ascii: "|"), maxSplits: 3, omittingEmptySubsequences: false)
    guard parts.count == 4, String(decoding: parts[0], as: UTF8.self) == key,
          let writer = Int(String(decoding: parts[1], as: UTF8.self)),
          let n = Int(String(decoding: parts[2], as: UTF8.self)),
          sharedValue(key: key, writer: writer, n: n) == bytes
    else { return nil }
    return "\(writer):\(n)"
}

/// A small xorshift generator seeded per worker.
struct WorkerRandom {
    var x: UInt64
    init(seed: UInt64) { x = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next(_ bound: Int) -> Int {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return Int(x % UInt64(bound))
    }
}

/// `mixed DIR WORKER OPS KEYS [CAPACITY]`: random gets (60%), sets (30%) and removes (10%)
/// on keys shared with other workers. Prints "w KEY WRITER:N|- START END" for every
/// completed write or remove, "bad KEY" for a read that was not a whole value of its key,
/// and "done GETS" at the end.
func runMixed(_ args: [String]) throws {
    guard args.count >= 6, let worker = Int(args[3]), let ops = Int(args[4]), let keys = Int(args[5]) else { exit(2) }
    let capacity = args.count > 6 ? Int(args[6]) : nil
    let store = try CacheStore(directory: args[2], options: Options(segmentSize: 64 << 10, capacity: capacity))
    var random = WorkerRandom(seed: UInt64(worker + 1))
    var gets = 0
    for n in 0..<ops {
        let key = "key-\(random.next(keys))"
        let roll = random.next(10)
        if roll < 6 {
            if let v = try store.value(forKey: key), checkSharedValue(v, key: key) == nil { say("bad \(key)") }
            gets += 1
        } else {
            let start = monotonicNanoseconds()
            if roll < 9 {
                try store.set(sharedValue(key: key, writer: worker, n: n), forKey: key)
                say("w \(key) \(worker):\(n) \(start) \(monotonicNanoseconds())")
            } else {
                try store.removeValue(forKey: key)
                say("w \(key) - \(start) \(monotonicNanoseconds())")
            }
        }
    }
    try store.close()
    say("done \(gets)")
}

/// `compactloop DIR SECONDS`: compaction passes back to back; prints "passes N".
func runCompactLoop(_ args: [String]) throws {
    guard args.count >= 4, let seconds = Double(args[3]) else { exit(2) }
    let store = try CacheStore(directory: args[2], options: Options(compaction: .manual))
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var passes = 0
    while monotonicNanoseconds() < end {
        if try store.compact().segmentsRewritten > 0 { passes += 1 }
        usleep(20_000)
    }
    try store.close()
    say("passes \(passes)")
}

/// `tornappend DIR`: takes the append mutex as a writer does, leaves half a record at the
/// end of the active segment, prints "holding" and waits to be killed.
func runTornAppend(_ args: [String]) throws {
    let dir = args[2]
    guard let mutex = sharedAppendMutex(dir), logcache_shared_mutex_lock(mutex, 0) == 0 else { exit(3) }
    let manifestFD = open(dir + "/MANIFEST", O_RDONLY)
    var bytes = [UInt8](repeating: 0, count: 1 << 16)
    let count = read(manifestFD, &bytes, bytes.count)
    guard count > 0, case .success(let manifest) = bytes[0..<count].withUnsafeBytes({ Manifest.decode($0) }),
          let active = manifest.segments.last
    else { exit(3) }
    let name = String(repeating: "0", count: 10 - String(active).count) + "\(active).seg"
    let seg = open(dir + "/" + name, O_WRONLY | O_APPEND)
    let half: [UInt8] = [0x12, 0x34, 0x56, 0x78, 1, 0, 5, 0, 200, 0, 0, 0, 200, 0, 0, 0, 1, 2, 3]
    guard seg >= 0, write(seg, half, half.count) == half.count else { exit(3) }
    say("holding")
    while true { sleep(60) }
}

/// The append mutex in the `SHARED` page of the store in `dir` (docs/format.md, "SHARED"),
/// mapped for the life of the process; nil when the file cannot be mapped.
func sharedAppendMutex(_ dir: String) -> UnsafeMutableRawPointer? {
    let fd = open(dir + "/SHARED", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    guard let page = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), page != MAP_FAILED else { return nil }
    return page + 64
}

/// `load DIR KEYS`: stores KEYS entries of 1 KiB ("key-0" …) for `bench`.
func runLoad(_ args: [String]) throws {
    guard args.count >= 4, let keys = Int(args[3]) else { exit(2) }
    let store = try CacheStore(directory: args[2])
    var batch: [String: [UInt8]] = [:]
    for i in 0..<keys {
        batch["key-\(i)"] = benchValue
        if batch.count == 1000 { try store.setValues(batch); batch = [:] }
    }
    try store.setValues(batch)
    try store.close()
    say("loaded \(keys)")
}

/// A 1 KiB value that compresses about as much as typical cached text.
let benchValue = [UInt8]((0..<1024).map { UInt8(truncatingIfNeeded: ($0 &* 7 ^ $0 >> 3) % 61 + 32) })

/// `bench DIR SECONDS KEYS WORKER`: 90% gets and 10% sets of 1 KiB values, uniform over KEYS
/// keys already loaded; prints "ops N".
func runBench(_ args: [String]) throws {
    guard args.count >= 6, let seconds = Double(args[3]), let keys = Int(args[4]), let worker = Int(args[5]) else { exit(2) }
    let store = try CacheStore(directory: args[2])
    var random = WorkerRandom(seed: UInt64(worker + 11))
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var ops = 0
    while true {
        for _ in 0..<64 {
            let key = "key-\(random.next(keys))"
            if random.next(10) == 0 { try store.set(benchValue, forKey: key) } else { _ = try store.value(forKey: key) }
        }
        ops += 64
        if monotonicNanoseconds() >= end { break }
    }
    try store.close()
    say("ops \(ops)")
}
