// A child process for the tests. Commands:
//   logcache-worker write DIR COUNT SEED [sync]
//     sets key-<i> to WorkerValues.value(seed, i) for i in 0..<COUNT, printing "acked <i>" after each
//     returns, so a parent can kill it mid-stream and know which writes were acknowledged.
//   logcache-worker crashtest STORE [--kills N] [--writers W] [--keys K] [--durability sync|none|interval]
//                              [--capacity BYTES] [--compaction on|off] [--seed S] [--max-delay-ms MS]
//     the crash loop's driver (CrashDriver.swift); tools/crashtest runs it.
//   logcache-worker crash-writer STORE W WRITERS KEYS VERSION SEED DURABILITY CAPACITY COMPACTION
//     one writer of the crash loop (CrashWriter.swift), started and killed by the driver.
//   logcache-worker shared-memoize DIR REDIS_URL REQUEST SLEEP_MS LOG LEASE_MS
//     memoizes REQUEST through the shared tier at REDIS_URL (leases of LEASE_MS), appending
//     "computed PID" to LOG when it computes; prints "computing", its tier counts, "result …".
//   logcache-worker hold DIR
//     opens the store, prints "open", and waits to be killed.
//   logcache-worker watch-forged DIR MS
//     opens the store, prints "watching", and for MS milliseconds reads "admin" and "victim"
//     over and over (each read catches up with what other processes appended): prints
//     "forged" and exits 1 if "admin" ever has a value or "victim" is not "precious", else
//     prints "clean READS".
//   logcache-worker fill-limit DIR LIMIT SEED
//     caps the size of any file it writes at LIMIT bytes (RLIMIT_FSIZE, SIGXFSZ ignored, so a
//     write past it fails with EFBIG), writes key-<i> until three writes fail, lifts the cap
//     and writes 20 more; then checks the store itself (see fillAndCheck).
//   logcache-worker fill-batches DIR LIMIT SEED
//     the same cap, with batches of 1,000 compressed values (setValues) until one fails: the
//     failed batch must have left a prefix of whole chunks written and nothing after it; then
//     the cap is lifted, two more batches go in, and the store is reopened and checked.
//   logcache-worker fill-disk MOUNT SEED
//     the same on a small file system mounted at MOUNT (a tmpfs the caller made): a ballast
//     file takes part of the space, writes run until ENOSPC, and removing the ballast gives
//     the space back.
//   logcache-worker mixed | compactloop | tornappend | bench ...
//     workloads for several processes on one store (SharedWorkload.swift).
//   logcache-worker garbage | stresswriter | stressreader | blocker | stresscompact | fsck ...
//     the roles of tools/stress-sharing (SharingStress.swift).
//   logcache-worker compact DIR PHASE N
//     runs one compaction pass and kills itself with SIGKILL at the Nth progress report of
//     PHASE (copying, publishing or removing), printing "killing" first; prints "done" if
//     the pass ends before that. PHASE "returned" kills it as soon as the pass returns,
//     while its retired files are still being removed in the background.
//   logcache-worker open DIR
//     opens the store and closes it again, printing "opened", or "store-locked" (exit 4) when
//     another process has it open and the store does not allow that.
//   logcache-worker keylock DIR REQUEST HOLD_MS|forever
//     prints "waiting", takes the memo lock of REQUEST (namespace "lock", version "1") in the
//     store directory DIR, prints "locked", holds it HOLD_MS milliseconds (or until killed),
//     releases it and prints "released".
//   logcache-worker count DIR ROUNDS
//     ROUNDS times: takes the memo lock of "counter", adds one to the number in DIR/count
//     (read, pause, write: lost updates if the lock ever lets two holders in), releases it.
//   logcache-worker key NAMESPACE VERSION chat|set
//     reads JSON from standard input (a chat request body, or an array of strings taken as a
//     set) and prints the memo key this process computes for it.
//   logcache-worker memoize DIR REQUEST SLEEP_MS LOG
//     opens the store and memoizes REQUEST (namespace "shared", version "1"); the computation
//     appends "computed PID" to LOG, prints "computing", sleeps SLEEP_MS and returns
//     "result of REQUEST". Prints "result TEXT" at the end, or "store-locked" (exit 4) when the
//     store refuses a second process.
import Foundation
import LogCache
import LogCacheRedis

#if canImport(Glibc)
import Glibc
#endif

