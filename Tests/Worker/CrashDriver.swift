import Foundation
import LogCache

/// The crash loop's driver (`crashtest`): starts writer processes on one store, kills them
/// with SIGKILL at a random moment, opens the store and checks every key against the expected
/// state, again and again.
///
/// The expected state lives in a file beside the store (STORE.expected), rewritten atomically
/// after every check, so it survives the kills and a run can be resumed. For each key it holds
/// the version the store must have (-1 for none). A writer's operation that was begun but not
/// acknowledged when it was killed may or may not have happened; the check accepts either and
/// records what it found.
///
/// A SIGKILL leaves the kernel's page cache alone, so under every durability mode every
/// acknowledged write must survive (docs/format.md, Durability): a key may read only its
/// acknowledged version or that of an operation in flight. With a capacity, eviction may also
/// have removed a key, so a missing key is counted, not failed; a wrong value always fails.
struct CrashDriver {
    var store: String
    var kills: Int
    var writers: Int
    var keys: Int
    var seed: UInt64
    var settings: CrashSettings
    var workerPath: String
    var minDelayMs = 10
    var maxDelayMs = 300
    var fsckEvery = 5

    /// Key -> version it must have (-1: absent).
    private var expected: [String: Int64] = [:]
    private var cycle = 0
    private var versionBase: Int64 = 0
    private var totals = Totals()

    struct Totals {
        var kills = 0
        var checkedKeys = 0
        var ackedOps = 0
        var inFlight = 0
        var inFlightApplied = 0
        var evictedOrMissing = 0
        var wrong = 0
        var fscks = 0
    }

    init(store: String, kills: Int, writers: Int, keys: Int, seed: UInt64, settings: CrashSettings, workerPath: String) {
        self.store = store
        self.kills = kills
        self.writers = writers
        self.keys = keys
        self.seed = seed
        self.settings = settings
        self.workerPath = workerPath
    }

    var stateFile: String { store + ".expected" }

    mutating func run() throws -> Bool {
        try loadState()
        var random = CrashRandom(seed: seed &+ UInt64(cycle))
        let started = Date()
        while totals.kills < kills {
            cycle += 1
            let logs = try startAndKill(&random)
            try check(logs: logs)
            if cycle % fsckEvery == 0 || totals.kills == kills { try fsck() }
            try saveState()
            if totals.wrong > 0 { break }
        }
        let seconds = Int(Date().timeIntervalSince(started))
        print("crashtest: \(totals.kills) kills survived (\(writers) writer\(writers == 1 ? "" : "s"), durability \(settings.durability)"
              + "\(settings.capacity.map { ", capacity \($0)" } ?? ""), compaction \(settings.compaction ? "on" : "off")) in \(seconds) s; \(totals.ackedOps) acknowledged operations; "
              + "\(totals.checkedKeys) key checks; \(totals.inFlight) operations in flight at a kill (in \(totals.inFlightApplied) checks one had taken effect); "
              + "\(totals.evictedOrMissing) keys missing (allowed only with a capacity); \(totals.fscks) fsck runs clean; \(totals.wrong) wrong")
        return totals.wrong == 0
    }

