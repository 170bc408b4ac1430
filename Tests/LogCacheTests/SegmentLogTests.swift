import Logging
import Foundation
import Testing
@testable import LogCache

/// The log on its own, with the index it feeds: appends, rolls, segment numbers, the
/// manifest and the announcements in `SHARED`, on a real store directory.
@Suite("SegmentLog")
struct SegmentLogTests {
    /// The pieces a store handle is made of, opened on `path` without a `CacheStore`.
    struct Pieces {
        let locks: StoreLocks
        let index: StoreIndex
        let log: SegmentLog
        let encoder: RecordEncoder

        init(_ path: String, segmentSize: Int = Limits.minSegmentSize) throws {
            let options = Options(compression: .none, segmentSize: segmentSize)
            let opened = try StoreOpening.open(directory: path, options: options)
            locks = opened.locks
            let loaded = opened.loaded
            index = StoreIndex(live: loaded.live, segments: loaded.segments, diskBytes: loaded.diskBytes)
            let follower = Follower(shared: opened.counters, index: index, hot: HotValues(capacity: 0), clock: options.clock,
                                    settings: opened.manifest.settings, sequence: opened.sequence,
                                    generation: opened.manifest.generation)
            log = SegmentLog(
                context: LogContext(dir: loaded.dir, segmentSize: opened.manifest.settings.segmentSize, durability: .none,
                                    shared: opened.counters,
                                    events: StoreEvents(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                                        directory: loaded.dir.path, slowOperationThreshold: .seconds(1))),
                locks: opened.locks, follower: follower, active: opened.active, manifest: opened.manifest)
            encoder = RecordEncoder(settings: opened.manifest.settings, salt: opened.manifest.salt)
        }

        func record(_ key: String, size: Int) throws -> PendingRecord {
            try withBytes(Array(key.utf8)) { k throws(CacheError) in
                try withBytes([UInt8](repeating: 1, count: size)) { v throws(CacheError) in
                    try encoder.value(key: k, value: v, expiresAt: 0, now: 1)
                }
            }
        }

        /// Appends under the log's locks; true when a segment was sealed.
        func append(_ records: [PendingRecord]) throws -> Bool {
            let index = self.index
            return try log.exclusively { w throws(CacheError) in try w.append(records, indexingInto: index) }
        }

        func close() {
            _ = log.close {}
            index.close()
            locks.open.unlock()
        }
    }

