// Roles of tools/stress-sharing: processes that cut, grow and reload one store's active
// segment at once, so that a read of a file another process truncates shows up as a death.
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `garbage DIR SECONDS SEED`: what writers killed in the middle of appends leave, over and
/// over: takes the append lock as a writer does, appends 8 to 64 KiB of random bytes (no
/// record) to the active segment, lets the lock go and pauses a few milliseconds. The next
/// writer cuts those bytes off. Prints "appended N" with the number of appends at the end.
func runGarbage(_ args: [String]) throws {
    guard args.count >= 5, let seconds = Double(args[3]), let seed = UInt64(args[4]) else { exit(2) }
    let dir = args[2]
    let lockFD = open(dir + "/APPEND", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard lockFD >= 0 else { say("error open APPEND"); exit(3) }
    var random = WorkerRandom(seed: seed)
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var appends = 0
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while monotonicNanoseconds() < end {
        guard flock(lockFD, LOCK_EX) == 0 else { say("error flock"); exit(3) }
        if let path = activeSegmentPath(dir) {
            let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            if fd >= 0 {
                let count = 8192 + random.next(buffer.count - 8192)
                for i in 0..<count { buffer[i] = UInt8(truncatingIfNeeded: random.next(256)) }
                if write(fd, buffer, count) == count { appends += 1 }
                close(fd)
            }
        }
        flock(lockFD, LOCK_UN)
        usleep(useconds_t(1000 + random.next(4000)))
    }
    say("appended \(appends)")
}

/// The path of the active segment as the manifest names it, or nil when it cannot be read.
private func activeSegmentPath(_ dir: String) -> String? {
    let fd = open(dir + "/MANIFEST", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    let count = read(fd, &bytes, bytes.count)
    guard count > 0, case .success(let manifest) = bytes[0..<count].withUnsafeBytes({ Manifest.decode($0) }),
          let active = manifest.segments.last
    else { return nil }
    let digits = String(active)
    return dir + "/" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits + ".seg"
}

/// `stresswriter DIR SECONDS WORKER KEYS`: sets its own keys ("w<WORKER>-<i>") in a loop,
/// reading each back at once, and every few writes a key of another worker; at the end
/// reopens the store and checks that each of its keys holds the last value it wrote. The
/// first to open the store creates it with 16 KiB segments, so that segments roll often.
/// Prints "bad KEY" for every wrong read and "done WRITES" at the end.
func runStressWriter(_ args: [String]) throws {
    guard args.count >= 6, let seconds = Double(args[3]), let worker = Int(args[4]), let keys = Int(args[5]), keys > 0
    else { exit(2) }
    let options = Options(segmentSize: 16 << 10, compaction: .manual)
    let store = try CacheStore(directory: args[2], options: options)
    var random = WorkerRandom(seed: UInt64(worker + 101))
    var last: [String: [UInt8]] = [:]
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var n = 0
    while monotonicNanoseconds() < end {
        let key = "w\(worker)-\(random.next(keys))"
        let value = sharedValue(key: key, writer: worker, n: n)
        try store.set(value, forKey: key)
        last[key] = value
        if try store.value(forKey: key) != value { say("bad \(key)") }
        if n % 5 == 0 {
            // Another writer's key: any whole value of it, or none, but never a wrong one.
            let other = "w\(random.next(4))-\(random.next(keys))"
            if let v = try store.value(forKey: other), checkSharedValue(v, key: other) == nil { say("bad \(other)") }
        }
        n += 1
    }
    try store.close()
    let reopened = try CacheStore(directory: args[2], options: options)
    for (key, value) in last where try reopened.value(forKey: key) != value { say("bad \(key) after reopen") }
    try reopened.close()
    say("done \(n)")
}

/// `stressreader DIR SECONDS KEYS`: lookups of every writer's keys without writing, so every
/// catch-up it makes runs without the append lock while others cut the tail. Prints "bad
/// KEY" for a value that is not a whole one of its key and "done READS" at the end.
func runStressReader(_ args: [String]) throws {
    guard args.count >= 5, let seconds = Double(args[3]), let keys = Int(args[4]), keys > 0 else { exit(2) }
    let store = try CacheStore(directory: args[2], options: Options(segmentSize: 16 << 10, compaction: .manual))
    var random = WorkerRandom(seed: 7)
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var reads = 0
    while monotonicNanoseconds() < end {
        let key = "w\(random.next(4))-\(random.next(keys))"
        if let v = try store.value(forKey: key), checkSharedValue(v, key: key) == nil { say("bad \(key)") }
        reads += 1
        if reads % 64 == 0 { _ = store.statistics }
    }
    try store.close()
    say("done \(reads)")
}

/// `fsck DIR`: prints "fsck clean", or "bad fsck" with the problems.
func runFsck(_ args: [String]) throws {
    let report = try StoreCheck.run(directory: args[2])
    say(report.ok ? "fsck clean" : "bad fsck \(report.problems.map(\.description))")
}
