// The comparison runner: the same workloads on LogCache, SQLite, LMDB, RocksDB, LevelDB (in
// this process) and Python's diskcache (Scripts/diskcache_replay.py, replaying the workload
// files this program writes), printed as one table of figures and ratios LogCache / peer.
//
//   PeerBenchmark [--full] [--dir PATH] [--stores logcache,sqlite,lmdb,rocksdb,leveldb,diskcache]
//                 (also logcache-lz4 and logcache-nohot, LogCache without hot values, on request)
//                 [--workloads 1,2,3,4,5,6,7] [--python PATH] [--script PATH] [--json PATH]
//                 [--keys N] [--large-mib N] [--reopen N,N] [--processes 1,2,4,8]
//                 (override the sizes of 2–4, 5, 6 and the process counts of 7)
import Foundation

if CommandLine.arguments.count == 5, CommandLine.arguments[1] == "--open-child" {
    do {
        guard let kind = PeerKind(rawValue: CommandLine.arguments[2]) else { exit(2) }
        try ReopenWorkload.child(kind: kind, directory: CommandLine.arguments[3], probe: CommandLine.arguments[4])
        exit(0)
    } catch {
        print("error: \(error)")
        exit(3)
    }
}
if CommandLine.arguments.count == 8, CommandLine.arguments[1] == "--mix-child" {
    let a = CommandLine.arguments
    do {
        guard let kind = PeerKind(rawValue: a[2]), let keys = Int(a[5]), let index = Int(a[6]), let count = Int(a[7])
        else { exit(2) }
        try ProcessesWorkload.child(kind: kind, directory: a[3], opsFile: a[4], keyCount: keys, index: index, count: count)
        exit(0)
    } catch {
        print("error: \(error)")
        exit(3)
    }
}

struct Arguments {
    var sizes = Sizes.standard
    var full = false
    var directory = "/var/tmp/logcache-bench-peers"
    var stores = PeerKind.allCases.filter { $0 != .logcacheNoHot }.map(\.rawValue) + ["diskcache"]
    var workloads: Set<Int> = [1, 2, 3, 4, 5, 6, 7]
    var python = "/usr/bin/env"
    var script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Scripts/diskcache_replay.py").standardized.path
    var json: String?

    init() {
        if CommandLine.arguments.contains("--full") { sizes = .full }
        var it = CommandLine.arguments.dropFirst().makeIterator()
        func value(_ flag: String) -> String {
            guard let v = it.next() else { fail("\(flag) needs a value") }
            return v
        }
        while let flag = it.next() {
            switch flag {
            case "--full": full = true   // applied first, below, so that other size options refine it
            case "--dir": directory = value(flag)
            case "--stores": stores = value(flag).split(separator: ",").map(String.init)
            case "--workloads": workloads = Set(value(flag).split(separator: ",").compactMap { Int($0) })
            case "--python": python = value(flag)
            case "--script": script = value(flag)
            case "--json": json = value(flag)
            case "--keys":
                guard let n = Int(value(flag)), n >= 2 else { fail("--keys needs a number of at least 2") }
                sizes.cacheKeys = n
                sizes.warmGets = n
                sizes.mixOps = 2 * n
            case "--large-mib":
                guard let n = Int(value(flag)), n > 0 else { fail("--large-mib needs a positive number") }
                sizes.largeTotal = n << 20
            case "--processes":
                sizes.processCounts = value(flag).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            case "--reopen":
                sizes.reopenCounts = value(flag).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            default: fail("unknown option \(flag)")
            }
        }
        for s in stores where PeerKind(rawValue: s) == nil && s != "diskcache" { fail("unknown store \(s)") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(2)
}

let args = Arguments()
let dataDirectory = args.directory + "/data"
let storesDirectory = args.directory + "/stores"
try? FileManager.default.removeItem(atPath: args.directory)
try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
try FileManager.default.createDirectory(atPath: storesDirectory, withIntermediateDirectories: true)

let titles = args.stores.map { PeerKind(rawValue: $0)?.title ?? "diskcache" }
let results = Results(stores: titles)
let context = Context(sizes: args.sizes, results: results, executable: "/proc/self/exe")
let diskcache = args.stores.contains("diskcache")
    ? DiskcacheReplay(python: args.python, script: args.script) : nil

var workloads: [any Workload] = []
if args.workloads.contains(1) { workloads.append(LLMWorkload()) }
if !args.workloads.isDisjoint(with: [2, 3, 4]) { workloads.append(CacheWorkload()) }
if args.workloads.contains(5) { workloads.append(LargeValueWorkload()) }
if args.workloads.contains(6) { workloads.append(ReopenWorkload()) }
if args.workloads.contains(7) { workloads.append(ProcessesWorkload()) }

var failures: [String] = []
for workload in workloads {
    progress("== \(workload.name): generating data")
    let file = diskcache.map { _ in dataDirectory + "/\(workload.name).wl" }
    try workload.prepare(context, file: file)
    if let large = workload as? LargeValueWorkload {
        progress("   disk: dd \(args.sizes.largeTotal >> 20) MiB with conv=fdatasync")
        try large.measureDisk(directory: storesDirectory, context)
    }
    for store in args.stores {
        let directory = storesDirectory + "/\(workload.name)-\(store)"
        let started = Date()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            progress("   \(store): \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
        do {
            if let kind = PeerKind(rawValue: store) {
                try workload.run(kind, directory: directory, context)
            } else if let diskcache, let file {
                try diskcache.run(workload: workload.name, file: file, directory: directory, results: results)
            }
        } catch {
            progress("   \(store) failed: \(error)")
            failures.append("\(workload.name) on \(store): \(error)")
        }
    }
}
try? FileManager.default.removeItem(atPath: dataDirectory)

print("Sizes: \(args.full ? "full (--full)" : "default"); ratios are LogCache / peer; ✗ marks a row where the peer is ahead.")
print()
print(results.markdown())
if let json = args.json { try results.json().write(to: URL(fileURLWithPath: json)) }
if !failures.isEmpty {
    print()
    for f in failures { print("failed: \(f)") }
    exit(1)
}
