import Foundation
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

@Suite("Sharing a store when a manifest write fails or a writer dies between appending and announcing")
struct SharingFailureTests {
    /// A value of 1,500 bytes that names its writer and number, incompressible enough that
    /// two fill a 4 KiB segment.
    static func value(_ writer: String, _ n: Int) -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(n) &* 31 &+ UInt64(writer.utf8.first ?? 0))
        let head = Array("\(writer)-\(n)|".utf8)
        return head + generator.bytes(1500 - head.count)
    }

    static let options = Options(compression: .none, segmentSize: 4096, compaction: .manual)

    @Test("A manifest write that fails in one handle never costs either handle an acknowledged write, also after a reopen")
    func failedManifestWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let a = try CacheStore(directory: dir.path, options: Self.options)
        let b = try CacheStore(directory: dir.path, options: Self.options)
        var acked: [String: [UInt8]] = [:]
        func write(_ store: CacheStore, _ name: String, _ n: Int) -> Bool {
            let v = Self.value(name, n)
            guard (try? store.set(v, forKey: "\(name)-\(n)")) != nil else { return false }
            acked["\(name)-\(n)"] = v
            return true
        }
        for n in 0..<3 { #expect(write(a, "a", n)) }
        // A directory where the temporary manifest goes: every roll fails while it is there.
        try FileManager.default.createDirectory(atPath: dir.file("MANIFEST.tmp"), withIntermediateDirectories: false)
        var failures = 0
        for n in 3..<9 where !write(a, "a", n) { failures += 1 }
        #expect(failures > 0, "no roll failed while MANIFEST.tmp was a directory")
        try FileManager.default.removeItem(atPath: dir.file("MANIFEST.tmp"))
        for n in 0..<20 {
            #expect(write(b, "b", n))
            #expect(write(a, "a", 100 + n))
        }
        for (key, v) in acked.sorted(by: { $0.key < $1.key }) {
            #expect(try a.value(forKey: key) == v, "\(key) does not read back from the handle that failed")
            #expect(try b.value(forKey: key) == v, "\(key) does not read back from the other handle")
        }
        try a.close()
        try b.close()
        let reopened = try CacheStore(directory: dir.path)
        for (key, v) in acked.sorted(by: { $0.key < $1.key }) {
            #expect(try reopened.value(forKey: key) == v, "\(key) does not read back after a reopen")
        }
        #expect(reopened.statistics.corruptRecords == 0)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("A file already at the next segment number is never truncated when a segment is created")
    func newSegmentKeepsExistingFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Self.options)
        defer { try? store.close() }
        try store.set(Self.value("s", 0), forKey: "s-0")
        let next = store.log.manifest.nextSegmentID
        // What a handle with an outdated manifest would find: a segment file that holds records.
        let planted = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file(Segment.fileName(1)))))
        let path = dir.file(Segment.fileName(next))
        #expect(FileManager.default.createFile(atPath: path, contents: Data(planted)))
        var acked: [String: [UInt8]] = ["s-0": Self.value("s", 0)]
        for n in 1..<8 {
            try store.set(Self.value("s", n), forKey: "s-\(n)")
            acked["s-\(n)"] = Self.value("s", n)
        }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == planted, "the existing file was overwritten")
        for (key, v) in acked { #expect(try store.value(forKey: key) == v) }
    }

    /// Appends the record of `value` for `key`, encoded by `encoder` for its store, to the
    /// active segment under the append mutex, without announcing it or letting the mutex go:
    /// what a writer killed between its append and its announcement leaves.
    static func appendUnannounced(_ value: [UInt8], key: String, encoder: CacheStore, dir: String) throws {
        let record = try withBytes(Array(key.utf8)) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in
                try encoder.encoder.value(key: k, value: v, ttl: nil, now: encoder.clock.now())
            }
        }
        try dieHoldingAppendMutex(dir) {
            let manifest = try StoreOpening.readManifest(Directory(path: dir))
            let active = try #require(manifest.segments.last)
            let file = try File.open(dir + "/" + Segment.fileName(active), flags: O_RDWR)
            try file.write(record.bytes, at: try file.size())
        }
    }

    /// The record of `value` for `key`, encoded by `store`'s encoder.
    static func record(_ value: [UInt8], key: String, in store: CacheStore) throws -> PendingRecord {
        try withBytes(Array(key.utf8)) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in
                try store.encoder.value(key: k, value: v, ttl: nil, now: store.clock.now())
            }
        }
    }

    /// Opens a writer and a reader handle on `dir`; `prepare` writes what the test needs first,
    /// leaving the reader behind (a change it has not seen), so that its next lookup catches up.
    /// Then, in one hold of the writer, `beforeAppend` runs and an append of `failed` under key
    /// "x" writes a whole record and is cut back, with the reader looking meanwhile; then the
    /// key is rewritten with `rewritten`, of the same length, at the same place. The reader
    /// must miss the key in the hold and read the rewrite after. Returns both handles.
    static func expectFailedAppendNeverRead(
        in dir: TemporaryDirectory, failed: [UInt8], rewritten: [UInt8],
        prepare: (CacheStore, CacheStore) throws -> Void,
        beforeAppend: (inout LogState, CacheStore) throws(CacheError) -> Void
    ) throws -> (writer: CacheStore, reader: CacheStore) {
        let writer = try CacheStore(directory: dir.path, options: options)
        let reader = try CacheStore(directory: dir.path, options: options)
        try prepare(writer, reader)
        #expect(failed.count == rewritten.count)
        let record = try Self.record(failed, key: "x", in: writer)
        var place = 0
        var seenMeanwhile: [[UInt8]?] = []
        try writer.log.exclusively { w throws(CacheError) in
            try beforeAppend(&w, writer)
            place = w.active.length
            try w.active.segment.file.write(record.bytes, at: place)
            // Three reads: the hot values keep a value from its second.
            for _ in 0..<3 { seenMeanwhile.append(try reader.value(forKey: "x")) }
            try w.active.segment.file.truncate(to: place)
        }
        #expect(seenMeanwhile.allSatisfy { $0 == nil }, "a handle read a record past the announced end")
        try writer.set(rewritten, forKey: "x")
        #expect(try writer.index.located(KeyHash.hash(Array("x".utf8)))?.0.offset == UInt32(place))
        for _ in 0..<3 {
            #expect(try reader.value(forKey: "x") == rewritten, "a handle returned the value of a failed append")
        }
        return (writer, reader)
    }

    @Test("Records of an append that fails and is cut back after a roll never reach another handle, which then reads the key's rewrite at the same place")
    func failedAppendAfterRollNeverRead() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let (writer, reader) = try Self.expectFailedAppendNeverRead(
            in: dir, failed: Self.value("failed", 0), rewritten: Self.value("rewrite", 0),
            prepare: { writer, reader in
                try writer.set(Self.value("w", 0), forKey: "w-0")
                try writer.set(Self.value("w", 1), forKey: "w-1")
                #expect(try reader.value(forKey: "w-0") == Self.value("w", 0))
                try writer.set(Array("small".utf8), forKey: "w-2")
            },
            beforeAppend: { w, writer throws(CacheError) in
                // The roll's manifest is published before the append that then fails.
                try w.roll(indexingInto: writer.index)
            })
        defer { try? writer.close(); try? reader.close() }
        #expect(try reader.value(forKey: "w-2") == Array("small".utf8))
    }

    @Test("A manifest that adds no segment (a compaction taking a number) never makes another handle read the live segment past the announced end")
    func manifestWithoutNewSegmentsKeepsTheLimit() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let (writer, reader) = try Self.expectFailedAppendNeverRead(
            in: dir, failed: Array(repeating: UInt8(ascii: "f"), count: 300),
            rewritten: Array(repeating: UInt8(ascii: "r"), count: 300),
            prepare: { writer, reader in
                try writer.set(Array("small".utf8), forKey: "w-0")
                #expect(try reader.value(forKey: "w-0") == Array("small".utf8))
                try writer.set(Array("more".utf8), forKey: "w-1")
            },
            beforeAppend: { w, _ throws(CacheError) in
                // What allocateSegmentID publishes for a compaction: the same segments, a
                // higher next number.
                var next = w.manifest
                next.nextSegmentID += 1
                next.generation += 1
                try w.publish(next)
            })
        defer { try? writer.close(); try? reader.close() }
        #expect(try reader.value(forKey: "w-1") == Array("more".utf8))
    }

    @Test("A record a killed writer appended but never announced is announced by the next writer: handles that had caught up see it")
    func unannouncedRecordAfterNextWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(compaction: .manual)
        let reader = try CacheStore(directory: dir.path, options: options)
        defer { try? reader.close() }
        let writer = try CacheStore(directory: dir.path, options: options)
        defer { try? writer.close() }
        func bucket(_ key: String) -> UInt64 { (KeyHash.hash(Array(key.utf8)) >> 32) % UInt64(SharedCounters.bucketCount) }
        let other = try #require((0..<100).map { "other-\($0)" }.first { bucket($0) != bucket("k") })
        try reader.set(Array("old".utf8), forKey: "k")
        #expect(try reader.value(forKey: "k") == Array("old".utf8))
        #expect(try writer.value(forKey: "k") == Array("old".utf8))
        try Self.appendUnannounced(Array("new".utf8), key: "k", encoder: writer, dir: dir.path)
        // The writer cuts or adopts the tail under the append lock, and must announce what it found.
        try writer.set([1], forKey: other)
        #expect(try writer.value(forKey: "k") == Array("new".utf8))
        #expect(try reader.value(forKey: "k") == Array("new".utf8), "a handle that had caught up still returns the old value")
        #expect(try reader.value(forKey: other) == [1])
    }

    @Test("A record a killed writer appended but never announced is announced by the next open")
    func unannouncedRecordAfterOpen() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(compaction: .manual)
        let reader = try CacheStore(directory: dir.path, options: options)
        defer { try? reader.close() }
        try reader.set(Array("old".utf8), forKey: "k")
        #expect(try reader.value(forKey: "k") == Array("old".utf8))
        try Self.appendUnannounced(Array("new".utf8), key: "k", encoder: reader, dir: dir.path)
        let opened = try CacheStore(directory: dir.path, options: options)
        #expect(try opened.value(forKey: "k") == Array("new".utf8))
        try opened.close()
        #expect(try reader.value(forKey: "k") == Array("new".utf8), "a handle that had caught up still returns the old value")
    }

    @Test("Writes of this handle in a segment another handle sealed are synced by this handle's next flush")
    func writesInASegmentSealedElsewhereAreSynced() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(segmentSize: 4096, compaction: .manual)
        let mine = try CacheStore(directory: dir.path, options: options)
        let other = try CacheStore(directory: dir.path, options: options)
        defer { try? mine.close(); try? other.close() }
        try mine.set(Array(repeating: 1, count: 100), forKey: "mine")
        let written = mine.log.manifest.segments.last
        // The other handle rolls the segment this one wrote to; its seal runs in the background.
        var i = 0
        while other.log.manifest.segments.last == written {
            try other.set(Self.value("o", i), forKey: "o-\(i)")
            i += 1
        }
        // Catching up moves this handle to the new segment; its unsynced write stays owed.
        try mine.set([2], forKey: "next")
        #expect(try mine.log.exclusively { $0.unsyncedSealed.map(\.id) } == [try #require(written)])
        try mine.flush()
        #expect(try mine.log.exclusively { $0.unsyncedSealed.isEmpty })
        #expect(try other.value(forKey: "mine") == Array(repeating: 1, count: 100))
    }
}