/// The value written for index `i` under `seed` (the tests compute the same): lengths and
/// bytes vary with `i`.
func workerValue(seed: UInt64, index i: Int) -> [UInt8] {
    (0..<(i &* 37 % 3000 + 1)).map { j in UInt8(truncatingIfNeeded: Int(seed) &+ i &* 31 &+ j &* j &* 7) }
}

func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

/// RLIMIT_FSIZE as the resource number getrlimit and setrlimit take.
let fileSizeLimit = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)

/// Caps the size of any file this process writes at `limit` bytes, with SIGXFSZ ignored so
/// that a write past it fails with EFBIG; returns what lifts the cap again.
func capFileSize(at limit: UInt64) -> () -> Void {
    signal(SIGXFSZ, SIG_IGN)
    var cap = rlimit()
    getrlimit(fileSizeLimit, &cap)
    let unlimited = cap
    cap.rlim_cur = rlim_t(limit)
    guard setrlimit(fileSizeLimit, &cap) == 0 else { say("error setrlimit"); exit(3) }
    return {
        var restored = unlimited
        guard setrlimit(fileSizeLimit, &restored) == 0 else { say("error setrlimit"); exit(3) }
    }
}
/// Opens the store; when another process has it open and the store does not allow that,
/// prints "store-locked" and exits 4, so a test can tell this apart from a failure.
func openSharing(_ path: String) throws -> CacheStore {
    do {
        return try CacheStore(directory: path)
    } catch {
        if case .locked = error {
            say("store-locked")
            exit(4)
        }
        throw error
    }
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    say("usage: logcache-worker write DIR COUNT SEED [sync] | hold DIR | open DIR | keylock DIR REQUEST HOLD_MS | count DIR ROUNDS | key NAMESPACE VERSION chat|set | memoize DIR REQUEST SLEEP_MS LOG")
    exit(2)
}
do {
    switch args[1] {
    case "write":
        guard args.count >= 5, let count = Int(args[3]), let seed = UInt64(args[4]) else { exit(2) }
        let sync = args.count > 5 && args[5] == "sync"
        let store = try CacheStore(directory: args[2], options: Options(
            segmentSize: 256 << 10, durability: sync ? .syncEveryWrite : .none))
        for i in 0..<count {
            try store.set(workerValue(seed: seed, index: i), forKey: "key-\(i)")
            say("acked \(i)")
        }
        try store.close()
    case "fill-limit":
        guard args.count >= 5, let limit = UInt64(args[3]), let seed = UInt64(args[4]) else { exit(2) }
        let lift = capFileSize(at: limit)
        try fillAndCheck(directory: args[2], seed: seed, segmentSize: 64 << 10, spaceBack: lift)
    case "fill-batches":
        guard args.count >= 5, let limit = UInt64(args[3]), let seed = UInt64(args[4]) else { exit(2) }
        let lift = capFileSize(at: limit)
        try fillBatchesAndCheck(directory: args[2], seed: seed, spaceBack: lift)
    case "fill-disk":
        guard args.count >= 4, let seed = UInt64(args[3]) else { exit(2) }
        let ballast = args[2] + "/ballast"
        let fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let chunk = [UInt8](repeating: 0xBA, count: 64 << 10)
        for _ in 0..<(4 + Int(seed % 5)) { guard fd >= 0, write(fd, chunk, chunk.count) == chunk.count else { say("error ballast"); exit(3) } }
        close(fd)
        try fillAndCheck(directory: args[2] + "/store", seed: seed, segmentSize: 16 << 10) {
            guard unlink(ballast) == 0 else { say("error unlink ballast"); exit(3) }
        }
    case "crash-writer":
        guard args.count >= 11, let w = Int(args[3]), let writers = Int(args[4]), let keys = Int(args[5]), keys > 0,
              let version = Int64(args[6]), let seed = UInt64(args[7]), let capacity = Int(args[9])
        else { say("error: bad crash-writer arguments"); exit(2) }
        let settings = CrashSettings(durability: args[8], capacity: capacity > 0 ? capacity : nil,
                                     compaction: args[10] == "compaction")
        let options = try settings.options()
        let store = try CacheStore(directory: args[2], options: options)
        say("open")
        var writer = CrashWriter(store: store, directory: args[2], options: options, writer: w, keys: keys, version: version, random: CrashRandom(seed: seed),
                                 allowClear: writers == 1)
        try writer.run()
    case "crashtest":
        runCrashTest(Array(args.dropFirst(2)))
    case "mixed":
        try runMixed(args)
    case "compactloop":
        try runCompactLoop(args)
    case "tornappend":
        try runTornAppend(args)
    case "bench":
        try runBench(args)
    case "garbage":
        try runGarbage(args)
    case "stresswriter":
        try runStressWriter(args)
    case "stressreader":
        try runStressReader(args)
    case "blocker":
        try runBlocker(args)
    case "stresscompact":
        try runStressCompact(args)
    case "fsck":
        try runFsck(args)
    case "load":
        try runLoad(args)
    case "compact":
        guard args.count >= 5, let n = Int(args[4]) else { exit(2) }
        let store = try CacheStore(directory: args[2], options: Options(compaction: .manual))
        var seen = 0
        try store.compact { p in
            guard "\(p.phase)" == args[3] else { return }
            seen += 1
            if seen == n {
                say("killing")
                kill(getpid(), SIGKILL)
            }
        }
        if args[3] == "returned" {
            // Killed as soon as the pass returns: its retired files are still being removed.
            say("killing")
            kill(getpid(), SIGKILL)
        }
        say("done")
        try store.close()
    case "watch-forged":
        guard args.count >= 4, let ms = Int(args[3]) else { exit(2) }
        let store = try CacheStore(directory: args[2], options: Options(compaction: .manual))
        say("watching")
        let end = ContinuousClock.now + .milliseconds(ms)
        var reads = 0
        while ContinuousClock.now < end {
            if try store.value(forKey: "admin") != nil || store.value(forKey: "victim") != Array("precious".utf8) {
                say("forged")
                exit(1)
            }
            reads += 1
        }
        try store.close()
        say("clean \(reads)")
    case "hold":
        let store = try CacheStore(directory: args[2])
        say("open")
        withExtendedLifetime(store) { while true { sleep(60) } }
    case "open":
        try openSharing(args[2]).close()
        say("opened")
    case "keylock":
        guard args.count >= 5 else { exit(2) }
        let key = try MemoKey(namespace: "lock", version: "1", request: args[3])
        say("waiting")
        let lock = try MemoLock.acquire(storeDirectory: args[2], key: key)
        say("locked")
        if args[4] == "forever" { while true { sleep(60) } }
        usleep(useconds_t((Int(args[4]) ?? 0) * 1000))
        lock.release()
        say("released")
    case "count":
        guard args.count >= 4, let rounds = Int(args[3]) else { exit(2) }
        let key = try MemoKey(namespace: "lock", version: "1", request: "counter")
        let path = args[2] + "/count"
        for _ in 0..<rounds {
            let lock = try MemoLock.acquire(storeDirectory: args[2], key: key)
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "0"
            let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            usleep(200)
            try String(n + 1).write(toFile: path, atomically: true, encoding: .utf8)
            lock.release()
        }
        say("done")
    case "key":
        guard args.count >= 5 else { exit(2) }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let key = args[4] == "set"
            ? try MemoKey(namespace: args[2], version: args[3], request: Set(try JSONDecoder().decode([String].self, from: input)))
            : try MemoKey(namespace: args[2], version: args[3], request: try JSONDecoder().decode(ChatRequest.self, from: input))
        say(key.storeKey)
    case "memoize":
        guard args.count >= 6, let sleepMS = Int(args[4]) else { exit(2) }
        let store = try openSharing(args[2])
        let request = args[3]
        let result = try store.memoize(namespace: "shared", version: "1", key: request) { () throws -> String in
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: args[5]))
            try log.seekToEnd()
            try log.write(contentsOf: Data("computed \(getpid())\n".utf8))
            try log.close()
            say("computing")
            usleep(useconds_t(sleepMS * 1000))
            return "result of \(request)"
        }
        say("result \(result)")
        try store.close()
    case "shared-memoize":
        // shared-memoize DIR REDIS_URL REQUEST SLEEP_MS LOG LEASE_MS: memoize across machines
        // through the shared tier; appends "computed PID" to LOG when it computes.
        guard args.count >= 8, let sleepMS = Int(args[5]), let leaseMS = Int(args[7]) else { exit(2) }
        let store = try openSharing(args[2])
        var options = try SharedTierOptions(url: args[3])
        options.leaseDuration = .milliseconds(leaseMS)
        let cache = try SharedCache(local: store, options: options)
        let request = args[4]
        let result = try cache.memoize(namespace: "shared", version: "1", key: request) { () throws -> String in
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: args[6]))
            try log.seekToEnd()
            try log.write(contentsOf: Data("computed \(getpid())\n".utf8))
            try log.close()
            say("computing")
            usleep(useconds_t(sleepMS * 1000))
            return "result of \(request)"
        }
        let s = cache.sharedStatistics
        say("stats leased=\(s.leasedComputations) waits=\(s.leaseWaits) takeovers=\(s.leaseTakeovers) errors=\(s.errors)")
        say("result \(result)")
        cache.close()
        try store.close()
    case "memo-interop":
        // The request a Python function `ask(prompt, temperature, max_tokens)` memoized with
        // name "interop" makes: its arguments by parameter name.
        struct Ask: Codable { var prompt: String; var temperature: Double; var max_tokens: Int }
        struct Answer: Codable { var text: String; var tokens: Int }
        guard args.count >= 6, let temperature = Double(args[4]), let maxTokens = Int(args[5]) else { exit(2) }
        let store = try openSharing(args[2])
        var computed = false
        let answer = try store.memoize(namespace: "interop", version: "1",
                                       key: Ask(prompt: args[3], temperature: temperature, max_tokens: maxTokens)) {
            computed = true
            return Answer(text: "swift: \(args[3])", tokens: maxTokens)
        }
        say("\(computed ? "computed" : "hit") \(answer.text) \(answer.tokens)")
        try store.close()
    case "typed-get":
        let store = try openSharing(args[2])
        if let (type, value) = try store.typedValue(forKey: Array(args[3].utf8)) {
            say("\(type) \(String(decoding: value, as: UTF8.self))")
        } else {
            say("missing")
        }
        try store.close()
    default:
        exit(2)
    }
} catch {
    say("error \(error)")
    exit(3)
}

