import Foundation
import Testing
@testable import LogCache

@Suite("Listing entries, absolute expiry and removing everything, through the library")
struct StoreEntriesTests {
    @Test("entries(prefix:limit:) lists live keys in log order with their sizes and expiry, skipping expired and removed ones")
    func entries() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 4096, clock: clock))
        for i in 0..<60 { try store.set(Array(repeating: UInt8(i), count: 100 + i), forKey: "a/\(i)") }
        try store.set([1], forKey: "b/short", ttl: .seconds(5))
        try store.set([2], forKey: "b/long", ttl: .seconds(500))
        try store.removeValue(forKey: "a/3")
        try store.set([3], forKey: "a/0")   // rewritten: now the newest record
        let all = try store.entries()
        #expect(all.count == 61)
        #expect(all.last?.key == Array("a/0".utf8))
        #expect(all.first?.key == Array("a/1".utf8))
        let a10 = try #require(all.first { $0.key == Array("a/10".utf8) })
        #expect(a10.rawLength == 110 && a10.storedLength < 110 && a10.recordLength == RecordHeader.size + 4 + a10.storedLength)
        #expect(a10.createdAt == clock.now() && a10.expiresAt == nil)
        #expect(try store.entries(prefix: Array("b/".utf8)).map(\.expiresAt) == [clock.now() + 5000, clock.now() + 500_000])
        #expect(try store.entries(prefix: Array("a/".utf8), limit: 3).map { String(decoding: $0.key, as: UTF8.self) }
                == ["a/1", "a/2", "a/4"])
        clock.advance(by: .seconds(6))
        #expect(try store.entries(prefix: Array("b/".utf8)).map(\.key) == [Array("b/long".utf8)])

        var values: [[UInt8]: [UInt8]] = [:]
        try store.forEachValue(prefix: Array("a/".utf8)) { info, value in
            values[info.key] = value
            return true
        }
        #expect(values.count == 59 && values[Array("a/0".utf8)] == [3] && values[Array("a/59".utf8)]?.count == 159)
        var visited = 0
        try store.forEachEntry { _ in visited += 1; return visited < 5 }
        #expect(visited == 5)
        try store.close()
        #expect(throws: CacheError.closed) { try store.entries() }
    }

    @Test("A damaged record is left out of listings rather than shown under a wrong key")
    func damagedRecordNotListed() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set(Array(repeating: 1, count: 10), forKey: "first")
        try store.set(Array(repeating: 2, count: 10), forKey: "second")
        try store.close()
        // The key of "first" starts right after the segment header and the record header.
        try flipBit(dir.file("0000000001.seg"), at: SegmentHeader.size + RecordHeader.size)
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.entries().map(\.key) == [Array("second".utf8)])
        var seen: [[UInt8]] = []
        try reopened.forEachValue { info, _ in seen.append(info.key); return true }
        #expect(seen == [Array("second".utf8)])
        try reopened.close()
    }

    @Test("set(_:forKey:expiresAt:) and setValues keep absolute expiry moments; the later of two equal keys wins")
    func absoluteExpiry() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Options(defaultTTL: .seconds(10), clock: clock))
        let moment = clock.now() + 60_000
        try store.set([1], forKey: Array("k".utf8), expiresAt: moment)
        try store.setValues([
            StoreEntry(key: Array("n".utf8), value: [2], expiresAt: nil),
            StoreEntry(key: Array("d".utf8), value: [3], expiresAt: moment),
            StoreEntry(key: Array("d".utf8), value: [4], expiresAt: moment + 1),
            StoreEntry(key: Array("old".utf8), value: [5], expiresAt: clock.now() - 1),
        ])
        #expect(try store.value(forKey: "d") == [4])
        #expect(try store.value(forKey: "old") == nil)
        #expect(throws: CacheError.self) { try store.set([1], forKey: Array("x".utf8), expiresAt: -5) }
        let listed = Dictionary(uniqueKeysWithValues: try store.entries().map { ($0.key, $0.expiresAt) })
        #expect(listed[Array("k".utf8)] == moment)
        #expect(listed[Array("n".utf8)] == .some(nil))   // nil means never: the default TTL does not apply
        clock.advance(by: .seconds(59))
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: Options(clock: clock))
        #expect(try reopened.value(forKey: "k") == [1] && reopened.value(forKey: "n") == [2])
        clock.advance(by: .seconds(2))
        #expect(try reopened.value(forKey: "k") == nil && reopened.value(forKey: "n") == [2])
        try reopened.close()
    }

    @Test("removeAll empties the store at once, survives reopening, and the store goes on working")
    func removeAll() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 4096))
        for i in 0..<200 { try store.set(Array(repeating: UInt8(i % 256), count: 100), forKey: "k\(i)") }
        #expect(try store.removeAll() == 200)
        #expect(store.statistics.entries == 0 && store.statistics.segments == 1 && store.statistics.liveBytes == 0)
        #expect(try store.value(forKey: "k1") == nil)
        try store.set([7], forKey: "after")
        try store.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".seg") }
        #expect(names.count == 1)
        let reopened = try CacheStore(directory: dir.path)
        #expect(reopened.statistics.entries == 1)
        #expect(try reopened.value(forKey: "after") == [7] && reopened.value(forKey: "k5") == nil)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("entries, forEachValue and export follow the manifest's log order after a compaction put a newer segment first")
    func logOrderAfterCompaction() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path,
                                   options: Options(compression: .none, segmentSize: 4096, compaction: .manual))
        let filler = [UInt8](repeating: 7, count: 200)
        // Segment 1: three values that stay, then values that are removed, so that the
        // segment is mostly dead and a pass rewrites it alone.
        var expected: [[UInt8]] = []
        for i in 0..<3 {
            try store.set(filler, forKey: "old-\(i)")
            expected.append(Array("old-\(i)".utf8))
        }
        var dead = 0
        while store.statistics.segments == 1 {
            try store.set(filler, forKey: "dead-\(dead)")
            dead += 1
        }
        for i in 0..<dead { try store.removeValue(forKey: "dead-\(i)") }
        // Then segments full of values that stay.
        var i = 0
        while store.statistics.segments < 5 {
            try store.set(filler, forKey: "new-\(i)")
            expected.append(Array("new-\(i)".utf8))
            i += 1
        }
        let summary = try store.compactor.run(onDemand: false, progress: nil)
        #expect(summary.segmentsRewritten > 0)
        let order = store.log.manifest.segments
        // The precondition of the test: a higher-numbered segment now comes before lower ones.
        try #require(order.count >= 2 && order[0] > order[1], "\(order)")

        #expect(try store.entries().map(\.key) == expected)
        var visited: [[UInt8]] = []
        try store.forEachValue { info, value in
            #expect(value == filler)
            visited.append(info.key)
            return true
        }
        #expect(visited == expected)
        try store.close()

        let exported = try run(productPath("cachectl"), ["export", dir.path])
        #expect(exported.status == 0, "\(exported.stderr)")
        let keys = try exported.text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Array(try #require(object["key"] as? String).utf8)
        }
        #expect(keys == expected)
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.entries().map(\.key) == expected)
        try reopened.close()
    }
}
