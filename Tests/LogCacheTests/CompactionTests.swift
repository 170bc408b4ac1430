import Foundation
import Synchronization
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

@Suite("Compaction: dead space reclaimed, nothing lost, nothing resurrected")
struct CompactionTests {
    private static let small = Options(segmentSize: 8 << 10, compaction: .manual)

    /// A value that says which key and which write it belongs to, so a reader can tell a
    /// right value from a wrong one.
    private static func value(_ key: Int, _ version: Int) -> [UInt8] {
        Array("k\(key)v\(version)-".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: key &+ version), count: 90 + key % 50)
    }

    private func segmentFiles(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    /// Bytes of the active segment's index file, which a store writes only when it closes.
    private func activeIndexBytes(_ path: String) -> Int {
        guard let bytes = FileManager.default.contents(atPath: path + "/" + Manifest.fileName),
              case .success(let m) = [UInt8](bytes).withUnsafeBytes({ Manifest.decode($0) }),
              let active = m.segments.last
        else { return 0 }
        let name = path + "/" + Segment.indexFileName(active)
        return FileManager.default.fileExists(atPath: name) ? fileSize(name) : 0
    }

    private func bytesOnDisk(_ path: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".seg") || $0.hasSuffix(".idx") }
            .reduce(0) { $0 + fileSize(path + "/" + $1) }
    }

    /// Writes 300 keys five times each and removes every tenth: most of the log is dead.
    private func fillWithDeadData(_ store: CacheStore) throws -> [String: [UInt8]] {
        var expected: [String: [UInt8]] = [:]
        for version in 0..<5 {
            for k in 0..<300 {
                let v = Self.value(k, version)
                try store.set(v, forKey: "key-\(k)")
                expected["key-\(k)"] = v
            }
        }
        for k in stride(from: 0, to: 300, by: 10) {
            try store.removeValue(forKey: "key-\(k)")
            expected["key-\(k)"] = nil
        }
        return expected
    }

    private func check(_ store: CacheStore, _ expected: [String: [UInt8]], keys: Int = 300) throws {
        for k in 0..<keys {
            let key = "key-\(k)"
            #expect(try store.value(forKey: key) == expected[key], "\(key)")
        }
    }

    @Test("Disk bytes drop, every live value reads back, deleted keys stay deleted after reopen")
    func reclaimsSpace() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.small)
        let expected = try fillWithDeadData(store)
        let before = store.statistics
        let summary = try store.compact()
        let after = store.statistics
        #expect(summary.bytesBefore == before.diskBytes)
        #expect(summary.bytesAfter == after.diskBytes)
        #expect(summary.bytesAfter * 3 < summary.bytesBefore)
        #expect(summary.segmentsAfter < summary.segmentsBefore)
        #expect(summary.liveBytesCopied == after.liveBytes)
        #expect(summary.bytesFreed > 0 && summary.writeAmplification > 1)
        #expect(summary.copySeconds > 0 && summary.syncSeconds > 0)
        #expect(summary.copySeconds + summary.syncSeconds <= summary.seconds, "the phases are parts of the pass")
        #expect(after.entries == expected.count && after.compactions == 1)
        // The store's own count of its files agrees with the directory, once the retired
        // files, which a background thread removes, are gone.
        store.compactor.waitForRemovals()
        #expect(bytesOnDisk(dir.path) == after.diskBytes)
        try check(store, expected)
        try store.close()

        let reopened = try CacheStore(directory: dir.path, options: Self.small)
        try check(reopened, expected)
        #expect(reopened.statistics.entries == expected.count)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("A second pass right after the first finds nothing to do")
    func secondPassIsIdle() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.small)
        let expected = try fillWithDeadData(store)
        try store.compact()
        store.compactor.waitForRemovals()
        let files = segmentFiles(dir.path)
        let second = try store.compact()
        #expect(second.segmentsRewritten == 0 && second.bytesWritten == 0)
        #expect(segmentFiles(dir.path) == files)
        try check(store, expected)
        try store.close()
    }

    /// Segment 1 full of live values (one of them K's first value), then segments that are
    /// mostly dead and end K's life in `kill`. A background-style pass rewrites only the
    /// dead segments, so the run does not start at the oldest segment.
    private func shadowScenario(
        _ path: String, clock: ManualClock, kill: (CacheStore) throws -> Void
    ) throws -> CacheStore {
        let options = Options(segmentSize: 4096, clock: clock, compaction: .manual)
        let store = try CacheStore(directory: path, options: options)
        try store.set(Array("first value of K".utf8), forKey: "K")
        var i = 0
        while store.statistics.segments == 1 {
            try store.set(Self.value(1000 + i, 0), forKey: "keep-\(i)")
            i += 1
        }
        try kill(store)
        // Churn: the same few keys over and over, so later segments are mostly dead.
        var round = 0
        while store.statistics.segments < 4 {
            try store.set(Self.value(round % 3, round), forKey: "churn-\(round % 3)")
            round += 1
        }
        return store
    }

    private func compactDeadSegmentsOnly(_ store: CacheStore) throws -> CompactionSummary {
        // A background pass leaves alone a segment whose seal is still running: the flush
        // waits for it, so that the pass sees every sealed segment.
        try store.flush()
        let order = store.log.manifest.segments
        let summary = try store.compactor.run(onDemand: false, progress: nil)
        let after = store.log.manifest.segments
        // The oldest segment is mostly live: it must not have been part of the pass.
        #expect(after.first == order.first)
        #expect(summary.segmentsRewritten > 0)
        return summary
    }

    @Test("A removed key whose older value sits in an untouched older segment stays removed",
          arguments: ["remove", "expire", "evict-record"])
    func tombstonesKeptWhileNeeded(how: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try shadowScenario(dir.path, clock: clock) { store in
            switch how {
            case "remove":
                try store.set(Array("second".utf8), forKey: "K")
                #expect(try store.removeValue(forKey: "K"))
            case "expire":
                try store.set(Array("second, short-lived".utf8), forKey: "K", ttl: .seconds(5))
            default:
                // An eviction record, as a bounded store writes one for each victim.
                let hash = "K".withBytesForTest { KeyHash.hash($0) }
                let record = RecordCoding.eviction(keyHash: hash, at: clock.now(), salt: store.salt)
                try store.append([PendingRecord(bytes: record, keyHash: hash, kind: .eviction, expiresAt: 0)])
            }
        }
        clock.advance(by: .seconds(10))
        #expect(try store.value(forKey: "K") == nil)
        _ = try compactDeadSegmentsOnly(store)
        #expect(try store.value(forKey: "K") == nil)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: Options(clock: clock, compaction: .manual))
        #expect(try reopened.value(forKey: "K") == nil, "the first value of K came back after \(how)")
        // A full pass starts at the oldest segment: now the tombstones can go, and K stays gone.
        try reopened.compact()
        #expect(try reopened.value(forKey: "K") == nil)
        try reopened.close()
        let final = try CacheStore(directory: dir.path, options: Options(clock: clock, compaction: .manual))
        #expect(try final.value(forKey: "K") == nil)
        try final.close()
    }

    @Test("A pass that copies from a victim's index file checks each record it copies: a damaged one stays behind")
    func damagedRecordInAVictimIsNotCopied() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .none, segmentSize: 4096, compaction: .manual))
        defer { try? store.close() }
        // Segment 1 holds "victim" and values overwritten later, so that it is worth a pass.
        try store.set(Array(repeating: 7, count: 300), forKey: "victim")
        for i in 0..<3 { try store.set(Self.value(i, 0), forKey: "dead-\(i)") }
        var round = 1
        while store.statistics.segments < 4 {
            try store.set(Self.value(round % 3, round), forKey: "dead-\(round % 3)")
            round += 1
        }
        try store.flush()
        let (entry, _) = try #require(try store.index.located(KeyHash.hash(Array("victim".utf8))))
        // One bit of the value, past the header: the index file still lists the record as good.
        try flipBit(dir.file(Segment.fileName(entry.segment)), at: Int(entry.offset) + Int(entry.length) - 10)
        let summary = try store.compact()
        #expect(summary.segmentsRewritten > 0)
        #expect(!store.log.manifest.segments.contains(entry.segment), "the victim's segment was not rewritten")
        #expect(try store.value(forKey: "victim") == nil, "a damaged record was copied as if good")
        for i in 0..<3 {
            let last = try #require((0..<round).last { $0 % 3 == i })
            #expect(try store.value(forKey: "dead-\(i)") == Self.value(i, last))
        }
        // Nothing damaged was carried into the new segments: the store checks clean.
        try store.close()
        let report = try StoreCheck.run(directory: dir.path)
        #expect(report.ok, "\(report.problems)")
    }

    @Test("A sealed segment without its index file (its seal pending in some process) is left out of every run")
    func segmentWithoutIndexFileIsLeftAlone() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(segmentSize: 4096, compaction: .manual)
        let store = try CacheStore(directory: dir.path, options: options)
        defer { try? store.close() }
        // Every sealed segment is dead but the last few values' segment.
        var round = 0
        while store.statistics.segments < 6 {
            try store.set(Self.value(round % 4, round), forKey: "k-\(round % 4)")
            round += 1
        }
        try store.flush()
        let before = store.log.manifest.segments
        let skipped = before[2]
        try FileManager.default.removeItem(atPath: dir.file(Segment.indexFileName(skipped)))
        let summary = try store.compact()
        #expect(summary.segmentsRewritten > 0)
        let after = store.log.manifest.segments
        #expect(after.contains(skipped), "a segment without an index file was rewritten")
        #expect(FileManager.default.fileExists(atPath: dir.file(Segment.fileName(skipped))))
        for i in 0..<4 where round > i {
            let last = try #require((0..<round).last { $0 % 4 == i })
            #expect(try store.value(forKey: "k-\(i)") == Self.value(i, last))
        }
    }

    @Test("Tombstones a pass kept are not dead space to another handle or after a restart, so nobody rewrites them again")
    func keptTombstonesStayKept() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let options = Options(segmentSize: 4096, clock: clock, compaction: .manual)
        let store = try CacheStore(directory: dir.path, options: options)
        // Segment 1: twenty small values that will be removed, then live ones (mostly live
        // once the small ones are gone, so a background pass leaves it alone).
        for i in 0..<20 { try store.set(Array("x".utf8), forKey: "doomed-\(i)") }
        var i = 0
        while store.statistics.segments == 1 {
            try store.set(Self.value(1000 + i, 0), forKey: "keep-\(i)")
            i += 1
        }
        // Segment 2 on: the tombstones, which must stay while segment 1 holds what they
        // hide, then churn whose last values land in the active segment.
        for i in 0..<20 { #expect(try store.removeValue(forKey: "doomed-\(i)")) }
        var round = 0
        while store.statistics.segments < 4 {
            try store.set(Self.value(round % 3, round), forKey: "churn-\(round % 3)")
            round += 1
        }
        for _ in 0..<3 {
            try store.set(Self.value(round % 3, round), forKey: "churn-\(round % 3)")
            round += 1
        }
        _ = try compactDeadSegmentsOnly(store)
        // Another handle (as another process would) judges the segments from the files alone.
        let other = try CacheStore(directory: dir.path, options: options)
        let again = try other.compactor.run(onDemand: false, progress: nil)
        #expect(again.segmentsRewritten == 0, "another handle rewrote the kept tombstones again")
        try other.close()
        #expect(try store.compactor.run(onDemand: false, progress: nil).segmentsRewritten == 0)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: options)
        #expect(try reopened.compactor.run(onDemand: false, progress: nil).segmentsRewritten == 0,
                "after a restart the kept tombstones were rewritten again")
        for i in 0..<20 { #expect(try reopened.value(forKey: "doomed-\(i)") == nil) }
        try reopened.close()
    }

    @Test("Expired values are dropped by compaction and stay gone")
    func expiredDropped() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let options = Options(segmentSize: 4096, clock: clock, compaction: .manual)
        let store = try CacheStore(directory: dir.path, options: options)
        for k in 0..<200 { try store.set(Self.value(k, 0), forKey: "key-\(k)", ttl: k % 2 == 0 ? .seconds(5) : nil) }
        clock.advance(by: .seconds(6))
        let summary = try store.compact()
        #expect(summary.segmentsRewritten > 0 && summary.bytesAfter * 3 < summary.bytesBefore * 2)
        #expect(store.statistics.entries == 100)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: options)
        for k in 0..<200 { #expect(try reopened.value(forKey: "key-\(k)") == (k % 2 == 0 ? nil : Self.value(k, 0))) }
        try reopened.close()
    }

    @Test("Entries that move keep their place in the eviction policy", arguments: [PolicyKind.lru, .lfu])
    func policyStateKept(policy: PolicyKind) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(
            segmentSize: 4096, capacity: 1 << 20, policy: policy, compaction: .manual))
        for k in 0..<200 { try store.set(Self.value(k, 0), forKey: "key-\(k)") }
        for k in stride(from: 0, to: 200, by: 3) { try store.set(Self.value(k, 1), forKey: "key-\(k)") }
        for k in stride(from: 0, to: 200, by: 7) { for _ in 0..<(k % 4 + 1) { _ = try store.value(forKey: "key-\(k)") } }
        let snapshot = { store.index.policySnapshot() }
        let before = snapshot()
        let summary = try store.compact()
        #expect(summary.liveBytesCopied > 0)
        #expect(snapshot() == before)
        #expect(before != nil)
        try store.close()
    }

    @Test("Reads and writes from other threads during compaction all succeed and see correct values")
    func concurrentReadsAndWrites() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 16 << 10, compaction: .manual))
        let keys = 400
        for version in 0..<3 { for k in 0..<keys { try store.set(Self.value(k, version), forKey: "key-\(k)") } }
        let shared = SharedProgress(keys: keys, newest: 2)
        // Real threads: the readers and the writer spin, which would starve a task pool.
        var threads: [Thread] = []
        for r in 0..<2 {
            threads.append(Thread {
                var g = SeededGenerator(seed: UInt64(r + 1))
                while !shared.stop.load(ordering: .relaxed) {
                    let k = Int(g.next() % UInt64(keys))
                    let floor = shared.versions.withLock { $0[k] }
                    guard let v = try? store.value(forKey: "key-\(k)"),
                          (floor...(floor + 100_000)).contains(where: { v == Self.value(k, $0) })
                    else {
                        shared.wrong.add(1, ordering: .relaxed)
                        continue
                    }
                    shared.reads.add(1, ordering: .relaxed)
                }
                shared.finished.add(1, ordering: .releasing)
            })
        }
        threads.append(Thread {
            var g = SeededGenerator(seed: 99)
            var version = 3
            while !shared.stop.load(ordering: .relaxed) {
                let k = Int(g.next() % UInt64(keys))
                if (try? store.set(Self.value(k, version), forKey: "key-\(k)")) == nil { shared.wrong.add(1, ordering: .relaxed) }
                shared.versions.withLock { $0[k] = version }
                shared.writes.add(1, ordering: .relaxed)
                version += 1
            }
            shared.finished.add(1, ordering: .releasing)
        })
        for t in threads { t.start() }
        // Passes until the readers and the writer have done real work alongside them.
        var passes = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while passes < 4 || shared.reads.load(ordering: .relaxed) < 5_000 || shared.writes.load(ordering: .relaxed) < 2_000,
              ContinuousClock.now < deadline {
            try store.compact()
            passes += 1
            usleep(5_000)
        }
        shared.stop.store(true, ordering: .relaxed)
        while shared.finished.load(ordering: .acquiring) < threads.count { usleep(1_000) }
        #expect(shared.wrong.load(ordering: .relaxed) == 0)
        #expect(shared.reads.load(ordering: .relaxed) >= 5_000)
        #expect(store.statistics.compactions >= 1)
        let final = shared.versions.withLock { $0 }
        for k in 0..<keys { #expect(try store.value(forKey: "key-\(k)") == Self.value(k, final[k])) }
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        for k in 0..<keys { #expect(try reopened.value(forKey: "key-\(k)") == Self.value(k, final[k])) }
        try reopened.close()
    }

    @Test("Background compaction keeps disk use near live data under steady overwrites")
    func backgroundCompaction() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 8 << 10))
        var expected: [String: [UInt8]] = [:]
        for round in 0..<40 {
            for k in 0..<50 {
                let v = Self.value(k, round)
                try store.set(v, forKey: "key-\(k)")
                expected["key-\(k)"] = v
            }
        }
        // Background passes run on their own queue; give them a moment to catch up.
        var waited = 0
        while store.statistics.compactions == 0 && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        let s = store.statistics
        #expect(s.compactions > 0)
        #expect(s.compactionFailures == 0)
        #expect(s.diskBytes < 40 * 50 * 100 / 2, "disk \(s.diskBytes) for \(s.liveBytes) live bytes")
        try check(store, expected, keys: 50)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: Options(compaction: .manual))
        try check(reopened, expected, keys: 50)
        try reopened.close()
    }

    @Test("close() during a pass stops it and leaves a store with every value")
    func closeDuringPass() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.small)
        let expected = try fillWithDeadData(store)
        let closing = Atomic<Bool>(false)
        let closed = Atomic<Bool>(false)
        let thread = Thread {
            while !closing.load(ordering: .relaxed) { usleep(100) }
            try? store.close()
            closed.store(true, ordering: .releasing)
        }
        thread.start()
        let outcome: String
        do {
            try store.compact { _ in closing.store(true, ordering: .relaxed); usleep(2_000) }
            outcome = "finished"
        } catch {
            #expect(error == .closed)
            outcome = "stopped"
        }
        while !closed.load(ordering: .acquiring) { usleep(1_000) }
        let reopened = try CacheStore(directory: dir.path, options: Self.small)
        try check(reopened, expected)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok, "after the pass \(outcome)")
    }

    @Test("A pass killed at any step leaves the old set or the new one, with exactly the live data",
          arguments: [("copying", 1), ("copying", 3), ("publishing", 1), ("removing", 1), ("returned", 0)])
    func killedDuringPass(phase: String, n: Int) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.small)
        let expected = try fillWithDeadData(store)
        try store.close()
        let segmentsBefore = segmentFiles(dir.path)
        let bytesBefore = bytesOnDisk(dir.path)

        let result = try run(productPath("logcache-worker"), ["compact", dir.path, phase, "\(n)"])
        #expect(result.text.contains("killing"), "the pass ended before \(phase) #\(n): \(result.text)")
        #expect(result.status == SIGKILL)

        let reopened = try CacheStore(directory: dir.path, options: Self.small)
        try check(reopened, expected)
        #expect(reopened.statistics.entries == expected.count)
        // Leftovers of the interrupted pass are gone: the files are those of one set.
        #expect(bytesOnDisk(dir.path) == reopened.statistics.diskBytes)
        let after = Set(segmentFiles(dir.path))
        if phase == "copying" || phase == "publishing" {
            // The old set, plus the segment the pass started when it sealed the active one.
            #expect(after.isSuperset(of: segmentsBefore) && after.count == segmentsBefore.count + 1)
        } else {
            #expect(after.intersection(segmentsBefore).count < segmentsBefore.count / 2)
        }
        let summary = try reopened.compact()
        try check(reopened, expected)
        try reopened.close()
        #expect(summary.bytesAfter * 2 < bytesBefore)
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("cachectl compact prints the summary as JSON")
    func cachectlCompact() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.small)
        let expected = try fillWithDeadData(store)
        try store.close()
        let result = try run(productPath("cachectl"), ["compact", dir.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
        for key in ["segmentsBefore", "segmentsAfter", "bytesBefore", "bytesAfter", "liveBytesCopied", "seconds", "copySeconds", "syncSeconds"] {
            #expect(json?[key] != nil, "missing \(key)")
        }
        let after = (json?["bytesAfter"] as? Int) ?? .max
        #expect(after < (json?["bytesBefore"] as? Int) ?? 0)
        #expect(after == bytesOnDisk(dir.path) - activeIndexBytes(dir.path))
        let text = try run(productPath("cachectl"), ["compact", dir.path])
        #expect(text.status == 0)
        #expect(text.text.split(separator: "\n").contains { $0.hasPrefix("segments rewritten") && $0.hasSuffix(" 0") },
                "\(text.text)")
        let reopened = try CacheStore(directory: dir.path)
        try check(reopened, expected)
        try reopened.close()
        let missing = try run(productPath("cachectl"), ["compact", dir.file("nope")])
        #expect(missing.status != 0 && missing.stderr.contains("no LogCache store at \(dir.file("nope"))"))
    }
}

