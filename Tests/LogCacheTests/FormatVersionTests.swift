import Foundation
import Synchronization
import Testing
@testable import LogCache

/// Stores written by earlier format versions, committed under Tests/Fixtures: each is
/// opened (which converts it), read in full, written to and reopened.
///
/// `format-v1` was made by the last build of format version 1 with cachectl: `init DIR
/// --segment-size 4096 --compression zstd`; `put` of key-000 … key-059 (version 1 of each
/// value, see `value(_:_:)`); `put` of key-000 … key-019 again (version 2); `delete` of
/// key-050 … key-054; `compact` (so log order is no longer number order: 6, 7, 5); `put` of
/// key-020 … key-029 (version 3); `delete` of key-055; `put far-future` with a TTL of ten
/// years. The LOCK, APPEND, COMPACT and SHARED files were left out: opening recreates them.
///
/// `format-v2` was made the same way by the last build of format version 2, and keeps its
/// `SHARED` file (the page's first layout, without the append mutex) beside the store.
/// `format-v3` was made the same way by the last build of format version 3 (with its `SHARED`
/// file). `format-v3-lfu` was made by that build too, to keep a version-3 `POLICY` file:
/// `init DIR --max-entries 3 --policy lfu`; `put` of a, b, c ("value a" …); `get a` three
/// times and `get b` once, each its own process (so the counts went through `POLICY` on
/// every close and open: a 4, b 2, c 1). `format-v4` was made the same way by the last build
/// of format version 4 (with its `SHARED` file).
@Suite("Earlier format versions: committed stores open, convert, read and take writes")
struct FormatVersionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// The value key-`i` got in its `version`-th write, as the fixture's script made it:
    /// short ones (stored raw), hex from a 32-bit xorshift (compresses by half), and
    /// repeated text (compresses well).
    static func value(_ i: Int, _ version: Int) -> [UInt8] {
        if i % 5 == 0 { return Array("v\(i).\(version)".utf8) }
        if i % 3 == 0 {
            var x = UInt32(truncatingIfNeeded: (i &* 2_654_435_761 &+ version) & 0xFFFF_FFFF) | 1
            var s = ""
            for _ in 0..<300 {
                x ^= x << 13
                x ^= x >> 17
                x ^= x << 5
                let byte = x & 0xFF
                s += (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
            return Array(s.utf8)
        }
        return Array(String(repeating: "value \(i) version \(version); ", count: (i % 7 + 1) * 8).utf8)
    }

    /// What the fixture holds: key → value.
    static var expectedV1: [String: [UInt8]] {
        var expected: [String: [UInt8]] = [:]
        for i in 0..<60 {
            let version = i < 20 ? 2 : i < 30 ? 3 : 1
            expected[String(format: "key-%03d", i)] = value(i, version)
        }
        for i in 50...55 { expected[String(format: "key-%03d", i)] = nil }
        expected["far-future"] = Array("kept for ten years".utf8)
        return expected
    }

    private func copyFixture(_ name: String, to dir: TemporaryDirectory) throws -> String {
        let path = dir.path + "/" + name
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + name, toPath: path)
        return path
    }

    private func check(_ store: CacheStore, _ expected: [String: [UInt8]]) throws {
        for (k, v) in expected { #expect(try store.value(forKey: k) == v, "\(k)") }
        for i in 50...55 { #expect(try store.value(forKey: String(format: "key-%03d", i)) == nil) }
        #expect(store.statistics.entries == expected.count)
    }

    /// Writes forty new values into a converted store, keeping `expected` in step.
    private func writeNewValues(_ store: CacheStore, _ expected: inout [String: [UInt8]]) throws {
        for i in 0..<40 {
            let v = Self.value(i + 100, 4)
            try store.set(v, forKey: "new-\(i)")
            expected["new-\(i)"] = v
        }
    }

    /// Reopens the converted store at `path`, compacts it, and checks that it reads `expected`
    /// before and after and that fsck finds it clean.
    private func reopenCompactAndCheck(_ path: String, _ expected: [String: [UInt8]]) throws {
        let reopened = try CacheStore(directory: path)
        try check(reopened, expected)
        try reopened.compact()
        try check(reopened, expected)
        try reopened.close()
        let report = try StoreCheck.run(directory: path, repair: false)
        #expect(report.ok, "\(report.problems)")
    }

    @Test("A version-1 store is converted at its first open: every value reads, writes land, reopen and fsck agree")
    func versionOne() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v1", to: dir)
        var expected = Self.expectedV1
        let store = try CacheStore(directory: path)
        try check(store, expected)
        #expect(store.settings.segmentSize == 4096)
        #expect(store.settings.compression == .zstd(level: 3))
        try writeNewValues(store, &expected)
        try store.set(Self.value(7, 9), forKey: "key-007")
        expected["key-007"] = Self.value(7, 9)
        #expect(try store.removeValue(forKey: "key-008"))
        expected["key-008"] = nil
        try check(store, expected)
        try store.close()

        // The manifest and every segment are of the current version now; the old files are gone.
        let manifest = try StoreOpening.readManifest(Directory.openOrCreate(path))
        #expect(manifest.formatVersion == FormatVersion.current)
        #expect(manifest.salt != .versionOne)
        for id in [5, 6, 7] as [UInt32] {
            #expect(!FileManager.default.fileExists(atPath: path + "/" + Segment.fileName(id)))
        }
        try reopenCompactAndCheck(path, expected)
    }

    @Test("A version-1 store open in another process is refused, unchanged, with a message that says why")
    func versionOneInUse() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v1", to: dir)
        let before = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        // An older build's handle holds LOCK shared for as long as it has the store open.
        let fd = open(path + "/LOCK", O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_SH) == 0)
        let refusal = CacheError.incompatibleFormat(path: path, found: 1, supported: FormatVersion.current)
        #expect(throws: refusal) { _ = try CacheStore(directory: path) }
        #expect(refusal.description.contains("converts") && refusal.description.contains("no other process"))
        let manifest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
        #expect(manifest == [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/format-v1/MANIFEST"))))
        let after = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") || $0.hasSuffix(".idx") }
        #expect(after.sorted() == before.filter { $0.hasSuffix(".seg") || $0.hasSuffix(".idx") })
        // Once the other process is gone, the conversion goes ahead.
        flock(fd, LOCK_UN)
        let store = try CacheStore(directory: path)
        try check(store, Self.expectedV1)
        try store.close()
    }

    @Test("A version-2 store is upgraded at its first open: segments stay as they are, the manifest becomes the current version and SHARED the mutex's layout")
    func versionTwo() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v2", to: dir)
        let segments = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.sorted()
        #expect(segments.count == 3)
        var expected = Self.expectedV1
        let store = try CacheStore(directory: path)
        try check(store, expected)
        #expect(store.settings.segmentSize == 4096)
        // The old segments were not copied: their bytes are the fixture's.
        for name in segments {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
                == Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/format-v2/" + name)), "\(name)")
        }
        try writeNewValues(store, &expected)
        #expect(try store.removeValue(forKey: "key-008"))
        expected["key-008"] = nil
        try check(store, expected)
        try store.close()

        // What a version-2 build reads first is the manifest's version, which it takes only as
        // 1 or 2: it refuses this store now instead of appending beside the append mutex.
        let manifestBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
        #expect(manifestBytes[8..<12] == withUnsafeBytes(of: FormatVersion.current.littleEndian) { ArraySlice($0) })
        #expect(try SharedCounters(directory: Directory(path: path)).isCurrentLayout)
        try reopenCompactAndCheck(path, expected)
    }

    /// Copies `fixture` (a store of format `version`) and holds its LOCK shared, as an older
    /// build's handle does while it has the store open; expects an open to be refused and to
    /// leave `files` as the fixture has them. Returns the copy's path and the lock's
    /// descriptor, which the caller closes.
    private func expectRefusedWhileInUse(_ fixture: String, version: UInt32, files: [String],
                                         in dir: TemporaryDirectory) throws -> (path: String, lock: Int32) {
        let path = try copyFixture(fixture, to: dir)
        let fd = open(path + "/LOCK", O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_SH) == 0)
        #expect(throws: CacheError.incompatibleFormat(path: path, found: version, supported: FormatVersion.current)) {
            _ = try CacheStore(directory: path)
        }
        for name in files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
                == Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + fixture + "/" + name)), "\(name)")
        }
        return (path, fd)
    }

    @Test("A version-2 store open in an older build's process is refused, its files and SHARED page untouched")
    func versionTwoInUse() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let (path, fd) = try expectRefusedWhileInUse(
            "format-v2", version: 2, files: ["MANIFEST", "SHARED", "0000000005.seg", "0000000007.seg", "0000000007.idx"], in: dir)
        defer { close(fd) }
        flock(fd, LOCK_UN)
        let store = try CacheStore(directory: path)
        try check(store, Self.expectedV1)
        try store.close()
    }

    @Test("A version-2 conversion whose manifest write fails, then an older build's counters over the mutex: the next open sets SHARED up again instead of hanging")
    func versionTwoConversionInterrupted() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v2", to: dir)
        // The manifest cannot be written: the conversion fails after SHARED was set up anew.
        try FileManager.default.createDirectory(atPath: path + "/MANIFEST.tmp", withIntermediateDirectories: false)
        #expect(throws: CacheError.self) { _ = try CacheStore(directory: path) }
        try FileManager.default.removeItem(atPath: path + "/MANIFEST.tmp")
        let manifest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
        #expect(manifest[8..<12] == [2, 0, 0, 0], "the store was converted although its manifest write failed")
        // A build of version 2 opens the store now and appends: its buckets start at byte 64,
        // where this build's mutex is.
        let shared = try FileHandle(forUpdating: URL(fileURLWithPath: path + "/SHARED"))
        try shared.seek(toOffset: 64)
        try shared.write(contentsOf: Data((0..<64).map { UInt8($0 | 0x80) }))
        try shared.close()
        let opened = Atomic<Bool>(false)
        let thread = Thread {
            if let store = try? CacheStore(directory: path) {
                opened.store(true, ordering: .releasing)
                try? store.close()
            }
        }
        thread.start()
        var waited = 0
        while !opened.load(ordering: .acquiring) && waited < 1000 {
            usleep(10_000)
            waited += 1
        }
        let finished = opened.load(ordering: .acquiring)
        #expect(finished, "the open did not finish within 10 s")
        guard finished else { return }
        let store = try CacheStore(directory: path)
        try check(store, Self.expectedV1)
        try store.close()
    }

    @Test("fsck refuses a version-1 store by name instead of reporting every record damaged")
    func fsckVersionOne() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v1", to: dir)
        #expect(throws: CacheError.incompatibleFormat(path: path, found: 1, supported: FormatVersion.current)) {
            try StoreCheck.run(directory: path, repair: false)
        }
        // Without its manifest too: repair must not take version-1 records for damage.
        try FileManager.default.removeItem(atPath: path + "/MANIFEST")
        #expect(throws: CacheError.incompatibleFormat(path: path, found: 1, supported: FormatVersion.current)) {
            try StoreCheck.run(directory: path, repair: true)
        }
        #expect(fileSize(path + "/0000000006.seg") == fileSize(Self.fixtures + "/format-v1/0000000006.seg"))
        #expect(!FileManager.default.fileExists(atPath: path + "/lost+found"))
    }

    @Test("A conversion killed before its manifest is published leaves the version-1 store, converted at the next open")
    func interruptedConversion() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v1", to: dir)
        // What a killed conversion leaves: new segment files the old manifest does not name,
        // and a half-written manifest.
        try Data(repeating: 7, count: 3000).write(to: URL(fileURLWithPath: path + "/0000000008.seg"))
        try Data(repeating: 1, count: 40).write(to: URL(fileURLWithPath: path + "/0000000008.idx"))
        try Data(repeating: 2, count: 40).write(to: URL(fileURLWithPath: path + "/MANIFEST.tmp"))
        let store = try CacheStore(directory: path)
        try check(store, Self.expectedV1)
        try store.close()
        #expect(try StoreCheck.run(directory: path, repair: false).ok)
    }

    @Test("A version-3 store is upgraded at its first open: segments stay as they are, the manifest becomes version 4")
    func versionThree() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v3", to: dir)
        let segments = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.sorted()
        #expect(segments.count == 3)
        var expected = Self.expectedV1
        let store = try CacheStore(directory: path)
        try check(store, expected)
        for name in segments {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
                == Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/format-v3/" + name)), "\(name)")
        }
        try writeNewValues(store, &expected)
        #expect(try store.removeValue(forKey: "key-013"))
        expected["key-013"] = nil
        try check(store, expected)
        try store.close()
        // A version-3 build takes only versions 2 and 3 from the manifest: it refuses the store now.
        let manifestBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
        #expect(manifestBytes[8..<12] == withUnsafeBytes(of: FormatVersion.current.littleEndian) { ArraySlice($0) })
        try reopenCompactAndCheck(path, expected)
    }

    @Test("A version-4 store is upgraded at its first open: its records read as plain bytes, typed values land beside them")
    func versionFour() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v4", to: dir)
        let segments = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.sorted()
        var expected = Self.expectedV1
        let store = try CacheStore(directory: path)
        try check(store, expected)
        for k in expected.keys { #expect(try store.typedValue(forKey: Array(k.utf8))?.type == .bytes, "\(k)") }
        for name in segments {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
                == Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/format-v4/" + name)), "\(name)")
        }
        try writeNewValues(store, &expected)
        try store.set(Array("{\"a\":1}".utf8), forKey: Array("typed".utf8), type: .json)
        expected["typed"] = Array("{\"a\":1}".utf8)
        try check(store, expected)
        try store.close()
        let manifestBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
        #expect(manifestBytes[8..<12] == [5, 0, 0, 0])
        try reopenCompactAndCheck(path, expected)
        let again = try CacheStore(directory: path)
        #expect(try again.typedValue(forKey: Array("typed".utf8))?.type == .json)
        #expect(try again.typedValue(forKey: Array("key-001".utf8))?.type == .bytes)
        try again.close()
    }

    @Test("A version-4 store open in an older build's process is refused, its files untouched")
    func versionFourInUse() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let (_, fd) = try expectRefusedWhileInUse(
            "format-v4", version: 4, files: ["MANIFEST", "SHARED", "0000000005.seg", "0000000007.idx"], in: dir)
        close(fd)
    }

    @Test("A version-3 store open in an older build's process is refused, its files untouched")
    func versionThreeInUse() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let (_, fd) = try expectRefusedWhileInUse(
            "format-v3", version: 3, files: ["MANIFEST", "SHARED", "0000000005.seg", "0000000007.idx"], in: dir)
        close(fd)
    }

    @Test("A version-3 POLICY file keeps its LFU counts through the upgrade, and is written back in version 4")
    func versionThreePolicy() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try copyFixture("format-v3-lfu", to: dir)
        let old = try MappedFile(path: path + "/POLICY")
        guard let saved = PolicySnapshot.decode(old.bytes) else {
            Issue.record("the version-3 POLICY file did not decode")
            return
        }
        #expect(saved.policy == .lfu && saved.entries.map(\.value) == [1, 2, 4] && saved.extras == PolicyExtras())
        let store = try CacheStore(directory: path)
        #expect(store.settings.policy == .lfu && store.settings.capacityEntries == 3)
        try store.set(Array("value d".utf8), forKey: "d")
        // c had the lowest count (1): had the counts been lost, a (the oldest) would go.
        #expect(try store.value(forKey: "c") == nil)
        for k in ["a", "b", "d"] { #expect(try store.value(forKey: k) == Array("value \(k)".utf8), "\(k)") }
        try store.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/POLICY")))
        #expect(bytes[4..<8] == withUnsafeBytes(of: FormatVersion.current.littleEndian) { ArraySlice($0) })
        let again = bytes.withUnsafeBytes { PolicySnapshot.decode($0) }
        // a 5, b 3, d 2 after the reads above.
        #expect(again?.entries.map(\.value) == [2, 3, 5])
    }

    @Test("A manifest of version 3 naming a policy of version 4 is damaged, not a store of that policy")
    func newPolicyInOldManifest() throws {
        let manifest = Manifest(
            generation: 1, nextSegmentID: 2,
            settings: StoreSettings(compression: .none, compressionThreshold: 64, segmentSize: 1 << 20,
                                    defaultTTLMilliseconds: nil, capacityBytes: nil, capacityEntries: 10, policy: .sieve),
            segments: [1], salt: RecordSalt(7))
        var bytes = manifest.encoded()
        #expect(bytes.withUnsafeBytes { try? Manifest.decode($0).get() }?.settings.policy == .sieve)
        bytes.replaceSubrange(8..<12, with: [3, 0, 0, 0])
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(bytes.count - 4)])) }
        bytes.replaceSubrange((bytes.count - 4)..., with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        guard case .failure(.invalidField(let field)) = bytes.withUnsafeBytes({ Manifest.decode($0) }) else {
            Issue.record("a version-3 manifest naming sieve decoded")
            return
        }
        #expect(field.contains("policy 6"))
    }
}
