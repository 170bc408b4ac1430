import Foundation
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

@Suite("Recovery: index files, torn tails, damaged records, killed writers")
struct RecoveryTests {
    /// Writes `count` keys into a store with small segments and closes it.
    private func fill(_ path: String, count: Int, seed: UInt64 = 1, options: Options = Options(segmentSize: 16 << 10)) throws -> [String: [UInt8]] {
        var g = SeededGenerator(seed: seed)
        var expected: [String: [UInt8]] = [:]
        let store = try CacheStore(directory: path, options: options)
        for i in 0..<count {
            let value = g.bytes(Int(g.next() % 700) + 1, compressible: i % 2 == 0)
            try store.set(value, forKey: "key-\(i)")
            expected["key-\(i)"] = value
        }
        try store.close()
        return expected
    }

    private func names(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    @Test("A deleted or damaged index file is rebuilt from its segment, and every value still reads")
    func indexFileRebuilt() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 400)
        #expect(names(dir.path).filter { $0.hasSuffix(".seg") }.count > 3)
        try FileManager.default.removeItem(atPath: dir.file("0000000001.idx"))
        try flipBit(dir.file("0000000002.idx"), at: 100)
        let store = try CacheStore(directory: dir.path)
        for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
        try store.close()
        #expect(FileManager.default.fileExists(atPath: dir.file("0000000001.idx")))
        let rebuilt = try Data(contentsOf: URL(fileURLWithPath: dir.file("0000000002.idx")))
        #expect(throws: Never.self) { try [UInt8](rebuilt).withUnsafeBytes { try IndexFile.decode($0).get() } }
    }

    @Test("A flipped bit inside a record makes that key a miss, never wrong bytes")
    func flippedBits() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 300)
        var g = SeededGenerator(seed: 77)
        let segments = names(dir.path).filter { $0.hasSuffix(".seg") }
        for name in segments {
            let size = fileSize(dir.file(name))
            for _ in 0..<3 {
                try flipBit(dir.file(name), at: SegmentHeader.size + Int(g.next() % UInt64(size - SegmentHeader.size)),
                            bit: Int(g.next() % 8))
            }
        }
        let store = try CacheStore(directory: dir.path)
        var misses = 0
        for (k, v) in expected {
            let got = try store.value(forKey: k)
            if got == nil { misses += 1 } else { #expect(got == v, "key \(k) came back with other bytes") }
        }
        #expect(misses > 0 && misses <= 3 * segments.count)
        #expect(store.statistics.corruptRecords >= misses)
        try store.close()
    }

    @Test("A torn record at the end of the active segment is cut off and counted")
    func tornTail() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 50, options: Options())
        let segment = dir.file("0000000001.seg")
        let goodLength = fileSize(segment)
        // Half of a real record, as a write cut short by a crash leaves it.
        let salt = try storeSalt(dir.path)
        let partial = Array("k".utf8).withUnsafeBytes { k in
            [UInt8](repeating: 5, count: 100).withUnsafeBytes { v in
                RecordCoding.encode(kind: .value, codec: .none, key: k, stored: v, rawLength: 100, createdAt: 1, expiresAt: 0,
                                   salt: salt)
            }
        }.prefix(60)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(partial))
        try handle.close()
        let store = try CacheStore(directory: dir.path)
        #expect(store.statistics.tornRecordsDropped == 1)
        for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
        #expect(try store.value(forKey: "k") == nil)
        #expect(fileSize(segment) == goodLength)
        try store.set([1, 2, 3], forKey: "after")
        try store.close()
        let again = try CacheStore(directory: dir.path)
        #expect(again.statistics.tornRecordsDropped == 0)
        #expect(try again.value(forKey: "after") == [1, 2, 3])
        try again.close()
    }

    @Test("Cutting the active segment anywhere loses only the records past the cut")
    func truncatedAnywhere() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(segmentSize: 1 << 20)
        let expected = try fill(dir.path, count: 120, options: options)
        let segment = dir.file("0000000001.seg")
        let original = try Data(contentsOf: URL(fileURLWithPath: segment))
        var g = SeededGenerator(seed: 5)
        for _ in 0..<12 {
            let cut = SegmentHeader.size + Int(g.next() % UInt64(original.count - SegmentHeader.size))
            try original.prefix(cut).write(to: URL(fileURLWithPath: segment))
            let store = try CacheStore(directory: dir.path, options: options)
            for (k, v) in expected {
                let got = try store.value(forKey: k)
                #expect(got == nil || got == v)
            }
            #expect(store.statistics.entries <= expected.count)
            #expect(fileSize(segment) <= cut)
            try store.close()
            try FileManager.default.removeItem(atPath: dir.file("0000000001.idx"))
        }
    }

    @Test("Files a crash left behind (unnamed segments, temporary files) are removed at open")
    func leftovers() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 20, options: Options())
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir.file("0000000009.seg")))
        try Data([1]).write(to: URL(fileURLWithPath: dir.file("MANIFEST.tmp")))
        let store = try CacheStore(directory: dir.path)
        for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("0000000009.seg")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("MANIFEST.tmp")))
        try store.close()
    }

    @Test("A directory under a temporary file's name does not stop the store from opening; an empty one is removed")
    func directoryInPlaceOfTemporaryFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 20, options: Options())
        try FileManager.default.createDirectory(atPath: dir.file("MANIFEST.tmp"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir.file("0000000009.idx.tmp"), withIntermediateDirectories: false)
        try Data([1]).write(to: URL(fileURLWithPath: dir.file("0000000009.idx.tmp/someone's file")))
        let store = try CacheStore(directory: dir.path)
        for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("MANIFEST.tmp")))
        // Not empty: not the store's to delete.
        #expect(FileManager.default.fileExists(atPath: dir.file("0000000009.idx.tmp/someone's file")))
        try store.close()
    }

    @Test("A damaged record whose length reaches past a later cut changes nothing between opens: writes after the cut survive")
    func damagedLengthThenCut() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let segment = dir.file("0000000001.seg")
        var starts: [Int] = []
        let store = try CacheStore(directory: dir.path, options: Options(compression: .none))
        for key in ["a", "b", "c", "d"] {
            starts.append(fileSize(segment))
            try store.set([UInt8](repeating: key.utf8.first ?? 0, count: 50), forKey: key)
        }
        let end = fileSize(segment)
        try store.close()
        try FileManager.default.removeItem(atPath: dir.file("0000000001.idx"))
        // b's header now claims a value that reaches past c and d (but not past the file's
        // end), so its checksum fails; then a torn tail that the next open cuts.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
        let claimed = UInt32(end - starts[1] - RecordHeader.size - 1 + 150)
        withUnsafeBytes(of: claimed.littleEndian) { l in
            for i in 0..<4 {
                bytes[starts[1] + 8 + i] = l[i]
                bytes[starts[1] + 12 + i] = l[i]
            }
        }
        bytes += [UInt8](repeating: 0xEE, count: 200)
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        func readAll(_ store: CacheStore) throws -> [String: [UInt8]] {
            var found: [String: [UInt8]] = [:]
            for key in ["a", "b", "c", "d", "new"] { found[key] = try store.value(forKey: key) }
            return found
        }
        let first = try CacheStore(directory: dir.path)
        var seen = try readAll(first)
        #expect(seen["a"] != nil && seen["b"] == nil)
        try first.set(Array("written after the cut".utf8), forKey: "new")
        seen["new"] = Array("written after the cut".utf8)
        try first.close()
        let second = try CacheStore(directory: dir.path)
        #expect(try readAll(second) == seen)
        try second.close()
        #expect(try StoreCheck.run(directory: dir.path, repair: false).problems.allSatisfy { !$0.what.contains("torn") })
    }

    @Test("A missing sealed segment costs only its own records")
    func missingSegment() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let expected = try fill(dir.path, count: 300)
        try FileManager.default.removeItem(atPath: dir.file("0000000002.seg"))
        let store = try CacheStore(directory: dir.path)
        var present = 0
        for (k, v) in expected {
            let got = try store.value(forKey: k)
            if let got { present += 1; #expect(got == v) }
        }
        #expect(present > expected.count / 2 && present < expected.count)
        try store.close()
    }

    @Test("After a writer is killed mid-stream, every acknowledged write reads back exactly",
          arguments: [(40, UInt64(1)), (700, 2), (2500, 3)])
    func killedWriter(killAfter: Int, seed: UInt64) throws {
        let dir = TemporaryDirectory("killed\(killAfter)")
        defer { dir.cleanup() }
        let acked = try runWorkerAndKill(dir.path, seed: seed, killAfter: killAfter)
        #expect(acked >= killAfter)
        let store = try CacheStore(directory: dir.path)
        for i in 0..<acked {
            #expect(try store.value(forKey: "key-\(i)") == workerValue(seed: seed, index: i), "acknowledged key-\(i)")
        }
        // Writes in flight at the kill are either complete or absent.
        for i in acked..<(acked + 50) {
            let got = try store.value(forKey: "key-\(i)")
            #expect(got == nil || got == workerValue(seed: seed, index: i))
        }
        try store.set([1], forKey: "after-crash")
        try store.close()
    }

    /// Starts the worker writing into `path`, kills it with SIGKILL once `killAfter` writes
    /// were acknowledged, and returns how many were.
    private func runWorkerAndKill(_ path: String, seed: UInt64, killAfter: Int) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productPath("logcache-worker"))
        process.arguments = ["write", path, "1000000", String(seed)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var acked = 0
        var buffer = Data()
        let reader = out.fileHandleForReading
        while acked < killAfter {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                if line.hasPrefix("acked ") { acked += 1 }
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Acks printed before the kill but not yet read still count.
        buffer.append(reader.readDataToEndOfFile())
        acked += String(decoding: buffer, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("acked ") }.count
        return acked
    }

    @Test("An open removes the temporary index files of seals in processes that are gone, and keeps a live one's")
    func sealTemporaryFiles() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try CacheStore(directory: dir.path).close()
        // A process that has ended: its pid names nobody now (or, reused, a process that
        // writes no seal here, whose file is then kept until it is gone too).
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = dir.file("0000000001.idx.seal-\(ended.processIdentifier).tmp")
        let live = dir.file("0000000001.idx" + PendingSeal.temporarySuffix)
        let plain = dir.file("0000000001.idx.tmp")
        for path in [dead, live, plain] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path)) }
        try CacheStore(directory: dir.path).close()
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(!FileManager.default.fileExists(atPath: plain))
        #expect(FileManager.default.fileExists(atPath: live), "the temporary file of a live process's seal was removed")
    }
}

/// The value the worker writes for index `i` (Tests/Worker/main.swift computes the same).
func workerValue(seed: UInt64, index i: Int) -> [UInt8] {
    (0..<(i &* 37 % 3000 + 1)).map { j in UInt8(truncatingIfNeeded: Int(seed) &+ i &* 31 &+ j &* j &* 7) }
}