    /// Starts the writers, waits until each has the store open, lets them run for a random
    /// time and kills each at its own random moment. Returns each writer's output.
    private mutating func startAndKill(_ random: inout CrashRandom) throws -> [[String]] {
        let dir = store + ".logs"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var processes: [(Process, String)] = []
        for w in 0..<writers {
            let log = dir + "/writer-\(w).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: workerPath)
            // Versions of a cycle start far above the last cycle's, so no two writes share one.
            let base = (Int64(cycle) * Int64(writers) + Int64(w)) * 10_000_000
            p.arguments = ["crash-writer", store, String(w), String(writers), String(keys), String(base),
                           String(random.next()), settings.durability, settings.capacity.map(String.init) ?? "0",
                           settings.compaction ? "compaction" : "no-compaction"]
            p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append((p, log))
        }
        // Wait until every writer has opened the store (or given up).
        let deadline = Date().addingTimeInterval(30)
        for (p, log) in processes {
            while p.isRunning, !(lines(log).first.map { $0 == "open" } ?? false), Date() < deadline { usleep(2000) }
        }
        let window = minDelayMs + Int(random.next() % UInt64(maxDelayMs - minDelayMs + 1))
        var killAt = processes.map { _ in Int(random.next() % UInt64(window + 1)) }
        if writers == 1 { killAt = [window] }
        let start = Date()
        for (i, (p, _)) in processes.enumerated().sorted(by: { killAt[$0.offset] < killAt[$1.offset] }) {
            let wait = Double(killAt[i]) / 1000 - Date().timeIntervalSince(start)
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                totals.kills += 1
            }
        }
        var logs: [[String]] = []
        for (p, log) in processes {
            p.waitUntilExit()
            let out = lines(log)
            if p.terminationReason != .uncaughtSignal {
                let last = out.suffix(3).joined(separator: " | ")
                if writers > 1, last.contains("open in another process") {
                    throw CrashTestError("a second writer could not open the store (\(last)): several writer processes on one store need multi-process support (issue 6); use --writers 1 until then")
                }
                throw CrashTestError("writer exited by itself (status \(p.terminationStatus)) instead of being killed: \(last)")
            }
            logs.append(out)
        }
        return logs
    }

    /// Reads the writers' logs into acknowledged changes and the alternatives of operations in
    /// flight, opens the store and checks every key.
    private mutating func check(logs: [[String]]) throws {
        // Key -> versions it may have because an operation on it was in flight.
        var maybe: [String: Set<Int64>] = [:]
        var clearInFlight = false
        for log in logs {
            var pending: [String]? = nil
            for line in log.dropFirst() {
                if line == "ack" {
                    if let op = pending { apply(op, to: &expected) }
                    totals.ackedOps += 1
                    pending = nil
                } else if line.hasPrefix("begin ") {
                    pending = line.split(separator: " ").map(String.init)
                }
            }
            if let op = pending {
                totals.inFlight += 1
                var alternative: [String: Int64] = [:]
                if op[1] == "clear" { clearInFlight = true }
                apply(op, to: &alternative)
                for (k, v) in alternative { maybe[k, default: []].insert(v) }
            }
        }
        let opened = try CacheStore(directory: store, options: settings.options())
        var appliedInFlight = false
        for w in 0..<writers {
            for i in 0..<keys {
                let key = crashKey(writer: w, index: i)
                let must = expected[key] ?? -1
                var allowed: Set<Int64> = [must]
                allowed.formUnion(maybe[key] ?? [])
                if clearInFlight { allowed.insert(-1) }
                let got = try opened.value(forKey: key)
                totals.checkedKeys += 1
                guard let got else {
                    if allowed.contains(-1) {
                        if must != -1 { appliedInFlight = true }
                        expected[key] = -1
                    } else if settings.capacity != nil {
                        totals.evictedOrMissing += 1
                        expected[key] = -1
                    } else {
                        totals.wrong += 1
                        print("WRONG cycle \(cycle): \(key) is missing; it must hold version \(must)")
                    }
                    continue
                }
                if let v = allowed.first(where: { $0 >= 0 && crashValue(key: key, version: $0) == got }) {
                    if v != must { appliedInFlight = true }
                    expected[key] = v
                } else {
                    totals.wrong += 1
                    print("WRONG cycle \(cycle): \(key) holds \(got.count) bytes that are none of the versions \(allowed.sorted())")
                }
            }
        }
        if appliedInFlight { totals.inFlightApplied += 1 }
        try opened.close()
    }

    /// Applies an operation ("begin set KEY V", "begin del KEY", "begin batch K:V,...",
    /// "begin clear") to a key -> version map.
    private func apply(_ op: [String], to map: inout [String: Int64]) {
        switch op[1] {
        case "set": if op.count == 4, let v = Int64(op[3]) { map[op[2]] = v }
        case "del": if op.count == 3 { map[op[2]] = -1 }
        case "batch":
            guard op.count == 3 else { return }
            for pair in op[2].split(separator: ",") {
                let kv = pair.split(separator: ":")
                if kv.count == 2, let v = Int64(kv[1]) { map[String(kv[0])] = v }
            }
        case "clear":
            for w in 0..<writers { for i in 0..<keys { map[crashKey(writer: w, index: i)] = -1 } }
        default: break
        }
    }

    private mutating func fsck() throws {
        let report = try StoreCheck.run(directory: store)
        totals.fscks += 1
        if !report.ok {
            totals.wrong += 1
            print("WRONG cycle \(cycle): fsck after a clean close found \(report.problems.map(\.description))")
        }
    }

    // MARK: The expected-state file

    /// "cycle N", "kills N", then one "KEY VERSION" line per key that has a value.
    private mutating func loadState() throws {
        guard FileManager.default.fileExists(atPath: stateFile) else {
            if FileManager.default.fileExists(atPath: store) {
                throw CrashTestError("\(store) exists but \(stateFile) does not: remove the store or give a new path")
            }
            return
        }
        let text = try String(contentsOfFile: stateFile, encoding: .utf8)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int64(parts[1]) else { throw CrashTestError("\(stateFile): bad line \(line)") }
            switch parts[0] {
            case "cycle": cycle = Int(n)
            case "kills": break
            default: expected[String(parts[0])] = n
            }
        }
        print("crashtest: resuming \(store) after cycle \(cycle) with \(expected.count) keys expected")
    }

    private func saveState() throws {
        var text = "cycle \(cycle)\nkills \(totals.kills)\n"
        for (k, v) in expected.sorted(by: { $0.key < $1.key }) where v >= 0 { text += "\(k) \(v)\n" }
        let tmp = stateFile + ".tmp"
        try text.write(toFile: tmp, atomically: false, encoding: .utf8)
        guard rename(tmp, stateFile) == 0 else { throw CrashTestError("cannot rename \(tmp): errno \(errno)") }
    }

    private func lines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        // A line cut by the kill has no newline yet: it was never seen whole, so it is dropped.
        var text = String(decoding: data, as: UTF8.self)
        if !text.hasSuffix("\n"), let nl = text.lastIndex(of: "\n") { text = String(text[...nl]) } else if !text.hasSuffix("\n") { text = "" }
        return text.split(separator: "\n").map(String.init)
    }
}

struct CrashTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