@Suite("Compaction plan: which segments a pass takes")
struct CompactionPlanTests {
    private func usage(_ id: UInt32, length: Int = 65_536, live: Int) -> SegmentUsage {
        SegmentUsage(id: id, length: length, liveBytes: live, pinnedBytes: 0)
    }

    @Test("Nothing below the triggers; over a trigger, every segment past the selection fraction, in runs")
    func triggers() {
        let options = CompactionOptions()
        let body = 65_536 - SegmentHeader.size
        let quiet = [usage(1, live: body), usage(2, live: body / 2), usage(3, live: body)]
        #expect(CompactionPlan.runs(sealed: quiet, options: options, segmentSize: 65_536, onDemand: false).isEmpty)
        let busy = [usage(1, live: body), usage(2, live: body / 10), usage(3, live: body / 2),
                    usage(4, live: body), usage(5, live: body / 2)]
        #expect(CompactionPlan.runs(sealed: busy, options: options, segmentSize: 65_536, onDemand: false) == [[2, 3], [5]])
        // On demand: everything with any dead bytes.
        #expect(CompactionPlan.runs(sealed: quiet, options: options, segmentSize: 65_536, onDemand: true) == [[2]])
    }

    @Test("Total dead bytes alone trigger a pass; small neighbours join a run")
    func deadBytesAndSmallNeighbours() {
        var options = CompactionOptions()
        options.triggerDeadBytes = 50_000
        let body = 65_536 - SegmentHeader.size
        let sealed = [usage(1, live: body - 30_000), usage(2, live: body - 30_000),
                      usage(3, length: 5_000, live: 4_000), usage(4, live: body)]
        // Neither segment reaches 60% dead, but 60,000 dead bytes pass the byte trigger; the
        // small segment next to them goes along.
        #expect(CompactionPlan.runs(sealed: sealed, options: options, segmentSize: 65_536, onDemand: false) == [[1, 2, 3]])
        options.triggerDeadBytes = 100_000
        #expect(CompactionPlan.runs(sealed: sealed, options: options, segmentSize: 65_536, onDemand: false) == [])
        let deader = [usage(1, live: 10_000), usage(2, length: 5_000, live: 4_980), usage(3, live: body)]
        #expect(CompactionPlan.runs(sealed: deader, options: options, segmentSize: 65_536, onDemand: false) == [[1, 2]])
    }

    @Test("Options out of range are refused by name")
    func badOptions() {
        #expect(throws: CacheError.invalidOption("compaction trigger fraction 1.5 is outside (0, 1]")) {
            _ = try CompactionOptions(triggerDeadFraction: 1.5).validated()
        }
    }
}

/// What the threads of a concurrency test share.
private final class SharedProgress: Sendable {
    /// The newest version written per key; readers accept it or any later one.
    let versions: Lock<[Int]>
    let stop = Atomic<Bool>(false)
    let wrong = Atomic<Int>(0)
    let reads = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let finished = Atomic<Int>(0)

    init(keys: Int, newest: Int) {
        versions = Lock([Int](repeating: newest, count: keys))
    }
}

extension String {
    /// Runs `body` with the string's UTF-8 bytes.
    fileprivate func withBytesForTest<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var s = self
        return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
