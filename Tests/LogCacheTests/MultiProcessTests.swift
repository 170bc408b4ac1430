import Foundation
import Synchronization
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

@Suite("Several processes on one store: shared writes, visibility, capacity, killed writers")
struct MultiProcessTests {
    /// One completed write or remove, as a worker reported it.
    struct Write {
        var value: String  // "writer:n", or "-" for a remove
        var start: UInt64
        var end: UInt64
    }

    /// The writes per key reported by workers' "w" lines.
    private func writes(_ workers: [WorkerProcess]) -> [String: [Write]] {
        var byKey: [String: [Write]] = [:]
        for w in workers {
            for line in w.lines where line.hasPrefix("w ") {
                let f = line.split(separator: " ")
                guard f.count == 5, let start = UInt64(f[3]), let end = UInt64(f[4]) else { continue }
                byKey[String(f[1]), default: []].append(Write(value: String(f[2]), start: start, end: end))
            }
        }
        return byKey
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// What `bytes` is for `key`: "writer:n" for a whole value written for it, nil otherwise.
    private func identify(_ bytes: [UInt8], key: String) -> String? {
        let parts = bytes.split(separator: UInt8(ascii: "|"), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, String(decoding: parts[0], as: UTF8.self) == key else { return nil }
        return String(decoding: parts[1], as: UTF8.self) + ":" + String(decoding: parts[2], as: UTF8.self)
    }

    @Test("Writers, readers and removers in four processes with compaction in a fifth: no errors, no foreign or torn values, last writes win")
    func sharedWorkload() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // Create it first, so that the workers share one store from the start.
        try CacheStore(directory: dir.path, options: Options(segmentSize: 64 << 10)).close()
        let compactor = try WorkerProcess(["compactloop", dir.path, "4"])
        let workers = try (0..<4).map { try WorkerProcess(["mixed", dir.path, "\($0)", "2500", "48"]) }
        for w in workers {
            #expect(w.waitForExit(timeout: .seconds(120)) == 0, "\(w.lines.suffix(3))")
            #expect(w.lines.contains { $0.hasPrefix("done") })
            #expect(!w.lines.contains { $0.hasPrefix("bad") }, "\(w.lines.filter { $0.hasPrefix("bad") }.prefix(5))")
        }
        #expect(compactor.waitForExit(timeout: .seconds(60)) == 0)
        let passes = compactor.waitForLine("passes").flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(passes > 0, "no compaction pass ran beside the workers")

        #expect(try StoreCheck.run(directory: dir.path).ok)
        let store = try CacheStore(directory: dir.path)
        defer { try? store.close() }
        var checked = 0
        for (key, list) in writes(workers) {
            // A write no other write of the key started after is one that may have come last.
            let candidates = Set(list.filter { w in !list.contains { $0.start > w.end } }.map(\.value))
            let found = try store.value(forKey: key)
            let got = found.map { identify($0, key: key) ?? "garbage" } ?? "-"
            #expect(candidates.contains(got), "\(key): holds \(got), last writes \(candidates)")
            checked += 1
        }
        #expect(checked > 40)
    }

    @Test("A write in one process is seen by a read that starts after it in another")
    func visibility() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let reader = try CacheStore(directory: dir.path)
        defer { try? reader.close() }
        #expect(try reader.value(forKey: "key-3") == nil)
        let writer = try run(productPath("logcache-worker"), ["write", dir.path, "40", "9"])
        #expect(writer.status == 0)
        // The other process has returned from its sets: every one of them must read here.
        for i in 0..<40 {
            #expect(try reader.value(forKey: "key-\(i)") == (0..<(i &* 37 % 3000 + 1)).map { j in
                UInt8(truncatingIfNeeded: 9 &+ i &* 31 &+ j &* j &* 7)
            })
        }
        // And the other way: this process's writes and removes, read by a new process.
        try reader.set(Array("from the test".utf8), forKey: "mine")
        try reader.removeValue(forKey: "key-0")
        let get = try run(productPath("cachectl"), ["get", dir.path, "mine"])
        #expect(get.status == 0 && get.text == "from the test")
        #expect(try run(productPath("cachectl"), ["get", dir.path, "key-0"]).status == 1)
    }

    @Test("A lookup catches up only when another process changed its key or the segments, and is never stale")
    func perKeyCatchUp() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compaction: .manual))
        defer { try? store.close() }
        func bucket(_ key: String) -> UInt64 { (KeyHash.hash(Array(key.utf8)) >> 32) % UInt64(SharedCounters.bucketCount) }
        // Keys of this handle that share no bucket with the key the other process writes.
        let stable = (0..<50).map { "stable-\($0)" }.filter { bucket($0) != bucket("key-0") }.prefix(3).map { $0 }
        for (i, k) in stable.enumerated() { try store.set([UInt8(i)], forKey: k) }
        try store.set([9], forKey: "key-0")

        #expect(try run(productPath("logcache-worker"), ["write", dir.path, "1", "5"]).status == 0)
        let seen = store.log.follower.seen
        #expect(try store.value(forKey: stable[0]) == [0])
        #expect(store.log.follower.seen == seen, "a lookup of an unchanged key caught up")
        #expect(try store.value(forKey: "key-0") == [UInt8(truncatingIfNeeded: 5)])
        #expect(store.log.follower.seen > seen)

        // A remove in another process marks the key too.
        #expect(try run(productPath("cachectl"), ["delete", dir.path, stable[1]]).status == 0)
        #expect(try store.value(forKey: stable[1]) == nil)
        // Removing everything changes the segments: no lookup may answer from the old index.
        #expect(try run(productPath("cachectl"), ["clear", dir.path, "--yes"]).status == 0)
        #expect(try store.value(forKey: stable[2]) == nil)
        #expect(try store.value(forKey: stable[0]) == nil)
        try store.set([1], forKey: "after")
        #expect(try store.value(forKey: "after") == [1])
    }

    @Test("A compaction in another process: this handle switches to the new segments and every value still reads")
    func compactionElsewhere() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 8 << 10, compaction: .manual))
        defer { try? store.close() }
        var expected: [String: [UInt8]] = [:]
        for round in 0..<4 {
            for k in 0..<200 {
                let v = Array("k\(k) r\(round) ".utf8) + [UInt8](repeating: UInt8(k % 250), count: 80)
                try store.set(v, forKey: "key-\(k)")
                expected["key-\(k)"] = v
            }
        }
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".seg") }
        let result = try run(productPath("cachectl"), ["compact", dir.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let filesAfter = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".seg") }
        #expect(Set(filesBefore).intersection(filesAfter).count < filesBefore.count / 2)
        for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
        #expect(store.statistics.segments == filesAfter.count)
        // Writes continue on the new active segment.
        try store.set([7], forKey: "after")
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        for (k, v) in expected { #expect(try reopened.value(forKey: k) == v) }
        #expect(try reopened.value(forKey: "after") == [7])
        try reopened.close()
    }

    @Test("A writer killed holding the append lock: others carry on within a second, its torn bytes are cut")
    func killedWriter() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        defer { try? store.close() }
        try store.set([1], forKey: "before")
        let holder = try WorkerProcess(["tornappend", dir.path])
        #expect(holder.waitForLine("holding") != nil)
        let finished = Atomic<UInt64>(0)
        let thread = Thread {
            try? store.set([2], forKey: "during")
            finished.store(Self.now(), ordering: .releasing)
        }
        thread.start()
        usleep(300_000)
        #expect(finished.load(ordering: .acquiring) == 0, "the set went ahead while another process held the lock")
        let killedAt = Self.now()
        holder.kill()
        var waited = 0
        while finished.load(ordering: .acquiring) == 0 && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        let done = finished.load(ordering: .acquiring)
        #expect(done != 0 && done - killedAt < 1_000_000_000, "the set finished \(Double(done &- killedAt) / 1e9) s after the kill")
        #expect(try store.value(forKey: "during") == [2])
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.value(forKey: "before") == [1])
        #expect(try reopened.value(forKey: "during") == [2])
        #expect(reopened.statistics.corruptRecords == 0)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("Live bytes stay within the capacity at every sampled moment, whatever the number of writers and the policy",
          arguments: PolicyKind.allCases)
    func capacityAcrossProcesses(policy: PolicyKind) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let capacity = 24 << 10
        // The workers open the store with the default policy in their options: the store's
        // own, from its manifest, is the one they evict with.
        let sampler = try CacheStore(directory: dir.path, options: Options(segmentSize: 64 << 10, capacity: capacity, policy: policy))
        #expect(sampler.settings.policy == policy)
        defer { try? sampler.close() }
        let workers = try (0..<3).map { try WorkerProcess(["mixed", dir.path, "\($0 + 10)", "2000", "200", "\(capacity)"]) }
        var samples = 0
        var over = 0
        var maxLive = 0
        while workers.contains(where: { $0.waitForExit(timeout: .milliseconds(1)) == nil }) {
            let s = sampler.statistics
            maxLive = max(maxLive, s.liveBytes)
            if s.liveBytes > capacity { over += 1 }
            samples += 1
        }
        for w in workers { #expect(w.waitForExit() == 0) }
        #expect(samples > 10)
        #expect(over == 0, "live bytes reached \(maxLive) of \(capacity)")
        #expect(maxLive > capacity / 2, "the workload never came near the capacity")
        #expect(sampler.statistics.liveBytes <= capacity)
        let evicted = try CacheStore(directory: dir.path)
        #expect(evicted.settings.policy == policy)
        #expect(evicted.statistics.liveBytes <= capacity)
        try evicted.close()
    }
}