@Suite("A SHARED page that no live process will ever unlock")
struct StaleSharedPageTests {
    /// A copy of a live store taken while a thread held the append mutex (a backup of a store
    /// in use, or the files a machine crash leaves when the page was written back mid-hold)
    /// holds a mutex locked by a thread the copy's openers do not know: no kernel will mark it
    /// dead for them. The first handle to open such a store, with no other handle open, must
    /// set the page up anew instead of waiting for ever.
    @Test("A store copied while its append mutex was held opens, with every entry, when no handle has it open")
    func copyTakenMidHoldOpens() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let live = try CacheStore(directory: dir.file("live"), options: Options(compaction: .manual))
        for i in 0..<50 { try live.set(Array("value \(i)".utf8), forKey: "k\(i)") }
        try live.flush()
        // Hold the live store's append mutex, as one of its writers does, while the copy is made.
        let page = try SharedCounters(directory: try Directory.openOrCreate(dir.file("live")))
        try page.lockAppend()
        try FileManager.default.copyItem(atPath: dir.file("live"), toPath: dir.file("copy"))
        page.unlockAppend()
        try live.close()

        // In another process, so that a hang is a failure and not a test run that never ends.
        let opener = try WorkerProcess(["open", dir.file("copy")])
        let status = opener.waitForExit(timeout: .seconds(30))
        if status == nil { opener.kill() }
        #expect(status == 0, "opening the copy did not finish: \(opener.lines)")
        #expect(opener.lines.contains("opened"))

        let copy = try CacheStore(directory: dir.file("copy"))
        for i in 0..<50 { #expect(try copy.value(forKey: "k\(i)") == Array("value \(i)".utf8)) }
        try copy.set([7], forKey: "after")
        try copy.close()
        let report = try StoreCheck.run(directory: dir.file("copy"), repair: false)
        #expect(report.ok, "\(report.problems)")
    }
}
