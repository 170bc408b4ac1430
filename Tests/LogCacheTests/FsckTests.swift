import Foundation
import Testing
@testable import LogCache

@Suite("cachectl fsck finds each kind of damage; --repair leaves a clean store with every good record")
struct FsckTests {
    let cachectl = productPath("cachectl")

    /// Checks (exit 1), repairs (exit 0), checks again (exit 0) and reads every key back.
    /// Returns the JSON reports of the first check and of the repair.
    private func findAndRepair(
        _ f: DamagedStoreFixture, lost: Set<String>, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (found: [String: Any], repair: [String: Any]) {
        let check = try run(cachectl, ["fsck", f.path, "--json"])
        #expect(check.status == 1, "fsck should report problems: \(check.text)", sourceLocation: sourceLocation)
        let found = try jsonObject(check)
        #expect(found["ok"] as? Bool == false, sourceLocation: sourceLocation)
        #expect(found["repaired"] as? Bool == false, sourceLocation: sourceLocation)
        #expect(((found["problems"] as? [Any]) ?? []).count > 0, sourceLocation: sourceLocation)

        let repair = try run(cachectl, ["fsck", f.path, "--repair", "--json"])
        #expect(repair.status == 0, "repair should leave a clean store: \(repair.text) \(repair.stderr)",
                sourceLocation: sourceLocation)
        let repaired = try jsonObject(repair)
        #expect(repaired["repaired"] as? Bool == true, sourceLocation: sourceLocation)
        #expect((repaired["remainingProblems"] as? [Any])?.isEmpty == true, sourceLocation: sourceLocation)

        let again = try run(cachectl, ["fsck", f.path])
        #expect(again.status == 0, "second fsck: \(again.text)", sourceLocation: sourceLocation)
        #expect(again.text.contains("clean"), sourceLocation: sourceLocation)
        #expect(try f.verify(lost: lost) == [], sourceLocation: sourceLocation)
        return (found, repaired)
    }

    private func total(_ f: DamagedStoreFixture) -> Int { f.locations.count }

