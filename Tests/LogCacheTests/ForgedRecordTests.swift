import Foundation
import Testing
@testable import LogCache

/// Values that hold the bytes of whole records. A value that does not compress is stored
/// raw, so its bytes land in the segment as given; when its write is torn, or a page in its
/// middle never reaches the disk, the scan for the next good record walks through them.
/// None of the records planted there may ever be taken for one the store wrote.
@Suite("Forged records: bytes inside a value are never taken for a record")
struct ForgedRecordTests {
    /// A record as a writer who does not know the store's salt can make it: unsalted (as
    /// format version 1 wrote every record) or salted for another store.
    private static func planted(_ kind: RecordKind, key: [UInt8], value: [UInt8], salt: RecordSalt) -> [UInt8] {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                RecordCoding.encode(kind: kind, codec: .none, key: k, stored: v, rawLength: value.count,
                                    createdAt: 1, expiresAt: 0, salt: salt)
            }
        }
    }

    /// Random bytes (which no codec shrinks, so the value is stored raw) with records planted
    /// at known places: a value for `admin`, a tombstone for `victim`, an eviction record
    /// for `victim`'s hash; each once unsalted and once salted for another store.
    private static func hostileValue(_ g: inout SeededGenerator, prefix: Int = 4096, suffix: Int = 64 << 10)
        -> (value: [UInt8], plantedEnds: [Int])
    {
        var value = g.bytes(prefix)
        var ends: [Int] = []
        let victimHash = withBytes(Array("victim".utf8)) { KeyHash.hash($0) }
        let evictionKey = withUnsafeBytes(of: victimHash.littleEndian) { [UInt8]($0) }
        for salt in [RecordSalt.versionOne, RecordSalt(0xBAD_5A17)] {
            value += planted(.value, key: Array("admin".utf8), value: Array("evil".utf8), salt: salt)
            ends.append(value.count)
            value += planted(.tombstone, key: Array("victim".utf8), value: [], salt: salt)
            ends.append(value.count)
            value += planted(.eviction, key: evictionKey, value: [], salt: salt)
            ends.append(value.count)
            value += g.bytes(Int(g.next() % 300))
        }
        value += g.bytes(suffix)
        return (value, ends)
    }

    /// A store holding `victim` and a few other keys, then the hostile value under `big`;
    /// closed, with the active segment's index file removed so that opening scans it, as
    /// after a crash. Returns the expected values and where `big`'s record starts and ends.
    private static func writeStore(_ path: String, compression: Compression, hostile: [UInt8])
        throws -> (expected: [String: [UInt8]], start: Int, end: Int)
    {
        let store = try CacheStore(directory: path, options: Options(compression: compression))
        var expected: [String: [UInt8]] = ["victim": Array("precious".utf8)]
        try store.set(Array("precious".utf8), forKey: "victim")
        for i in 0..<5 {
            let v = Array("value \(i) of an ordinary key, long enough to be compressed by zstd or lz4 at least".utf8)
            try store.set(v, forKey: "key-\(i)")
            expected["key-\(i)"] = v
        }
        let segment = path + "/0000000001.seg"
        let start = fileSize(segment)
        try store.set(hostile, forKey: "big")
        let end = fileSize(segment)
        try store.close()
        try FileManager.default.removeItem(atPath: path + "/0000000001.idx")
        return (expected, start, end)
    }

    private static func copyStore(_ from: String, to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Opens the store and checks that every key reads as written (or, for `big`, as
    /// written or not at all), and that no planted record took effect.
    private static func checkOnlyWrittenValues(_ path: String, expected: [String: [UInt8]], big: [UInt8], bigMayBeLost: Bool,
                                               context: String) throws {
        let store = try CacheStore(directory: path)
        defer { try? store.close() }
        #expect(try store.value(forKey: "admin") == nil, "a planted record was served (\(context))")
        for (k, v) in expected { #expect(try store.value(forKey: k) == v, "\(k) lost or changed (\(context))") }
        let got = try store.value(forKey: "big")
        if bigMayBeLost {
            #expect(got == nil || got == big, "big read back bytes nobody wrote (\(context))")
        } else {
            #expect(got == big, "big lost (\(context))")
        }
        #expect(store.statistics.entries == expected.count + (got == nil ? 0 : 1), "unexpected live keys (\(context))")
    }

    /// The record `writer` would append for `big` under the key `big`, and a handle on the
    /// active segment placed at its end, for a test to write the record as a slow writer would.
    private static func appendingBigRecord(_ big: [UInt8], to writer: CacheStore) throws
        -> (record: [UInt8], segment: String, start: Int, handle: FileHandle)
    {
        let record = withBytes(Array("big".utf8)) { k in
            withBytes(big) { v in
                ValueCodec.encodeRecord(key: k, value: v, compression: .none, threshold: 64, createdAt: 1, expiresAt: 0,
                                        salt: writer.salt)
            }
        }
        let segment = writer.directory + "/0000000001.seg"
        let start = fileSize(segment)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        try handle.seek(toOffset: UInt64(start))
        return (record, segment, start, handle)
    }

    @Test("A torn raw value holding a valid record does not plant it: cut just past the planted record, reopen",
          arguments: [Compression.none, .lz4, .zstd(level: 3)])
    func tornJustPastPlantedRecord(compression: Compression) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 15)
        let (big, ends) = Self.hostileValue(&g, suffix: 1 << 20)
        let (expected, start, _) = try Self.writeStore(dir.path, compression: compression, hostile: big)
        // The record's header and key come first, then the value.
        let valueStart = start + RecordHeader.size + 3
        let segment = dir.file("0000000001.seg")
        #expect(truncate(segment, off_t(valueStart + ends[0])) == 0)
        try Self.checkOnlyWrittenValues(dir.path, expected: expected, big: big, bigMayBeLost: true, context: "cut")
    }

    @Test("Every tear and every lost page inside a hostile value leaves only values that were written",
          arguments: [Compression.none, .lz4, .zstd(level: 3)])
    func everyTear(compression: Compression) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 1500 + UInt64(compression.codec.rawValue))
        let (big, ends) = Self.hostileValue(&g)
        let original = dir.path + "/original"
        let (expected, start, end) = try Self.writeStore(original, compression: compression, hostile: big)
        let valueStart = start + RecordHeader.size + 3
        // Interesting places: inside the header, at the value's start, on each side of each
        // planted record's end, halfway, and the last byte.
        var offsets = [start + 1, start + RecordHeader.size - 1, valueStart, (start + end) / 2, end - 1]
        for e in ends { offsets += [valueStart + e - 1, valueStart + e, valueStart + e + 1] }
        for _ in 0..<6 { offsets.append(start + 1 + Int(g.next() % UInt64(end - start - 1))) }
        let copy = dir.path + "/copy"
        for cut in offsets.sorted() {
            try Self.copyStore(original, to: copy)
            #expect(truncate(copy + "/0000000001.seg", off_t(cut)) == 0)
            try Self.checkOnlyWrittenValues(copy, expected: expected, big: big, bigMayBeLost: true, context: "cut at \(cut - start)")
        }
        // A page that never reached the disk reads as zeros while the file keeps its length:
        // the value's checksum fails, and the scan searches onward through the planted records.
        for e in ends {
            try Self.copyStore(original, to: copy)
            let holeStart = valueStart + e - 600
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: copy + "/0000000001.seg"))
            try handle.seek(toOffset: UInt64(holeStart))
            try handle.write(contentsOf: Data(count: 512))
            try handle.close()
            try Self.checkOnlyWrittenValues(copy, expected: expected, big: big, bigMayBeLost: true, context: "hole before \(e)")
        }
        // The whole record: it reads back exactly.
        try Self.checkOnlyWrittenValues(original, expected: expected, big: big, bigMayBeLost: false, context: "whole")
    }

    @Test("Other handles catching up during a large write, and the writer that cuts its torn tail, adopt no planted record")
    func catchUpDuringLargeWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 77)
        let (big, ends) = Self.hostileValue(&g, suffix: 256 << 10)
        let options = Options(compression: .none)
        let writer = try CacheStore(directory: dir.path, options: options)
        let reader = try CacheStore(directory: dir.path, options: options)
        try writer.set(Array("precious".utf8), forKey: "victim")
        #expect(try reader.value(forKey: "victim") == Array("precious".utf8))
        // The record as the writer would append it, written in two pieces: the reader looks
        // in between, as a process does that catches up while a large pwrite is under way.
        let (record, segment, start, handle) = try Self.appendingBigRecord(big, to: writer)
        let valueStart = RecordHeader.size + 3
        try handle.write(contentsOf: Data(record[0..<(valueStart + ends[ends.count - 1] + 10)]))
        // Another writer's announcement makes the reader read the tail as it is now.
        _ = writer.log.shared.announce(keyHashes: [KeyHash.hash(Array("admin".utf8)), KeyHash.hash(Array("victim".utf8))],
                                   end: (1, start))
        #expect(try reader.value(forKey: "admin") == nil)
        #expect(try reader.value(forKey: "victim") == Array("precious".utf8))
        #expect(try reader.value(forKey: "big") == nil)
        // The writer dies here, holding the append mutex. The next writer, which the mutex
        // tells so, cuts the torn tail.
        try handle.close()
        try dieHoldingAppendMutex(dir.path) {}
        try reader.set(Array("after".utf8), forKey: "later")
        // Cut back to where the torn record began, then the new record (header, key, value).
        #expect(fileSize(segment) == start + RecordHeader.size + 5 + 5)
        for store in [writer, reader] {
            #expect(try store.value(forKey: "admin") == nil)
            #expect(try store.value(forKey: "victim") == Array("precious".utf8))
            #expect(try store.value(forKey: "later") == Array("after".utf8))
        }
        try writer.close()
        try reader.close()
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.value(forKey: "admin") == nil)
        #expect(try reopened.value(forKey: "victim") == Array("precious".utf8))
        #expect(try reopened.value(forKey: "later") == Array("after".utf8))
        #expect(reopened.statistics.entries == 2)
        try reopened.close()
    }

    @Test("Another process reading all along while a large write goes on in pieces, and dies, sees no planted record")
    func otherProcessDuringSlowWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 78)
        let (big, _) = Self.hostileValue(&g, suffix: 512 << 10)
        let writer = try CacheStore(directory: dir.path, options: Options(compression: .none, compaction: .manual))
        try writer.set(Array("precious".utf8), forKey: "victim")
        let watcher = try WorkerProcess(["watch-forged", dir.path, "1500"])
        defer { watcher.kill() }
        #expect(watcher.waitForLine("watching") != nil)
        let (record, _, start, handle) = try Self.appendingBigRecord(big, to: writer)
        // The record arrives 1 KiB at a time, each piece announced as if a write had ended, so
        // the watcher reads every prefix of it; the last 100 bytes never come (the writer died).
        let hashes = ["admin", "victim", "big"].map { KeyHash.hash(Array($0.utf8)) }
        var written = 0
        while written < record.count - 100 {
            let n = min(1024, record.count - 100 - written)
            try handle.write(contentsOf: Data(record[written..<(written + n)]))
            written += n
            _ = writer.log.shared.announce(keyHashes: hashes, end: (1, start))
            usleep(1000)
        }
        try handle.close()
        #expect(watcher.waitForExit() == 0)
        #expect(watcher.lines.contains { $0.hasPrefix("clean") }, "\(watcher.lines)")
        #expect(!watcher.lines.contains("forged"))
        try writer.set(Array("after".utf8), forKey: "later")
        #expect(try writer.value(forKey: "admin") == nil)
        #expect(try writer.value(forKey: "victim") == Array("precious".utf8))
        try writer.close()
    }

    @Test("A record salted for one store does not check out in another, nor unsalted")
    func saltSeparatesStores() {
        let a = RecordSalt(1)
        let b = RecordSalt(2)
        let record = Self.planted(.value, key: Array("k".utf8), value: Array("v".utf8), salt: a)
        record.withUnsafeBytes { bytes in
            #expect((try? RecordCoding.decode(bytes, salt: a).get()) != nil)
            #expect(RecordCoding.decode(bytes, salt: b) == .failure(.checksumMismatch))
            #expect(RecordCoding.decode(bytes, salt: .versionOne) == .failure(.checksumMismatch))
        }
        #expect(RecordSalt.random() != RecordSalt.random())
    }
}