/// Parses the crashtest options and runs the driver; exits 0 when nothing was wrong.
func runCrashTest(_ arguments: [String]) -> Never {
    var store: String?
    var options: [String: String] = [:]
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a.hasPrefix("--"), i + 1 < arguments.count {
            options[String(a.dropFirst(2))] = arguments[i + 1]
            i += 1
        } else if store == nil, !a.hasPrefix("--") {
            store = a
        } else {
            say("crashtest: unexpected argument \(a)")
            exit(2)
        }
        i += 1
    }
    let known: Set<String> = ["kills", "writers", "keys", "durability", "capacity", "compaction", "seed", "max-delay-ms"]
    guard let store, options.keys.allSatisfy(known.contains),
          let kills = Int(options["kills"] ?? "20"), let writers = Int(options["writers"] ?? "1"), writers >= 1,
          let keys = Int(options["keys"] ?? "300"), keys >= 1, let seed = UInt64(options["seed"] ?? "1"),
          let capacity = Int(options["capacity"] ?? "0"), let maxDelay = Int(options["max-delay-ms"] ?? "300"), maxDelay >= 10,
          ["on", "off"].contains(options["compaction"] ?? "on")
    else {
        say("usage: logcache-worker crashtest STORE [--kills N] [--writers W] [--keys K] [--durability sync|none|interval] [--capacity BYTES] [--compaction on|off] [--seed S] [--max-delay-ms MS]")
        exit(2)
    }
    let compaction = (options["compaction"] ?? "on") == "on"
    let settings = CrashSettings(durability: options["durability"] ?? "sync", capacity: capacity > 0 ? capacity : nil,
                                 compaction: compaction)
    var exe = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &exe, exe.count - 1)
    let workerPath = n > 0 ? String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    var driver = CrashDriver(store: store, kills: kills, writers: writers, keys: keys, seed: seed, settings: settings,
                             workerPath: workerPath)
    driver.maxDelayMs = maxDelay
    do {
        exit(try driver.run() ? 0 : 1)
    } catch {
        say("crashtest: \(error)")
        exit(3)
    }
}