    @Test("A clean store: exit 0, ok, the record and segment counts; --repair changes nothing")
    func clean() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let result = try run(cachectl, ["fsck", f.path, "--json"])
        #expect(result.status == 0)
        let report = try jsonObject(result)
        #expect(report["ok"] as? Bool == true)
        #expect(report["records"] as? Int == total(f))
        #expect(report["segments"] as? Int == f.segmentFiles.count)
        #expect(report["corruptRecords"] as? Int == 0 && report["tornTailBytes"] as? Int == 0)
        #expect(report["remainingProblems"] == nil)
        let repair = try run(cachectl, ["fsck", f.path, "--repair", "--json"])
        #expect(repair.status == 0)
        #expect(try jsonObject(repair)["repaired"] as? Bool == false)
        let text = try run(cachectl, ["fsck", f.path])
        #expect(text.status == 0 && text.text.contains("\(total(f)) good records: clean"))
    }

    @Test("A flipped bit in a record header: one corrupt record, that key a miss")
    func headerBitFlip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let target = try #require(f.record(2, in: f.segmentFiles[1]))
        #expect(!target.lastInSegment)
        try flipBit(f.file(target.file), at: target.offset + 9, bit: 2)
        let (found, repair) = try findAndRepair(f, lost: [target.key])
        #expect(found["corruptRecords"] as? Int == 1)
        #expect(found["tornTailBytes"] as? Int == 0)
        #expect(found["records"] as? Int == total(f) - 1)
        #expect(repair["segmentsRewritten"] as? Int == 1)
        #expect(repair["quarantinedBytes"] as? Int == target.length)
        let saved = try #require(repair["lostAndFound"] as? [String])
        #expect(saved == ["lost+found/\(target.file)@\(target.offset)"])
        // The damaged bytes are kept, exactly as they were.
        #expect(try contents(f.file(saved[0])).count == target.length)
    }

    @Test("A flipped bit in a key: one corrupt record, that key a miss")
    func keyBitFlip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let target = try #require(f.record(1, in: f.segmentFiles[2]))
        try flipBit(f.file(target.file), at: target.offset + RecordHeader.size + 1)
        let (found, _) = try findAndRepair(f, lost: [target.key])
        #expect(found["corruptRecords"] as? Int == 1)
        #expect(found["records"] as? Int == total(f) - 1)
    }

    @Test("A flipped bit in the newer value of a key: a miss after repair, never the older value")
    func valueBitFlip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let target = try #require(f.newest("dup"))
        #expect(!target.lastInSegment && target.file != f.locations.first { $0.key == "dup" }?.file)
        try flipBit(f.file(target.file), at: target.offset + RecordHeader.size + target.keyLength + 5, bit: 4)
        let (found, repair) = try findAndRepair(f, lost: ["dup"])
        #expect(found["corruptRecords"] as? Int == 1)
        // The index file still named the record's key hash, and the key bytes still match it,
        // so repair left a tombstone where the record was.
        #expect(((repair["actions"] as? [String]) ?? []).contains { $0.contains("tombstone") })
    }

    @Test("A record whose checksum holds but whose value does not decompress is found and removed")
    func undecodableValue() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let target = try #require(f.newest("dup"))
        #expect(target.codec == .zstd)
        // Claim one more raw byte than the frame holds, and make the checksum agree.
        let path = f.file(target.file)
        var record = Array(try contents(path)[target.offset..<(target.offset + target.length)])
        let raw = record[12..<16].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        withUnsafeBytes(of: (raw + 1).littleEndian) { for i in 0..<4 { record[12 + i] = $0[i] } }
        let salt = try storeSalt(dir.path)
        let crc = record.withUnsafeBytes { RecordCoding.checksum(UnsafeRawBufferPointer(rebasing: $0[4...]), salt: salt) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { record[i] = $0[i] } }
        try overwrite(path, at: target.offset, with: record)

        let (found, _) = try findAndRepair(f, lost: ["dup"])
        #expect(found["corruptRecords"] as? Int == 1)
        #expect(found["records"] as? Int == total(f) - 1)
        let problems = try #require(found["problems"] as? [[String: Any]])
        #expect(problems.contains { ($0["what"] as? String)?.contains("decompress") == true && $0["offset"] as? Int == target.offset })
    }

    @Test("A sealed segment cut short: its last record is a torn tail, cut off by repair")
    func truncatedSegment() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let name = f.segmentFiles[1]
        let last = try #require(f.locations.last { $0.file == name })
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: f.file(name)))
        try handle.truncate(atOffset: UInt64(fileSize(f.file(name)) - 10))
        try handle.close()
        let (found, repair) = try findAndRepair(f, lost: [last.key])
        #expect(found["tornTailBytes"] as? Int == last.length - 10)
        #expect(found["corruptRecords"] as? Int == 0)
        #expect(found["records"] as? Int == total(f) - 1)
        #expect((repair["indexFilesRebuilt"] as? Int ?? 0) >= 1)
    }

    @Test("Garbage appended to the active segment is a torn tail; no record is lost")
    func garbageAppended() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        var g = SeededGenerator(seed: 9)
        try append(f.file(f.segmentFiles.last!), g.bytes(77))
        let (found, repair) = try findAndRepair(f, lost: [])
        #expect(found["tornTailBytes"] as? Int == 77)
        #expect(found["corruptRecords"] as? Int == 0)
        #expect(found["records"] as? Int == total(f))
        #expect(repair["quarantinedBytes"] as? Int == 77)
    }

    @Test("A deleted and a damaged index file are found and rebuilt; no record is lost")
    func indexFilesDeletedAndDamaged() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        try FileManager.default.removeItem(atPath: f.file("0000000001.idx"))
        try flipBit(f.file("0000000003.idx"), at: 40)
        let (found, repair) = try findAndRepair(f, lost: [])
        let problems = try #require(found["problems"] as? [[String: Any]])
        #expect(problems.map { $0["file"] as? String } == ["0000000001.idx", "0000000003.idx"])
        #expect(found["corruptRecords"] as? Int == 0 && found["records"] as? Int == total(f))
        #expect(repair["indexFilesRebuilt"] as? Int == 2)
        #expect(repair["segmentsRewritten"] as? Int == 0)
    }

    @Test("An index file that disagrees with its segment (checksum right, one entry wrong) is rebuilt")
    func indexFileDisagrees() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let path = f.file("0000000002.idx")
        var index = try contents(path).withUnsafeBytes { try IndexFile.decode($0).get() }
        index.entries[1].expiresAt = 12_345
        try Data(index.encoded()).write(to: URL(fileURLWithPath: path))
        let (found, repair) = try findAndRepair(f, lost: [])
        let problems = try #require(found["problems"] as? [[String: Any]])
        #expect(problems.count == 1)
        #expect((problems.first?["what"] as? String)?.contains("disagrees") == true)
        #expect(repair["indexFilesRebuilt"] as? Int == 1)
        #expect(try contents(path).withUnsafeBytes { try IndexFile.decode($0).get() }.entries[1].expiresAt == 0)
    }

    @Test("A missing segment is dropped from the manifest; only its keys are lost")
    func missingSegment() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let name = try #require(f.newest("key-100")?.file)
        #expect(name != f.segmentFiles.last && !f.locations.contains { $0.file == name && $0.key == "dup" })
        try FileManager.default.removeItem(atPath: f.file(name))
        let lost = Set(f.locations.filter { $0.file == name }.map(\.key))
        let (found, repair) = try findAndRepair(f, lost: lost)
        #expect(found["missingSegments"] as? Int == 1)
        #expect(found["segments"] as? Int == f.segmentFiles.count - 1)
        #expect(found["records"] as? Int == total(f) - lost.count)
        #expect(repair["manifestRebuilt"] as? Bool == true)
        let manifest = try contents(f.file(Manifest.fileName)).withUnsafeBytes { try Manifest.decode($0).get() }
        #expect(!manifest.segments.contains(try #require(Segment.id(inFileName: name, suffix: ".seg"))))
    }

    @Test("A corrupt manifest: the store cannot open; repair rebuilds it from the segments with default settings")
    func corruptManifest() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        try flipBit(f.file(Manifest.fileName), at: 30)
        #expect(throws: CacheError.self) { try CacheStore(directory: f.path) }
        let get = try run(cachectl, ["get", f.path, "key-1"])
        #expect(get.status == 3 && get.stderr.contains("MANIFEST"))
        let (found, repair) = try findAndRepair(f, lost: [])
        let problems = try #require(found["problems"] as? [[String: Any]])
        #expect(problems.count == 1 && problems[0]["file"] as? String == "MANIFEST")
        #expect(found["records"] as? Int == total(f))
        #expect(repair["manifestRebuilt"] as? Bool == true)
        #expect(((repair["actions"] as? [String]) ?? []).contains { $0.contains("defaults") })
    }

    @Test("A damaged segment header is rewritten; every record of the segment is kept")
    func damagedSegmentHeader() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        try flipBit(f.file("0000000002.seg"), at: 9)
        let (found, repair) = try findAndRepair(f, lost: [])
        #expect(found["records"] as? Int == total(f))
        #expect(repair["segmentsRewritten"] as? Int == 1)
    }

    @Test("A sealed segment shorter than its header stops the store from opening; repair keeps the rest")
    func segmentShorterThanHeader() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let name = try #require(f.newest("key-100")?.file)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: f.file(name)))
        try handle.truncate(atOffset: 5)
        try handle.close()
        #expect(throws: CacheError.self) { try CacheStore(directory: f.path) }
        let lost = Set(f.locations.filter { $0.file == name }.map(\.key))
        let (found, repair) = try findAndRepair(f, lost: lost)
        #expect(found["records"] as? Int == total(f) - lost.count)
        #expect(repair["lostAndFound"] as? [String] == ["lost+found/\(name)@0"])
        #expect(fileSize(f.file(name)) == SegmentHeader.size)
    }

    @Test("A missing active segment is created again, empty; the sealed ones keep their keys")
    func missingActiveSegment() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        let name = try #require(f.segmentFiles.last)
        try FileManager.default.removeItem(atPath: f.file(name))
        let lost = Set(f.locations.filter { $0.file == name }.map(\.key))
        let (found, _) = try findAndRepair(f, lost: lost)
        #expect(found["missingSegments"] as? Int == 1)
        #expect(fileSize(f.file(name)) == SegmentHeader.size)
    }

    @Test("Segment files the manifest does not list and leftover temporary files are reported and moved away")
    func unlistedFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path)
        try FileManager.default.copyItem(atPath: f.file("0000000001.seg"), toPath: f.file("0000000099.seg"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: f.file("MANIFEST.tmp")))
        let (found, repair) = try findAndRepair(f, lost: [])
        #expect((found["problems"] as? [Any])?.count == 2)
        #expect(repair["lostAndFound"] as? [String] == ["lost+found/0000000099.seg"])
        #expect(!FileManager.default.fileExists(atPath: f.file("MANIFEST.tmp")))
    }

    @Test("Bit flips at random places in every segment: undamaged keys read back exactly, damaged ones are misses")
    func randomFlips() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let f = try DamagedStoreFixture(path: dir.path, duplicate: false, seed: 11)
        var g = SeededGenerator(seed: 23)
        var lost: Set<String> = []
        for name in f.segmentFiles {
            let size = fileSize(f.file(name))
            let offset = SegmentHeader.size + Int(g.next() % UInt64(size - SegmentHeader.size))
            try flipBit(f.file(name), at: offset, bit: Int(g.next() % 8))
            let hit = try #require(f.locations.first { $0.file == name && $0.offset <= offset && offset < $0.offset + $0.length })
            lost.insert(hit.key)
        }
        let (found, _) = try findAndRepair(f, lost: lost)
        let damaged = (found["corruptRecords"] as? Int ?? 0) + ((found["tornTailBytes"] as? Int ?? 0) > 0 ? 1 : 0)
        #expect(damaged >= 1)
        #expect(found["records"] as? Int == total(f) - lost.count)
    }

    @Test("fsck refuses while another process has the store open, and refuses a directory that is no store")
    func refusals() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.file("s"))
        try store.set([1], forKey: "k")
        let locked = try run(cachectl, ["fsck", dir.file("s")])
        #expect(locked.status == 3 && locked.stderr.contains("is locked"))
        try store.close()
        #expect(try run(cachectl, ["fsck", dir.file("s")]).status == 0)

        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: false)
        let empty = try run(cachectl, ["fsck", dir.file("empty")])
        #expect(empty.status == 3 && empty.stderr.contains("no LogCache store at \(dir.file("empty"))"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("empty/LOCK")))
        let missing = try run(cachectl, ["fsck", dir.file("nowhere")])
        #expect(missing.status == 3 && missing.stderr.contains("nowhere"))
    }
}
