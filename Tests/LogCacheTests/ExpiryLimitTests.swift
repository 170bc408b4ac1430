import Foundation
import Testing
@testable import LogCache

/// Expiry moments come from callers, from clocks and from files someone else may have
/// written. None of them may make the store trap: a moment past the latest one the format
/// allows is refused when it is set, and found in a file it marks the record (or index file,
/// or manifest) as damaged.
@Suite("Expiry arithmetic: far-future and hostile expiries are refused or skipped, never a trap")
struct ExpiryLimitTests {
    /// 9999-12-31T23:59:59.999Z in milliseconds since 1970: the latest expiry a store keeps.
    static let latest: Int64 = 253_402_300_799_999

    private static func isInvalidOption(_ error: any Error, naming text: String) -> Bool {
        guard case .invalidOption(let what) = error as? CacheError else { return false }
        return what.contains(text)
    }

    @Test("The latest expiry is 9999-12-31T23:59:59.999Z")
    func latestExpiryConstant() {
        #expect(Limits.latestExpiry == Self.latest)
    }

    @Test("An expiry past 9999-12-31 is refused naming it; the latest one is kept; the store opens afterwards")
    func farFutureExpiry() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        for hostile in [Int64.max, Int64.max / 2, Self.latest + 1] {
            #expect { try store.set([1], forKey: Array("k".utf8), expiresAt: hostile) } throws: {
                Self.isInvalidOption($0, naming: "\(hostile)")
            }
            #expect { try store.setValues([StoreEntry(key: Array("k".utf8), value: [1], expiresAt: hostile)]) } throws: {
                Self.isInvalidOption($0, naming: "\(hostile)")
            }
        }
        try store.set([2], forKey: Array("latest".utf8), expiresAt: Self.latest)
        #expect(try store.value(forKey: "latest") == [2])
        #expect(try store.value(forKey: "k") == nil)
        #expect(try store.entries().map(\.expiresAt) == [Self.latest])
        try store.close()

        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.value(forKey: "latest") == [2])
        #expect(reopened.statistics.entries == 1)
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("A single set with an absolute expiry keeps the value's type and expiry across reopening; a moment not after 1970 is refused")
    func singleSetWithExpiryAndType() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock(milliseconds: 1_700_000_000_000)
        let store = try CacheStore(directory: dir.path, options: Options(clock: clock))
        try store.set(Array("{}".utf8), forKey: Array("j".utf8), type: .json, expiresAt: 1_700_000_060_000)
        for bad in [Int64(0), -5] {
            #expect { try store.set([1], forKey: Array("bad".utf8), type: .text, expiresAt: bad) } throws: {
                Self.isInvalidOption($0, naming: "1970")
            }
        }
        #expect(try store.typedValue(forKey: Array("j".utf8))?.type == .json)
        try store.close()
        let reopened = try CacheStore(directory: dir.path, options: Options(clock: clock))
        #expect(try reopened.entries().map(\.expiresAt) == [1_700_000_060_000])
        #expect(try reopened.typedValue(forKey: Array("j".utf8))?.type == .json)
        clock.advance(by: .seconds(61))
        #expect(try reopened.value(forKey: Array("j".utf8)) == nil)
        try reopened.close()
    }

    @Test("TTLs whose expiry would pass the latest moment or overflow are refused naming them; the longest that fits is kept")
    func hugeTTLs() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Options(clock: clock))
        for ttl: Duration in [.seconds(Int64.max), .milliseconds(Int64.max), .seconds(Self.latest / 1000)] {
            #expect { try store.set([1], forKey: "k", ttl: ttl) } throws: { Self.isInvalidOption($0, naming: "TTL") }
            #expect { try store.setValues(["k": [1]], ttl: ttl) } throws: { Self.isInvalidOption($0, naming: "TTL") }
        }
        try store.set([3], forKey: "longest", ttl: .milliseconds(Self.latest - clock.now()))
        #expect(try store.entries().map(\.expiresAt) == [Self.latest])
        #expect(try store.value(forKey: "longest") == [3])
        // A clock moved by any amount saturates instead of overflowing.
        clock.advance(by: .seconds(Int64.max))
        #expect(clock.now() == Int64.max)
        // A clock at the end of time: now + TTL cannot overflow, it is refused.
        #expect { try store.set([1], forKey: "k", ttl: .seconds(1)) } throws: { Self.isInvalidOption($0, naming: "TTL") }
        #expect(try store.value(forKey: "longest") == nil)
        try store.close()
    }

    @Test("A default TTL too long for any expiry is refused at creation, and creates nothing")
    func hugeDefaultTTL() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        for ttl: Duration in [.seconds(Int64.max), .milliseconds(Self.latest + 1)] {
            #expect { try CacheStore(directory: dir.file("s"), options: Options(defaultTTL: ttl)) } throws: {
                Self.isInvalidOption($0, naming: "default TTL")
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("s")))
        }
        // A default TTL that is allowed, with a clock so late that now + TTL passes the latest
        // expiry: the write is refused, a write with a short TTL of its own is not.
        let clock = ManualClock(milliseconds: Self.latest - 1000)
        let store = try CacheStore(directory: dir.file("s"), options: Options(defaultTTL: .seconds(3600), clock: clock))
        #expect { try store.set([1], forKey: "k") } throws: { Self.isInvalidOption($0, naming: "default TTL") }
        try store.set([2], forKey: "k", ttl: .milliseconds(500))
        #expect(try store.value(forKey: "k") == [2])
        try store.close()
    }

    private func plantExpiry(_ expiry: Int64, segment path: String, record: DamagedStoreFixture.Location) throws {
        try plantRecordField(expiry, at: 24, segment: path, record: record)
    }

    @Test("A record with an expiry no writer produces is damaged: open skips it, fsck reports it, repair removes it",
          arguments: [Int64.max, 253_402_300_800_000, -1, Int64.min])
    func hostileRecordExpiry(_ hostile: Int64) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let scanned = dir.file("scanned")
        let store = try CacheStore(directory: scanned, options: Options(compression: .none))
        for key in ["a", "b", "c"] { try store.set(Array("value of \(key)".utf8), forKey: key) }
        try store.close()
        let locations = try DamagedStoreFixture.scan(scanned)
        let b = try #require(locations.first { $0.key == "b" })
        try plantExpiry(hostile, segment: scanned + "/" + b.file, record: b)
        // Without its index file the segment is scanned at open, as after a crash; with it,
        // the record is read through the index. Both must treat the record as damaged.
        try copyStore(scanned, to: dir.file("indexed"))
        for name in try FileManager.default.contentsOfDirectory(atPath: scanned) where name.hasSuffix(".idx") {
            try FileManager.default.removeItem(atPath: scanned + "/" + name)
        }
        for path in [scanned, dir.file("indexed")] {
            let report = try StoreCheck.run(directory: path)
            #expect(!report.ok && report.corruptRecords == 1, "\(report.problems)")
            let reopened = try CacheStore(directory: path)
            #expect(try reopened.value(forKey: "b") == nil)
            #expect(try reopened.value(forKey: "a") == Array("value of a".utf8))
            #expect(try reopened.value(forKey: "c") == Array("value of c".utf8))
            #expect(try reopened.entries().map(\.key) == [Array("a".utf8), Array("c".utf8)])
            try reopened.set([9], forKey: "after")
            try reopened.close()
            let repaired = try StoreCheck.run(directory: path, repair: true)
            #expect(repaired.remainingProblems == [])
            let again = try CacheStore(directory: path)
            #expect(try again.value(forKey: "b") == nil && again.value(forKey: "after") == [9])
            try again.close()
        }
    }

    @Test("An index file entry with a hostile expiry makes the index file unusable: fsck reports it, open scans the segment",
          arguments: [Int64.max, 253_402_300_800_000])
    func hostileIndexExpiry(_ hostile: Int64) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var expected: [String: [UInt8]] = [:]
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 4096))
        var g = SeededGenerator(seed: 11)
        for i in 0..<60 {
            let value = g.bytes(200)
            try store.set(value, forKey: "key-\(i)")
            expected["key-\(i)"] = value
        }
        try store.close()
        let indexPath = dir.file("0000000001.idx")
        var index = try contents(indexPath).withUnsafeBytes { try IndexFile.decode($0).get() }
        index.entries[0].expiresAt = hostile
        try Data(index.encoded()).write(to: URL(fileURLWithPath: indexPath))

        let report = try StoreCheck.run(directory: dir.path)
        #expect(!report.ok && report.problems.contains { $0.file == "0000000001.idx" }, "\(report.problems)")
        let reopened = try CacheStore(directory: dir.path)
        for (k, v) in expected { #expect(try reopened.value(forKey: k) == v, "\(k)") }
        try reopened.close()
        #expect(try StoreCheck.run(directory: dir.path, repair: true).remainingProblems == [])
    }

    /// Rewrites the store's manifest with another default TTL, checksum and all.
    private func setManifestDefaultTTL(_ ttl: Int64, in path: String) throws {
        let file = path + "/" + Manifest.fileName
        var manifest = try contents(file).withUnsafeBytes { try Manifest.decode($0).get() }
        manifest.settings.defaultTTLMilliseconds = ttl
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: file))
    }

    @Test("A manifest whose default TTL passes the latest expiry is damaged: open refuses it by name, repair rebuilds it")
    func hostileManifestTTL() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set([1], forKey: "kept")
        try store.close()
        try setManifestDefaultTTL(Int64.max, in: dir.path)
        #expect { try CacheStore(directory: dir.path) } throws: { error in
            guard case .corruptStore(let path, let detail) = error as? CacheError else { return false }
            return path.hasSuffix(Manifest.fileName) && detail.contains("TTL")
        }
        #expect(!(try StoreCheck.run(directory: dir.path).ok))
        #expect(try StoreCheck.run(directory: dir.path, repair: true).remainingProblems == [])
        let repaired = try CacheStore(directory: dir.path)
        #expect(try repaired.value(forKey: "kept") == [1])
        try repaired.set([2], forKey: "new")
        try repaired.close()

        // The longest default TTL a manifest may hold opens, and a write that would expire past
        // the latest moment is refused rather than trapping.
        try setManifestDefaultTTL(Self.latest, in: dir.path)
        let late = try CacheStore(directory: dir.path)
        #expect { try late.set([1], forKey: "k") } throws: { Self.isInvalidOption($0, naming: "default TTL") }
        try late.set([3], forKey: "k", ttl: .seconds(60))
        #expect(try late.value(forKey: "k") == [3] && late.value(forKey: "kept") == [1])
        try late.close()
    }
}

/// Sets the 8-byte header field at `field` (16: creation time, 24: expiry) of a record in a
/// segment file and makes the record's checksum right again, as a hostile writer would.
func plantRecordField(_ value: Int64, at field: Int, segment path: String, record: DamagedStoreFixture.Location) throws {
    let salt = try storeSalt(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    var bytes = try contents(path)
    withUnsafeBytes(of: value.littleEndian) { for i in 0..<8 { bytes[record.offset + field + i] = $0[i] } }
    bytes.withUnsafeMutableBytes { b in
        RecordCoding.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: b[record.offset..<(record.offset + record.length)]),
                                   salt: salt)
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
