// A child process for the tests. Commands:
//   logcache-worker write DIR COUNT SEED [sync]
//     sets key-<i> to WorkerValues.value(seed, i) for i in 0..<COUNT, printing "acked <i>" after each
//     returns, so a parent can kill it mid-stream and know which writes were acknowledged.
//   logcache-worker hold DIR
//     opens the store, prints "open", and waits to be killed.
//   logcache-worker mixed | compactloop | tornappend | bench ...
//     workloads for several processes on one store (SharedWorkload.swift).
//   logcache-worker compact DIR PHASE N
//     runs one compaction pass and kills itself with SIGKILL at the Nth progress report of
//     PHASE (copying, publishing or removing), printing "killing" first; prints "done" if
//     the pass ends before that.
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
    case "mixed":
        try runMixed(args)
    case "compactloop":
        try runCompactLoop(args)
    case "tornappend":
        try runTornAppend(args)
    case "bench":
        try runBench(args)
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
        say("done")
        try store.close()
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
    default:
        exit(2)
    }
} catch {
    say("error \(error)")
    exit(3)
}
