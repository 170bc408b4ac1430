// A child process for the tests. Commands:
//   logcache-worker write DIR COUNT SEED [sync]
//     sets key-<i> to WorkerValues.value(seed, i) for i in 0..<COUNT, printing "acked <i>" after each
//     returns, so a parent can kill it mid-stream and know which writes were acknowledged.
//   logcache-worker hold DIR
//     opens the store, prints "open", and waits to be killed.
//   logcache-worker compact DIR PHASE N
//     runs one compaction pass and kills itself with SIGKILL at the Nth progress report of
//     PHASE (copying, publishing or removing), printing "killing" first; prints "done" if
//     the pass ends before that.
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

let args = CommandLine.arguments
guard args.count >= 3 else {
    say("usage: logcache-worker write DIR COUNT SEED [sync] | hold DIR")
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
    default:
        exit(2)
    }
} catch {
    say("error \(error)")
    exit(3)
}
