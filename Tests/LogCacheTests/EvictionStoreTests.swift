import Foundation
import Testing
@testable import LogCache

@Suite("Eviction in the store: capacity, policies, restarts")
struct EvictionStoreTests {
    private func options(_ policy: PolicyKind, capacity: Int? = nil, maxEntries: Int? = nil,
                         clock: ManualClock = ManualClock()) -> Options {
        Options(compression: .none, segmentSize: 8192, capacity: capacity, maxEntries: maxEntries,
                policy: policy, clock: clock)
    }

    /// The keys among `keys` that still have a value.
    private func present(_ store: CacheStore, _ keys: [String]) throws -> [String] {
        try keys.filter { try store.value(forKey: $0) != nil }
    }

    @Test("Live bytes and entries never pass the capacity during a long random workload", arguments: PolicyKind.allCases)
    func capacityHolds(policy: PolicyKind) throws {
        let dir = TemporaryDirectory("capacity\(policy)")
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: options(policy, capacity: 20_000, maxEntries: 60, clock: clock))
        var g = SeededGenerator(seed: 11)
        for step in 0..<3000 {
            let key = "k\(g.next() % 150)"
            switch g.next() % 10 {
            case 0..<5:
                let ttl: Duration? = g.next() % 3 == 0 ? .seconds(Int64(g.next() % 30 + 1)) : nil
                try store.set(g.bytes(Int(g.next() % 900)), forKey: key, ttl: ttl)
                let s = store.statistics
                #expect(s.liveBytes <= 20_000 && s.entries <= 60, "step \(step): \(s.liveBytes) bytes, \(s.entries) entries")
            case 5:
                try store.removeValue(forKey: key)
            case 6:
                clock.advance(by: .seconds(1))
            default:
                _ = try store.value(forKey: key)
            }
        }
        let s = store.statistics
        #expect(s.evictions > 0)
        #expect(s.policyBytesPerEntry > 0)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: options(policy, clock: clock))
        #expect(reopened.statistics.liveBytes <= 20_000 && reopened.statistics.entries <= 60)
        try reopened.close()
    }

    @Test("LRU evicts the least recently used; a hit or a set counts as a use")
    func lruVictim() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: options(.lru, maxEntries: 3))
        for k in ["a", "b", "c"] { try store.set([1], forKey: k) }
        _ = try store.value(forKey: "a")
        try store.set([2], forKey: "b")
        try store.set([1], forKey: "d")
        #expect(try present(store, ["a", "b", "c", "d"]) == ["a", "b", "d"])
        #expect(store.statistics.evictions == 1)
        try store.close()
    }

    @Test("LFU evicts the lowest frequency, ties going to who reached it first")
    func lfuVictim() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: options(.lfu, maxEntries: 3))
        for k in ["a", "b", "c"] { try store.set([1], forKey: k) }
        _ = try store.value(forKey: "c")
        _ = try store.value(forKey: "a")
        _ = try store.value(forKey: "a")
        // Frequencies: a 3, b 1, c 2.
        try store.set([1], forKey: "d")
        #expect(try store.value(forKey: "b") == nil)
        // Now a 3, c 2, d 1 (d's own read made it 2, after c reached 2): c goes first.
        _ = try store.value(forKey: "d")
        try store.set([1], forKey: "e")
        #expect(try present(store, ["a", "c", "d", "e"]) == ["a", "d", "e"])
        try store.close()
    }

    @Test("TTL evicts the soonest expiry; entries without expiry go last, in LRU order")
    func ttlVictim() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: options(.ttl, maxEntries: 3))
        try store.set([1], forKey: "late", ttl: .seconds(500))
        try store.set([1], forKey: "never1")
        try store.set([1], forKey: "soon", ttl: .seconds(100))
        try store.set([1], forKey: "x")
        #expect(try present(store, ["late", "never1", "soon", "x"]) == ["late", "never1", "x"])
        try store.set([1], forKey: "y")
        #expect(try present(store, ["late", "never1", "x", "y"]) == ["never1", "x", "y"])
        _ = try store.value(forKey: "never1")
        try store.set([1], forKey: "z")
        #expect(try present(store, ["never1", "x", "y", "z"]) == ["never1", "y", "z"])
        try store.close()
    }

    @Test("FIFO evicts in insertion order whatever is read")
    func fifoVictim() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: options(.fifo, maxEntries: 3))
        for k in ["a", "b", "c"] { try store.set([1], forKey: k) }
        _ = try store.value(forKey: "a")
        try store.set([1], forKey: "d")
        #expect(try present(store, ["a", "b", "c", "d"]) == ["b", "c", "d"])
        try store.close()
    }

    @Test("Byte capacity: the record that overflows pushes out as many entries as it needs")
    func byteCapacity() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // Records here are 32 + 1 + 100 = 133 bytes; 1000 bytes hold 7 of them.
        let store = try CacheStore(directory: dir.path, options: options(.lru, capacity: 1000))
        for k in ["a", "b", "c", "d", "e", "f", "g"] { try store.set([UInt8](repeating: 1, count: 100), forKey: k) }
        #expect(store.statistics.entries == 7)
        try store.set([UInt8](repeating: 2, count: 300), forKey: "h")
        #expect(try present(store, ["a", "b", "c", "d", "e", "f", "g", "h"]) == ["c", "d", "e", "f", "g", "h"], "a and b free 266 of the 264 bytes needed")
        #expect(store.statistics.liveBytes <= 1000)
        try store.close()
    }

    @Test("An entry larger than the whole capacity is refused, and nothing is evicted for it")
    func tooLarge() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: options(.lru, capacity: 1000))
        try store.set([1, 2, 3], forKey: "small")
        #expect(throws: CacheError.exceedsCapacity(length: 32 + 3 + 2000, capacity: 1000)) {
            try store.set([UInt8](repeating: 0, count: 2000), forKey: "big")
        }
        #expect(try store.value(forKey: "small") == [1, 2, 3])
        #expect(store.statistics.evictions == 0)
        try store.close()
    }

    @Test("Expired entries are reclaimed before any live entry is evicted", arguments: PolicyKind.allCases)
    func expiredFirst(policy: PolicyKind) throws {
        let dir = TemporaryDirectory("expiredFirst\(policy)")
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: options(policy, maxEntries: 3, clock: clock))
        try store.set([1], forKey: "b")
        try store.set([1], forKey: "a", ttl: .seconds(1000))
        try store.set([1], forKey: "c")
        _ = try store.value(forKey: "a")
        clock.advance(by: .seconds(2000))
        try store.set([1], forKey: "d")
        #expect(try present(store, ["a", "b", "c", "d"]) == ["b", "c", "d"])
        #expect(store.statistics.evictions == 0)
        #expect(store.statistics.expirations >= 1)
        try store.close()
    }

    @Test("LRU recency and LFU counts survive close and reopen")
    func orderSurvivesReopen() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        do {
            let store = try CacheStore(directory: dir.path, options: options(.lru, maxEntries: 3))
            for k in ["a", "b", "c"] { try store.set([1], forKey: k) }
            _ = try store.value(forKey: "a")
            try store.close()
        }
        let lru = try CacheStore(directory: dir.path)
        try lru.set([1], forKey: "d")
        #expect(try present(lru, ["a", "b", "c", "d"]) == ["a", "c", "d"], "write order alone would evict a")
        try lru.close()

        let dir2 = TemporaryDirectory("lfuReopen")
        defer { dir2.cleanup() }
        do {
            let store = try CacheStore(directory: dir2.path, options: options(.lfu, maxEntries: 3))
            for k in ["a", "b", "c"] { try store.set([1], forKey: k) }
            for _ in 0..<3 { _ = try store.value(forKey: "a") }
            _ = try store.value(forKey: "b")
            try store.close()
        }
        let lfu = try CacheStore(directory: dir2.path)
        try lfu.set([1], forKey: "d")
        _ = try lfu.value(forKey: "d")
        _ = try lfu.value(forKey: "d")
        // Counts a 4, b 2, d 3 if they survived; c (1) had to go first.
        try lfu.set([1], forKey: "e")
        #expect(try present(lfu, ["a", "b", "c", "d", "e"]) == ["a", "d", "e"])
        try lfu.close()
    }

    /// Runs `steps` sets and gets of a seeded workload on `store`, starting at step `from`.
    private func policyWorkload(_ store: CacheStore, seed: UInt64, from: Int, steps: Int) throws {
        var g = SeededGenerator(seed: seed)
        for _ in 0..<(from * 3) { _ = g.next() }
        for _ in 0..<steps {
            let key = "k\(g.next() % 120)"
            let size = Int(g.next() % 300) + 20
            if g.next() % 3 == 0 {
                try store.set([UInt8](repeating: UInt8(size & 0xFF), count: size), forKey: key)
            } else {
                _ = try store.value(forKey: key)
            }
        }
    }

    @Test("Every policy's order, ghosts and sketch survive close and reopen: after a reopen the workload evicts exactly what it evicts without one",
          arguments: PolicyKind.allCases, [true, false])
    func everyPolicySurvivesReopen(policy: PolicyKind, countsBytes: Bool) throws {
        let dir = TemporaryDirectory("reopen\(policy)")
        defer { dir.cleanup() }
        let opts = countsBytes ? options(policy, capacity: 6_000) : options(policy, maxEntries: 30)
        let straight = try CacheStore(directory: dir.file("straight"), options: opts)
        try policyWorkload(straight, seed: 5, from: 0, steps: 4000)
        var reopened = try CacheStore(directory: dir.file("reopened"), options: opts)
        for part in 0..<4 {
            try policyWorkload(reopened, seed: 5, from: part * 1000, steps: 1000)
            try reopened.close()
            reopened = try CacheStore(directory: dir.file("reopened"))
        }
        // Presence is listed, not read: reads would count as hits.
        let a = Set(try straight.entries().map { String(decoding: $0.key, as: UTF8.self) })
        let b = Set(try reopened.entries().map { String(decoding: $0.key, as: UTF8.self) })
        #expect(a.count > 5)
        #expect(a == b, "\(policy): \(a.symmetricDifference(b).sorted()); straight \(straight.statistics), reopened \(reopened.statistics)")
        #expect(straight.statistics.evictions > 100, "\(policy): the workload must evict")
        #expect(reopened.statistics.evictions == 0, "\(policy): nothing to evict at open")
        try straight.close()
        try reopened.close()
    }

    @Test("The files a crash leaves: within the capacity, every surviving key with its last value, fsck clean, and the policy rebuilt",
          arguments: PolicyKind.allCases)
    func crashImageKeepsCapacity(policy: PolicyKind) throws {
        let dir = TemporaryDirectory("crash\(policy)")
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.file("store"), options: options(policy, maxEntries: 25))
        var last: [String: [UInt8]] = [:]
        var g = SeededGenerator(seed: 3)
        for i in 0..<600 {
            let key = "k\(g.next() % 80)"
            if g.next() % 3 == 0 {
                let v = Array("\(key) \(i)".utf8)
                try store.set(v, forKey: key)
                last[key] = v
            } else {
                _ = try store.value(forKey: key)
            }
        }
        // No POLICY file (no close yet), as after a crash; a seal still running would leave a
        // temporary file that only a dead process's would let open remove.
        PendingSeal.waitForBackgroundSeals()
        try FileManager.default.copyItem(atPath: dir.file("store"), toPath: dir.file("crash"))
        try store.close()
        let reopened = try CacheStore(directory: dir.file("crash"))
        let present = try reopened.entries().map { String(decoding: $0.key, as: UTF8.self) }
        #expect(present.count == 25)
        for key in present { #expect(try reopened.value(forKey: key) == last[key], "\(key)") }
        #expect(reopened.statistics.evictions == 0)
        // The rebuilt policy evicts: 30 new keys leave 25 in all.
        for i in 0..<30 { try reopened.set([1], forKey: "new\(i)") }
        #expect(reopened.statistics.entries == 25)
        try reopened.close()
        let report = try StoreCheck.run(directory: dir.file("crash"), repair: false)
        #expect(report.ok, "\(report.problems)")
    }

    @Test("An evicted entry stays gone after reopen and in the files a crash leaves behind")
    func evictedStaysGone() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let crashCopy = dir.file("copy")
        let store = try CacheStore(directory: dir.file("store"), options: options(.fifo, maxEntries: 5))
        for i in 0..<20 { try store.set([UInt8(i)], forKey: "k\(i)") }
        // The files as they are now, with the store still open: what a kill -9 leaves.
        try FileManager.default.copyItem(atPath: dir.file("store"), toPath: crashCopy)
        try store.close()
        for path in [dir.file("store"), crashCopy] {
            let reopened = try CacheStore(directory: path)
            #expect(try present(reopened, (0..<20).map { "k\($0)" }) == (15..<20).map { "k\($0)" })
            #expect(reopened.statistics.evictions == 0, "nothing left to evict at open")
            try reopened.close()
        }
    }
}

@Suite("fsck on a store that has evicted")
struct EvictionFsckTests {
    @Test("Eviction records and the saved policy order check clean")
    func evictionRecordsCheckClean() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(maxEntries: 3, policy: .lfu))
        for i in 0..<10 { try store.set([UInt8(i)], forKey: "k\(i)") }
        #expect(store.statistics.evictions == 7)
        try store.close()
        let report = try StoreCheck.run(directory: dir.path, repair: false)
        #expect(report.ok, "\(report.problems)")
    }
}
