// Roles of tools/stress-sharing: processes that cut, grow and reload one store's active
// segment at once, so that a read of a file another process truncates shows up as a death,
// while manifest writes fail now and then.
import CLogCacheSupport
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `garbage DIR SECONDS SEED`: what writers killed in the middle of appends leave, over and
/// over: a thread takes the append mutex as a writer does, appends 8 to 64 KiB of random
/// bytes (no record) to the active segment and ends without letting the mutex go, as a
/// killed writer does (the mutex is robust: the next locker gets `EOWNERDEAD` and cuts those
/// bytes off); then a pause of a few milliseconds. Prints "appended N" at the end.
func runGarbage(_ args: [String]) throws {
    guard args.count >= 5, let seconds = Double(args[3]), let seed = UInt64(args[4]) else { exit(2) }
    let dir = args[2]
    guard let mutex = sharedAppendMutex(dir) else { say("error map SHARED"); exit(3) }
    var random = WorkerRandom(seed: seed)
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var appends = 0
    var job = GarbageJob(mutex: mutex, directory: dir, count: 0, buffer: [UInt8](repeating: 0, count: 64 << 10))
    while monotonicNanoseconds() < end {
        do {
            job.count = 8192 + random.next(job.buffer.count - 8192)
            for i in 0..<job.count { job.buffer[i] = UInt8(truncatingIfNeeded: random.next(256)) }
            var thread = pthread_t()
            let started = withUnsafeMutablePointer(to: &job) { p in
                pthread_create(&thread, nil, { arg in
                    let job = arg!.assumingMemoryBound(to: GarbageJob.self)
                    let rc = logcache_shared_mutex_lock(job.pointee.mutex, 0)
                    guard rc == 0 || rc == EOWNERDEAD else { return nil }
                    if rc == EOWNERDEAD { _ = logcache_shared_mutex_consistent(job.pointee.mutex) }
                    // The active segment is read from the manifest only once the mutex is held,
                    // as a writer decides where it appends: read before, it may name a segment
                    // a roll sealed meanwhile, and garbage after a sealed segment's last record
                    // is damage no writer can leave.
                    guard let path = activeSegmentPath(job.pointee.directory) else { return nil }
                    let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
                    if fd >= 0 {
                        if write(fd, job.pointee.buffer, job.pointee.count) == job.pointee.count { job.pointee.written = true }
                        close(fd)
                    }
                    return nil
                }, p)
            }
            guard started == 0 else { say("error pthread_create"); exit(3) }
            pthread_join(thread, nil)
            if job.written { appends += 1 }
            job.written = false
        }
        usleep(useconds_t(1000 + random.next(4000)))
    }
    say("appended \(appends)")
}

/// What one garbage-writing thread does, handed to it by pointer.
private struct GarbageJob {
    var mutex: UnsafeMutableRawPointer
    var directory: String
    var count: Int
    var buffer: [UInt8]
    var written = false
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

/// Whether `error` is a manifest write that failed because `blocker` put a directory where
/// the temporary manifest goes: the one failure the stress provokes on purpose.
func isBlockedManifestWrite(_ error: any Error) -> Bool {
    if case CacheError.io(_, let path, _) = error { return path.hasSuffix("/MANIFEST.tmp") }
    return false
}

/// `stresswriter DIR SECONDS WORKER KEYS`: sets its own keys ("w<WORKER>-<i>") in a loop,
/// reading each back at once, and every few writes a key of another worker; at the end
/// reopens the store and checks every one of its keys. A set that fails because a manifest
/// write was blocked is not acknowledged: the key may then hold the value before it or the
/// one that failed, and nothing else. The first to open the store creates it with 16 KiB
/// segments, so that segments roll often. Prints "bad KEY" for every wrong read and
/// "done WRITES FAILED" at the end.
func runStressWriter(_ args: [String]) throws {
    guard args.count >= 6, let seconds = Double(args[3]), let worker = Int(args[4]), let keys = Int(args[5]), keys > 0
    else { exit(2) }
    let options = Options(segmentSize: 16 << 10, compaction: .manual)
    let store = try CacheStore(directory: args[2], options: options)
    var random = WorkerRandom(seed: UInt64(worker + 101))
    // The values each key may hold (nil: none), as far as this writer's acknowledgements say.
    var possible: [String: [[UInt8]?]] = [:]
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var n = 0
    var failed = 0
    while monotonicNanoseconds() < end {
        let key = "w\(worker)-\(random.next(keys))"
        let value = sharedValue(key: key, writer: worker, n: n)
        n += 1
        do {
            try store.set(value, forKey: key)
            possible[key] = [value]
        } catch {
            guard isBlockedManifestWrite(error) else { throw error }
            possible[key, default: [nil]].append(value)
            failed += 1
            // Backs off as a caller would, and lets other processes publish meanwhile (what
            // a handle that took its failed manifest for published would then miss).
            usleep(useconds_t(100_000 + random.next(150_000)))
            continue
        }
        if try store.value(forKey: key) != value { say("bad \(key)") }
        if n % 5 == 0 {
            // Another writer's key: any whole value of it, or none, but never a wrong one.
            let other = "w\(random.next(4))-\(random.next(keys))"
            if let v = try store.value(forKey: other), checkSharedValue(v, key: other) == nil { say("bad \(other)") }
        }
    }
    try store.close()
    let reopened = try CacheStore(directory: args[2], options: options)
    for (key, values) in possible where !values.contains(try reopened.value(forKey: key)) {
        say("bad \(key) after reopen")
    }
    try reopened.close()
    say("done \(n) \(failed)")
}

/// `blocker DIR SECONDS`: from one second in (when the others have opened the store: an
/// open removes leftover `*.tmp` files and fails on a directory) to four fifths of SECONDS,
/// over and over, puts a
/// directory where the temporary manifest goes for 20 to 80 ms (every roll and compaction
/// that publishes meanwhile fails), then removes it for 200 to 600 ms (so that compactions
/// still succeed often enough to keep the others reloading). Prints "blocked N".
func runBlocker(_ args: [String]) throws {
    guard args.count >= 4, let seconds = Double(args[3]) else { exit(2) }
    let path = args[2] + "/MANIFEST.tmp"
    var random = WorkerRandom(seed: 3)
    // Stopped early, so the writers' closing checks reopen a store with nothing in the way.
    let end = monotonicNanoseconds() + UInt64(seconds * 0.8e9)
    sleep(1)
    var blocked = 0
    while monotonicNanoseconds() < end {
        if mkdir(path, 0o700) == 0 { blocked += 1 }
        usleep(useconds_t(20_000 + random.next(60_000)))
        rmdir(path)
        usleep(useconds_t(200_000 + random.next(400_000)))
    }
    say("blocked \(blocked)")
}

/// `stresscompact DIR SECONDS`: compaction passes back to back, as `compactloop`, except that
/// a pass whose manifest write `blocker` blocked is counted and the loop goes on. Prints
/// "passes N FAILED".
func runStressCompact(_ args: [String]) throws {
    guard args.count >= 4, let seconds = Double(args[3]) else { exit(2) }
    let store = try CacheStore(directory: args[2], options: Options(compaction: .manual))
    let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
    var passes = 0
    var failed = 0
    while monotonicNanoseconds() < end {
        do {
            if try store.compact().segmentsRewritten > 0 { passes += 1 }
        } catch {
            guard isBlockedManifestWrite(error) else { throw error }
            failed += 1
        }
        usleep(20_000)
    }
    try store.close()
    say("passes \(passes) \(failed)")
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
