import Foundation
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// A store directory is input like any other: someone else may have written it. These tests
/// plant links, FIFOs and huge length fields in a store and check that neither the library
/// nor fsck --repair writes outside the directory, blocks, or allocates what a length claims.
@Suite("Security: hostile store directories, size limits, private files")
struct SecurityTests {
    /// A store with a few sealed segments, closed; returns what it holds.
    private func makeStore(_ path: String) throws -> [String: [UInt8]] {
        var g = SeededGenerator(seed: 3)
        var expected: [String: [UInt8]] = [:]
        let store = try CacheStore(directory: path, options: Options(segmentSize: 4096))
        for i in 0..<60 {
            let value = g.bytes(g.int(10..<300))
            try store.set(value, forKey: "key-\(i)")
            expected["key-\(i)"] = value
        }
        try store.close()
        return expected
    }

    private func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    @Test("A link in place of the active segment is refused; the file it points at is not cut or written")
    func linkedActiveSegment() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        _ = try makeStore(store)
        let active = try #require(try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasSuffix(".seg") }.max())
        // The target ends in a torn record, which opening would cut off, and the active
        // segment is where new records are written.
        let victim = dir.file("victim")
        try FileManager.default.moveItem(atPath: store + "/" + active, toPath: victim)
        try append(victim, Array("a torn record".utf8))
        let before = try contents(victim)
        try FileManager.default.createSymbolicLink(atPath: store + "/" + active, withDestinationPath: victim)
        #expect { try CacheStore(directory: store) } throws: { error in
            guard case .corruptStore(let path, let detail) = error as? CacheError else { return false }
            return path.hasSuffix(active) && detail.contains("symbolic link")
        }
        #expect(try contents(victim) == before)
        // fsck refuses the same way, and neither check nor repair touches the target.
        #expect(throws: CacheError.self) { try StoreCheck.run(directory: store, repair: true) }
        #expect(try contents(victim) == before)
    }

    @Test("A link in place of an index file is not read or written: the segment is scanned and the index file made anew")
    func linkedIndexFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        let expected = try makeStore(store)
        let outside = dir.file("outside")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.removeItem(atPath: store + "/0000000001.idx")
        try FileManager.default.createSymbolicLink(atPath: store + "/0000000001.idx", withDestinationPath: outside)
        let opened = try CacheStore(directory: store)
        for (k, v) in expected { #expect(try opened.value(forKey: k) == v) }
        try opened.close()
        #expect(try contents(outside) == Array("precious".utf8))
        #expect(!isSymlink(store + "/0000000001.idx"))
        #expect(try contents(store + "/0000000001.idx").withUnsafeBytes { try IndexFile.decode($0).get() }.segmentID == 1)
    }

    @Test("A link planted under a temporary file's name is replaced, never written through")
    func linkedTemporaryFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        let expected = try makeStore(store)
        let outside = dir.file("outside")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outside))
        // Opening rebuilds the missing index file through 0000000002.idx.tmp.
        try FileManager.default.removeItem(atPath: store + "/0000000002.idx")
        try FileManager.default.createSymbolicLink(atPath: store + "/0000000002.idx.tmp", withDestinationPath: outside)
        let opened = try CacheStore(directory: store)
        for (k, v) in expected { #expect(try opened.value(forKey: k) == v) }
        try opened.close()
        #expect(try contents(outside) == Array("precious".utf8))
        #expect(FileManager.default.fileExists(atPath: store + "/0000000002.idx"))
        #expect(!FileManager.default.fileExists(atPath: store + "/0000000002.idx.tmp"))
    }

    @Test("A LOCK link to a path elsewhere is refused and creates nothing there")
    func linkedLock() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        _ = try makeStore(store)
        let elsewhere = dir.file("created-elsewhere")
        try FileManager.default.removeItem(atPath: store + "/LOCK")
        try FileManager.default.createSymbolicLink(atPath: store + "/LOCK", withDestinationPath: elsewhere)
        #expect(throws: CacheError.self) { try CacheStore(directory: store) }
        #expect(throws: CacheError.self) { try StoreCheck.run(directory: store) }
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
    }

    @Test("Repair does not write into a lost+found that links to another directory")
    func linkedLostAndFound() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        _ = try makeStore(store)
        let outside = dir.file("outside-dir")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: store + "/lost+found", withDestinationPath: outside)
        // Garbage after the last record: repair would copy it into lost+found before cutting it.
        let active = try #require(try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasSuffix(".seg") }.max())
        try append(store + "/" + active, [UInt8](repeating: 0xEE, count: 50))
        #expect { try StoreCheck.run(directory: store, repair: true) } throws: { error in
            guard case .corruptStore(let path, _) = error as? CacheError else { return false }
            return path.hasSuffix("lost+found")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }

    @Test("A FIFO in place of the manifest or an index file is refused instead of blocking the open")
    func fifoInPlaceOfFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        let expected = try makeStore(store)
        try FileManager.default.removeItem(atPath: store + "/0000000001.idx")
        #expect(mkfifo(store + "/0000000001.idx", 0o600) == 0)
        // An index file that cannot be used is a scan, not a failure.
        let opened = try CacheStore(directory: store)
        for (k, v) in expected { #expect(try opened.value(forKey: k) == v) }
        try opened.close()
        try FileManager.default.removeItem(atPath: store + "/MANIFEST")
        #expect(mkfifo(store + "/MANIFEST", 0o600) == 0)
        #expect { try CacheStore(directory: store) } throws: { error in
            guard case .corruptStore(_, let detail) = error as? CacheError else { return false }
            return detail.contains("not a regular file")
        }
    }

    @Test("A huge (sparse) manifest is refused by its length, before anything is allocated for it")
    func hugeManifest() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        _ = try makeStore(store)
        // 8 GiB of holes: reading it whole would need 8 GiB of memory.
        try truncateFile(store + "/MANIFEST", to: 8 << 30)
        #expect { try CacheStore(directory: store) } throws: { error in
            guard case .corruptStore(_, let detail) = error as? CacheError else { return false }
            return detail.contains("more than any manifest can be")
        }
        let report = try StoreCheck.run(directory: store)
        #expect(report.problems.contains { $0.file == "MANIFEST" && $0.what.contains("bytes long") })
    }

    @Test("A huge (sparse) index file does not size the index at open: the bound comes from the segment's own bytes")
    func hugeIndexFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("store")
        let small = Options(segmentSize: 8 << 10, compaction: .manual)
        var store: CacheStore? = try CacheStore(directory: path, options: small)
        for i in 0..<200 { try store?.set(Array(repeating: UInt8(i), count: 100), forKey: "k\(i)") }
        try store?.close()
        store = nil
        let index = try #require(try FileManager.default.contentsOfDirectory(atPath: path).sorted().first { $0.hasSuffix(".idx") })
        // 64 GiB of holes: sized from its length, the index would ask for billions of entries.
        try truncateFile(path + "/" + index, to: 64 << 30)
        let reopened = try CacheStore(directory: path, options: small)
        defer { try? reopened.close() }
        for i in 0..<200 { #expect(try reopened.value(forKey: "k\(i)") == Array(repeating: UInt8(i), count: 100)) }
        #expect(reopened.index.sizes.memoryBytes < 1 << 20, "\(reopened.index.sizes.memoryBytes) bytes of index for 200 keys")
    }

    @Test("Length fields claiming more than the file holds, or more than the limits, are refused before allocation")
    func hugeLengthFields() throws {
        // An index file whose entry count says 4 billion entries: refused by its length.
        var index = IndexFile(segmentID: 1, coveredLength: 1 << 20, entries: []).encoded()
        index.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let crc = CRC32C.checksum(Array(index[0..<(index.count - 4)]))
        withUnsafeBytes(of: crc.littleEndian) { index.replaceSubrange((index.count - 4)..., with: $0) }
        let refused = index.withUnsafeBytes { IndexFile.validate($0) }
        guard case .failure(.lengthMismatch) = refused else {
            Issue.record("an index file claiming 4 billion entries was accepted: \(refused)")
            return
        }
        // An entry longer than the largest record, inside a (claimed) huge covered length.
        let long = IndexFile(segmentID: 1, coveredLength: 8 << 30, entries: [
            IndexFileEntry(keyHash: 1, offset: 16, length: UInt32(Limits.maxRecordLength + 1), expiresAt: 0, kind: .value),
        ]).encoded()
        #expect(long.withUnsafeBytes { IndexFile.decode($0) } == .failure(.invalidEntry(0)))
        // A record header claiming a 4 GiB value, under a right checksum.
        var record = [UInt8](repeating: 0, count: RecordHeader.size + 1)
        record[4] = RecordKind.value.rawValue
        record[6] = 1
        record.replaceSubrange(8..<16, with: [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        let salt = RecordSalt(77)
        let rcrc = record.withUnsafeBytes { RecordCoding.checksum(UnsafeRawBufferPointer(rebasing: $0[4...]), salt: salt) }
        withUnsafeBytes(of: rcrc.littleEndian) { record.replaceSubrange(0..<4, with: $0) }
        let decoded = record.withUnsafeBytes { RecordCoding.decode($0, salt: salt) }
        guard case .failure(.invalidField(let field)) = decoded else {
            Issue.record("a record claiming a 4 GiB value was accepted: \(decoded)")
            return
        }
        #expect(field.contains("value lengths"))
        // A manifest whose segment count disagrees with its body length.
        let settings = try Options().storeSettings()
        var manifest = Manifest(generation: 1, nextSegmentID: 3, settings: settings, segments: [1, 2], salt: salt).encoded()
        manifest.replaceSubrange(80..<84, with: [0xFF, 0xFF, 0xFF, 0x7F])
        let mcrc = CRC32C.checksum(Array(manifest[0..<(manifest.count - 4)]))
        withUnsafeBytes(of: mcrc.littleEndian) { manifest.replaceSubrange((manifest.count - 4)..., with: $0) }
        #expect(manifest.withUnsafeBytes { Manifest.decode($0) } == .failure(.invalidField("segment count 2147483647")))
    }

    @Test("A manifest whose generation would overflow at the next rewrite is refused, and repair rebuilds it without trapping")
    func generationAtTheTop() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        let expected = try makeStore(store)
        var manifest = try contents(store + "/MANIFEST").withUnsafeBytes { try Manifest.decode($0).get() }
        manifest.generation = .max
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: store + "/MANIFEST"))
        #expect { try CacheStore(directory: store) } throws: { error in
            guard case .corruptStore(_, let detail) = error as? CacheError else { return false }
            return detail.contains("generation")
        }
        let repaired = try StoreCheck.run(directory: store, repair: true)
        #expect(repaired.manifestRebuilt && repaired.remainingProblems == [])
        let opened = try CacheStore(directory: store)
        for (k, v) in expected { #expect(try opened.value(forKey: k) == v) }
        try opened.close()
    }

    @Test("Every directory and file a store and its repair create is private: 0700 and 0600")
    func privateFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        let options = Options(segmentSize: 4096, capacity: 1 << 20, policy: .lru)
        let s = try CacheStore(directory: store, options: options)
        for i in 0..<60 { try s.set([UInt8](repeating: UInt8(i), count: 200), forKey: "key-\(i)") }
        try s.close()
        let active = try #require(try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasSuffix(".seg") }.max())
        try append(store + "/" + active, [UInt8](repeating: 0xEE, count: 50))
        let repaired = try StoreCheck.run(directory: store, repair: true)
        #expect(repaired.remainingProblems == [])
        let mode = { (p: String) -> Int in
            var st = stat()
            return lstat(p, &st) == 0 ? Int(st.st_mode & 0o7777) : -1
        }
        #expect(mode(store) == 0o700)
        #expect(mode(store + "/lost+found") == 0o700)
        var names = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0 != "lost+found" }
        names += try FileManager.default.contentsOfDirectory(atPath: store + "/lost+found").map { "lost+found/" + $0 }
        #expect(names.contains("POLICY") && names.contains { $0.hasSuffix(".idx") } && names.contains { $0.hasPrefix("lost+found/") })
        for name in names { #expect(mode(store + "/" + name) == 0o600, "\(name)") }
    }

    @Test("The library holds no code that deserializes objects, loads code or starts processes")
    func noCodeFromData() throws {
        // Values are bytes; Codable values are JSON decoded into the type the caller names.
        // A store can hold data only, never something that runs when read.
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/LogCache")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)?.allObjects as? [String])
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 20)
        let forbidden = ["NSKeyedUnarchiver", "NSUnarchiver", "NSCoding", "PropertyListDecoder", "PropertyListSerialization",
                         "NSClassFromString", "_typeByName", "dlopen", "dlsym", "Process(", "posix_spawn", "popen(", "execv"]
        for file in files {
            let text = try String(contentsOfFile: sources.path + "/" + file, encoding: .utf8)
            for word in forbidden { #expect(!text.contains(word), "\(file) uses \(word)") }
            // system(3), but not a method named system or a call of one (a chat message's role).
            var rest = text[...]
            while let r = rest.range(of: "system(") {
                let head = rest[..<r.lowerBound]
                let before = head.last
                #expect(before == "." || before?.isLetter == true || before == "_" || head.hasSuffix("func "),
                        "\(file) calls system(3)")
                rest = rest[r.upperBound...]
            }
        }
    }
}
