import Foundation
import Testing
@testable import LogCache

/// The read path past the index: sealed segments read through their memory map, and the
/// handle's hot values, over real stores, files and processes.
@Suite("Read path")
struct ReadPathTests {
    /// Small segments, so that a few hundred values seal several.
    static func options(hot: Int = 1 << 20, clock: any CacheClock = SystemClock()) -> Options {
        Options(compression: .none, segmentSize: 16 << 10, clock: clock, hotValueCacheBytes: hot)
    }

    static func value(_ i: Int) -> [UInt8] { (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) } }

    /// The segments of `store` other than the active one, and whether each is mapped.
    static func sealedSegments(_ store: CacheStore) -> [(id: UInt32, mapped: Bool)] {
        let active = store.log.manifest.segments.last
        return store.index.segments.values.filter { $0.id != active }.map { ($0.id, $0.isMapped) }.sorted { $0.id < $1.id }
    }

    @Test("Segments are mapped once sealed, in this process and at the next open, never the active one; every value reads back")
    func sealedSegmentsAreMapped() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        do {
            let store = try CacheStore(directory: dir.path, options: Self.options(hot: 0))
            for i in 0..<300 { try store.set(Self.value(i), forKey: "k\(i)") }
            PendingSeal.waitForBackgroundSeals()
            let sealed = Self.sealedSegments(store)
            #expect(sealed.count >= 4)
            #expect(sealed.allSatisfy { $0.mapped }, "a segment whose seal is done reads through its map: \(sealed)")
            let activeID = try #require(store.log.manifest.segments.last)
            let active = try #require(store.index.segment(activeID))
            #expect(!active.isMapped, "the active segment may be cut by another process: never mapped")
            for i in 0..<300 { #expect(try store.value(forKey: "k\(i)") == Self.value(i)) }
            try store.close()
        }
        let store = try CacheStore(directory: dir.path, options: Self.options(hot: 0))
        let sealed = Self.sealedSegments(store)
        #expect(sealed.count >= 4 && sealed.allSatisfy { $0.mapped }, "\(sealed)")
        for i in 0..<300 { #expect(try store.value(forKey: "k\(i)") == Self.value(i)) }
        #expect(store.statistics.hotValueHits == 0, "the cache was off")
        try store.close()
    }

    @Test("A byte damaged in a mapped segment is caught by the checksum on the read, and the value is never returned")
    func damageInAMappedSegmentIsCaught() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.options())
        for i in 0..<300 { try store.set(Self.value(i), forKey: "k\(i)") }
        PendingSeal.waitForBackgroundSeals()
        let (entry, segment) = try #require(try store.index.located(KeyHash.hash(Array("k3".utf8))))
        #expect(segment.isMapped, "k3 is in the first segment, sealed")
        // The value's last byte: the map is of the file's pages, so it sees the change.
        try flipBit(dir.file(Segment.fileName(entry.segment)), at: Int(entry.offset + entry.length) - 1, bit: 3)
        #expect(try store.value(forKey: "k3") == nil)
        #expect(store.statistics.corruptRecords == 1)
        #expect(try store.value(forKey: "k4") == Self.value(4), "the record beside it is whole")
        try store.close()
    }

    @Test("Another process's sealed segments are mapped once their index files are written")
    func otherProcessesSegmentsAreMapped() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // Created here with small raw segments, which the worker's handle then keeps.
        let store = try CacheStore(directory: dir.path, options: Self.options(hot: 0))
        try store.set([1], forKey: "key-0")
        #expect(try store.value(forKey: "key-0") == [1])
        let before = store.log.manifest.segments.count
        let worker = try run(productPath("logcache-worker"), ["write", dir.path, "300", "8"])
        #expect(worker.status == 0, "\(worker.stderr)")
        // The read catches up with the worker's manifest, whose sealed segments have index files.
        #expect(try store.value(forKey: "key-299") == workerValue(seed: 8, index: 299))
        let sealed = Self.sealedSegments(store)
        #expect(store.log.manifest.segments.count > before + 2, "the worker sealed several segments")
        #expect(!sealed.isEmpty && sealed.allSatisfy { $0.mapped }, "\(sealed)")
        for i in stride(from: 0, to: 300, by: 7) {
            #expect(try store.value(forKey: "key-\(i)") == workerValue(seed: 8, index: i))
        }
        try store.close()
    }

    @Test("A value enters the hot values on its second read and is answered from there after; bytes stay within the size")
    func hotValuesAdmitAndBound() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.options(hot: 64 << 10))
        try store.set(Self.value(1), forKey: "hot")
        #expect(try store.value(forKey: "hot") == Self.value(1))
        #expect(try store.value(forKey: "hot") == Self.value(1))
        #expect(store.statistics.hotValueHits == 0, "read twice from its record: the first miss only marks the key")
        #expect(try store.value(forKey: "hot") == Self.value(1))
        #expect(try store.value(forKey: "hot") == Self.value(1))
        #expect(store.statistics.hotValueHits == 2)
        #expect(store.statistics.hits == 4)

        // Many more values than fit, each read three times: the bound holds throughout.
        for i in 0..<1000 { try store.set(Self.value(i), forKey: "v\(i)") }
        for i in 0..<1000 {
            for _ in 0..<3 { #expect(try store.value(forKey: "v\(i)") == Self.value(i)) }
            #expect(store.statistics.hotValueBytes <= 64 << 10)
        }
        #expect(store.statistics.hotValueHits >= 2 + 900, "the third read of each value was a hot hit")
        try store.close()
    }

    @Test("A value read while the hot values are forgotten is not kept after: the place it came from may hold another record next")
    func hotValuesForgetReadsInFlight() {
        let hot = HotValues(capacity: 1 << 20)
        let key: [UInt8] = Array("k".utf8)
        let entry = IndexEntry(keyHash: KeyHash.hash(key), segment: 3, offset: 20, length: 100, expiresAt: 0)
        func look() -> HotValues.Lookup { key.withUnsafeBytes { hot.value(for: entry, key: $0, now: 1) } }
        func keep(_ value: [UInt8], after lookup: HotValues.Lookup) {
            key.withUnsafeBytes { hot.insert(value, type: .bytes, key: $0, expiresAt: 0, for: entry, after: lookup) }
        }
        func cached() -> [UInt8]? {
            if case .hit(let v, _) = look() { return v }
            return nil
        }
        #expect(!look().admits, "the first miss only marks the key")
        let before = look()
        #expect(before.admits)
        hot.removeAll()
        keep([1, 1], after: before)
        #expect(cached() == nil, "a value looked up before the hot values were forgotten was kept")
        // That lookup was the key's first miss since; this one admits it.
        let after = look()
        #expect(after.admits)
        keep([2, 2], after: after)
        #expect(cached() == [2, 2])
    }

    @Test("Writes to a cached key, from this handle, another handle and another process, are seen at once")
    func hotValuesFollowWrites() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(hotValueCacheBytes: 1 << 20))
        func warm(_ key: String) throws -> [UInt8]? {
            let hitsBefore = store.statistics.hotValueHits
            var last: [UInt8]?
            for _ in 0..<3 { last = try store.value(forKey: key) }
            #expect(store.statistics.hotValueHits > hitsBefore, "\(key) is cached")
            return last
        }
        try store.set([1, 2, 3], forKey: "key-0")
        #expect(try warm("key-0") == [1, 2, 3])
        try store.set([4, 5, 6], forKey: "key-0")
        #expect(try store.value(forKey: "key-0") == [4, 5, 6], "this handle's own write")

        #expect(try warm("key-0") == [4, 5, 6])
        let other = try CacheStore(directory: dir.path)
        try other.set([7, 8], forKey: "key-0")
        #expect(try store.value(forKey: "key-0") == [7, 8], "another handle's write")
        #expect(try warm("key-0") == [7, 8])
        #expect(try other.removeValue(forKey: "key-0"))
        #expect(try store.value(forKey: "key-0") == nil, "another handle's removal")
        try other.close()

        try store.set([9], forKey: "key-0")
        #expect(try warm("key-0") == [9])
        let worker = try run(productPath("logcache-worker"), ["write", dir.path, "1", "5"])
        #expect(worker.status == 0)
        #expect(try store.value(forKey: "key-0") == workerValue(seed: 5, index: 0), "another process's write")

        #expect(try warm("key-0") == workerValue(seed: 5, index: 0))
        _ = try store.compact()
        #expect(try store.value(forKey: "key-0") == workerValue(seed: 5, index: 0), "moved by compaction")
        #expect(try store.removeAll() >= 1)
        #expect(try store.value(forKey: "key-0") == nil, "after removeAll")
        #expect(store.statistics.hotValueBytes == 0)
        try store.close()
    }

    @Test("A cached value expires with its record; size 0 turns the cache off; a negative size is refused")
    func hotValuesExpireAndSettings() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Self.options(clock: clock))
        try store.set([1, 2, 3], forKey: "t", ttl: .seconds(10))
        for _ in 0..<3 { #expect(try store.value(forKey: "t") == [1, 2, 3]) }
        #expect(store.statistics.hotValueHits == 1)
        clock.advance(by: .milliseconds(9_999))
        #expect(try store.value(forKey: "t") == [1, 2, 3])
        #expect(store.statistics.hotValueHits == 2)
        clock.advance(by: .milliseconds(1))
        #expect(try store.value(forKey: "t") == nil, "expired to the millisecond, as the record says")
        #expect(store.statistics.expirations == 1)
        try store.close()

        let off = try CacheStore(directory: dir.path, options: Self.options(hot: 0))
        try off.set([1], forKey: "a")
        for _ in 0..<5 { #expect(try off.value(forKey: "a") == [1]) }
        #expect(off.statistics.hotValueHits == 0 && off.statistics.hotValueBytes == 0)
        try off.close()

        #expect(throws: CacheError.invalidOption("hot value cache size -1 is negative")) {
            _ = try CacheStore(directory: dir.path, options: Self.options(hot: -1))
        }
    }

    @Test("withValue and forEachValue lend every value whole, compressed or not, small or large, mapped or not; a damaged one is never lent")
    func borrowedValues() throws {
        for compression in [Compression.zstd(level: 3), .lz4, .none] {
            let dir = TemporaryDirectory()
            defer { dir.cleanup() }
            let store = try CacheStore(directory: dir.path, options: Options(
                compression: compression, segmentSize: 1 << 20, hotValueCacheBytes: 0))
            var g = SeededGenerator(seed: 21)
            // Sizes up and down, so that a reused buffer is shorter or longer than the next value.
            let sizes = [3 << 20, 10, 200_000, 1, 1 << 20, 70_000, 5_000, 2 << 20]
            var values: [String: [UInt8]] = [:]
            for (i, n) in sizes.enumerated() {
                values["v\(i)"] = g.bytes(n, compressible: i % 2 == 0)
                try store.set(values["v\(i)"]!, forKey: "v\(i)")
            }
            PendingSeal.waitForBackgroundSeals()
            for round in 0..<2 {
                for (k, v) in values.sorted(by: { $0.key < $1.key }) {
                    #expect(try store.withValue(forKey: k) { Array($0) } == v, "\(compression) \(k) round \(round)")
                }
            }
            #expect(try store.withValue(forKey: "absent") { _ in Issue.record("lent a value for a missing key") } == nil)
            // A read inside another's closure, on the same thread, must not reuse its buffer.
            let nested = try store.withValue(forKey: "v2") { outer -> Bool in
                let inner = try? store.withValue(forKey: "v5") { Array($0) }
                return Array(outer) == values["v2"] && inner == values["v5"]
            }
            #expect(nested == true, "\(compression)")
            let keys = values.keys.sorted() + ["absent"]
            var lent = 0
            let found = try store.forEachValue(forKeys: keys) { i, bytes in
                lent += 1
                #expect(Array(bytes) == values[keys[i]], "\(compression) \(keys[i])")
            }
            #expect(found == values.count && lent == values.count)

            // Damage the small value's last byte, and a byte in the middle of the 3 MiB one:
            // the checksum catches both before anything is lent.
            for (key, at) in [("v1", 1.0), ("v0", 0.5)] {
                let (entry, _) = try #require(try store.index.located(KeyHash.hash(Array(key.utf8))))
                let offset = Int(entry.offset) + Int(Double(entry.length - 1) * at)
                try flipBit(dir.file(Segment.fileName(entry.segment)), at: offset, bit: 2)
                #expect(try store.withValue(forKey: key) { _ in Issue.record("lent damaged \(key)") } == nil)
            }
            #expect(store.statistics.corruptRecords == 2)
            try store.close()
        }
    }
}