/// Writes key-<i> until three writes fail for want of space, reads the acknowledged keys
/// back while the disk is still full, calls `spaceBack`, writes 20 more keys, closes, and then
/// checks the store as a fresh open and fsck see it. Prints "acked I", "failed I: ERROR",
/// "space back", "closed", then "verified A acked, F failed absent" and "fsck clean" (or
/// "wrong ..." lines for anything that does not hold).
/// Batches of 1,000 values into a store until one fails (the caller capped the file size),
/// then two more once `spaceBack` lifted the cap; checks what the failed batch left, before
/// and after a reopen, and runs fsck. Prints "prefix N of the failed batch" (N written
/// entries), "verified ...", "fsck clean", or lines starting "wrong".
func fillBatchesAndCheck(directory: String, seed: UInt64, spaceBack: () -> Void) throws(CacheError) {
    let store = try CacheStore(directory: directory, options: Options(segmentSize: 8 << 20))
    let batchSize = 1_000
    func batch(_ b: Int) -> [StoreEntry] {
        (0..<batchSize).map { j in
            StoreEntry(key: Array("key-\(b)-\(j)".utf8), value: workerValue(seed: seed, index: b * batchSize + j), expiresAt: nil)
        }
    }
    var acked: [Int] = []
    var failedBatch: Int?
    var b = 0
    while failedBatch == nil && b < 50 {
        do {
            try store.setValues(batch(b))
            acked.append(b)
        } catch {
            failedBatch = b
            say("failed \(b): \(error)")
        }
        b += 1
    }
    guard let failedBatch else { say("wrong: no batch failed"); return }
    // The entries of the failed batch that were written: a prefix, and nothing after it.
    func prefix(_ s: CacheStore) throws(CacheError) -> Int? {
        let entries = batch(failedBatch)
        let present = try entries.map { e throws(CacheError) in try s.value(forKey: e.key) }
        let n = present.prefix { $0 != nil }.count
        guard present.dropFirst(n).allSatisfy({ $0 == nil }) else { return nil }
        for j in 0..<n where present[j] != entries[j].value { return nil }
        return n
    }
    guard let written = try prefix(store) else { say("wrong: the failed batch left more than a prefix"); return }
    say("prefix \(written) of the failed batch")
    spaceBack()
    say("space back")
    for _ in 0..<2 {
        try store.setValues(batch(b))
        acked.append(b)
        b += 1
    }
    try store.close()
    let reopened = try CacheStore(directory: directory)
    var wrong = 0
    for a in acked {
        for e in batch(a) where try reopened.value(forKey: e.key) != e.value {
            say("wrong: acked \(String(decoding: e.key, as: UTF8.self)) does not read back")
            wrong += 1
        }
    }
    if try prefix(reopened) != written { say("wrong: the failed batch's prefix changed at the reopen"); wrong += 1 }
    try reopened.close()
    if wrong == 0 { say("verified \(acked.count) batches") }
    let report = try StoreCheck.run(directory: directory)
    say(report.ok ? "fsck clean" : "wrong: fsck found \(report.problems.map(\.description))")
}