    /// Runs `body` with the pieces opened on a new store, and cleans up.
    static func withPieces(_ body: (Pieces, TemporaryDirectory) throws -> Void) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let p = try Pieces(dir.path)
        defer { p.close() }
        try body(p, dir)
    }

    @Test("Records that pass the segment size seal the segment: a manifest names the next, the index points into both, its index file follows its fsync")
    func appendRolls() throws {
        try Self.withPieces { p, dir in
            let records = try (0..<6).map { try p.record("k\($0)", size: 1000) }
            #expect(try !p.append(Array(records[0..<3])))
            #expect(p.log.manifest.segments == [1])
            #expect(try p.append(Array(records[3...])), "no segment was sealed")
            let manifest = p.log.manifest
            #expect(manifest.segments.count == 2 && manifest.segments[0] == 1)
            #expect(try StoreOpening.readManifest(Directory(path: dir.path)) == manifest, "the manifest file is not the log's")
            // Sealed in the background: a flush waits for the seal, whose index file is there then.
            try p.log.flush()
            #expect(FileManager.default.fileExists(atPath: dir.file(Segment.indexFileName(1))))
            #expect(p.index.segment(manifest.segments[1]) != nil, "the index did not open the new segment")
            // Every record is where the index says, byte for byte.
            for (i, r) in records.enumerated() {
                let (entry, segment) = try #require(try p.index.located(r.keyHash), "k\(i) is not indexed")
                #expect(try segment.withRecord(offset: entry.offset, length: entry.length) { [UInt8]($0) } == r.bytes)
                #expect(entry.segment == (i < 3 ? 1 : manifest.segments[1]))
            }
        }
    }

    @Test("A seal whose index file cannot be written is done again by the next flush or roll: it throws only while the cause lasts")
    func sealIndexFileRetried() throws {
        try Self.withPieces { p, dir in
            var written: [PendingRecord] = []
            // Appends records one by one until one seals a segment; returns that segment.
            func appendUntilRoll() throws -> UInt32 {
                let before = try #require(p.log.manifest.segments.last)
                while true {
                    let r = try p.record("k\(written.count)", size: 1000)
                    written.append(r)
                    if try p.append([r]) { return before }
                }
            }
            // A directory under the seal's temporary name makes its index file fail, and
            // only that: the segment's fsync succeeds.
            func blocker(_ id: UInt32) throws -> String {
                let path = dir.file(Segment.indexFileName(id) + PendingSeal.temporarySuffix)
                try FileManager.default.createDirectory(atPath: path + "/x", withIntermediateDirectories: true)
                return path
            }
            let first = try blocker(1)
            #expect(try appendUntilRoll() == 1)
            // While the cause lasts, a flush fails and names the file, every time.
            for _ in 0..<2 {
                #expect { try p.log.flush() } throws: { "\($0)".contains(first) }
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file(Segment.indexFileName(1))))
            try FileManager.default.removeItem(atPath: first)
            try p.log.flush()
            #expect(FileManager.default.fileExists(atPath: dir.file(Segment.indexFileName(1))))

            // The same failure in the background, with the cause gone before anyone waits for
            // the seal: the next roll does it again and nobody sees an error.
            let secondID = try #require(p.log.manifest.segments.last)
            let second = try blocker(secondID)
            #expect(try appendUntilRoll() == secondID)
            PendingSeal.waitForBackgroundSeals()
            #expect(!FileManager.default.fileExists(atPath: dir.file(Segment.indexFileName(secondID))))
            try FileManager.default.removeItem(atPath: second)
            _ = try appendUntilRoll()
            try p.log.flush()
            #expect(FileManager.default.fileExists(atPath: dir.file(Segment.indexFileName(secondID))))
            for r in written {
                let (entry, segment) = try #require(try p.index.located(r.keyHash))
                #expect(try segment.withRecord(offset: entry.offset, length: entry.length) { [UInt8]($0) } == r.bytes)
            }
        }
    }

    @Test("A record larger than a segment gets a segment of its own")
    func largeRecord() throws {
        try Self.withPieces { p, dir in
            _ = try p.append([try p.record("small", size: 10)])
            let big = try p.record("big", size: 3 * Limits.minSegmentSize)
            #expect(try p.append([big]))
            let (entry, segment) = try #require(try p.index.located(big.keyHash))
            #expect(entry.offset == UInt32(SegmentHeader.size) && segment.id == p.log.manifest.segments.last)
            #expect(try segment.withRecord(offset: entry.offset, length: entry.length) { [UInt8]($0) } == big.bytes)
        }
    }

    @Test("Segment numbers handed out are never reused: each is past the manifest's, and the shared generation moves with it")
    func allocateSegmentID() throws {
        try Self.withPieces { p, dir in
            let before = p.log.manifest
            let first = try p.log.allocateSegmentID()
            let second = try p.log.allocateSegmentID()
            #expect(first == before.nextSegmentID && second == first + 1)
            let after = try StoreOpening.readManifest(Directory(path: dir.path))
            #expect(after.nextSegmentID == second + 1 && after.generation == before.generation + 2)
            #expect(after.segments == before.segments)
            #expect(p.log.shared.generation == after.generation)
            // The next segment started skips both numbers.
            _ = try p.append(try (0..<5).map { try p.record("k\($0)", size: 1000) })
            #expect(p.log.manifest.segments.last == second + 1)
        }
    }

    @Test("A change is announced in SHARED once it is in the files; holding the locks without changing anything announces nothing")
    func announcements() throws {
        try Self.withPieces { p, dir in
            let start = p.log.shared.sequence
            try p.log.exclusively { _ throws(CacheError) in }
            #expect(p.log.shared.sequence == start)
            let r = try p.record("key", size: 10)
            _ = try p.append([r])
            #expect(p.log.shared.sequence == start + 1)
            #expect(p.log.shared.lastChange(ofKey: r.keyHash) == start + 1)
            #expect(p.log.follower.seen == start + 1, "the writer counts its own change as unseen")
            let end = p.log.shared.announcedEnd
            #expect(end.segment == 1 && end.length == SegmentHeader.size + r.bytes.count)
        }
    }

    @Test("Another handle's log catches up with appends and rolls it did not make")
    func follows() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let a = try Pieces(dir.path)
        defer { a.close() }
        let b = try Pieces(dir.path)
        defer { b.close() }
        let records = try (0..<6).map { try a.record("k\($0)", size: 1000) }
        _ = try a.append(records)
        #expect(b.log.follower.isBehind && b.log.follower.isBehind(forKey: records[0].keyHash))
        #expect(try b.index.located(records[0].keyHash) == nil)
        try b.log.catchUp()
        #expect(!b.log.follower.isBehind)
        #expect(b.log.manifest == a.log.manifest)
        for r in records {
            let (entry, segment) = try #require(try b.index.located(r.keyHash))
            #expect(try segment.withRecord(offset: entry.offset, length: entry.length) { [UInt8]($0) } == r.bytes)
        }
    }

    @Test("A closed log refuses writes and flushes")
    func closed() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let p = try Pieces(dir.path)
        p.close()
        #expect(throws: CacheError.closed) { try p.log.flush() }
        #expect(throws: CacheError.closed) { _ = try p.log.allocateSegmentID() }
        #expect(p.log.close {}.wasOpen == false)
    }
}