func fillAndCheck(directory: String, seed: UInt64, segmentSize: Int, spaceBack: () -> Void) throws(CacheError) {
    let store = try CacheStore(directory: directory, options: Options(compression: .none, segmentSize: segmentSize))
    var acked: [Int] = []
    var failed: [Int] = []
    var i = 0
    while failed.count < 3 && i < 1_000_000 {
        do {
            try store.set(workerValue(seed: seed, index: i), forKey: "key-\(i)")
            acked.append(i)
            say("acked \(i)")
        } catch {
            failed.append(i)
            say("failed \(i): \(error)")
        }
        i += 1
    }
    // A full disk does not stop reads.
    for k in acked where try store.value(forKey: "key-\(k)") != workerValue(seed: seed, index: k) {
        say("wrong read of key-\(k) while full")
    }
    spaceBack()
    say("space back")
    for _ in 0..<20 {
        try store.set(workerValue(seed: seed, index: i), forKey: "key-\(i)")
        acked.append(i)
        say("acked \(i)")
        i += 1
    }
    try store.close()
    say("closed")
    let reopened = try CacheStore(directory: directory)
    var wrong = 0
    for k in acked where try reopened.value(forKey: "key-\(k)") != workerValue(seed: seed, index: k) {
        say("wrong: acked key-\(k) does not read back")
        wrong += 1
    }
    for k in failed where try reopened.value(forKey: "key-\(k)") != nil {
        say("wrong: failed key-\(k) reads back")
        wrong += 1
    }
    try reopened.close()
    if wrong == 0 { say("verified \(acked.count) acked, \(failed.count) failed absent") }
    let report = try StoreCheck.run(directory: directory)
    say(report.ok ? "fsck clean" : "wrong: fsck found \(report.problems.map(\.description))")
}
