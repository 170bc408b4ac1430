import Foundation
import Testing
@testable import LogCache

/// Simulated power loss, the way Pebble tests it: a store is written with `.none` durability,
/// flushed at a known point, written further, and the files as they are at that moment (the
/// page cache) are then damaged the way a power cut damages them: everything written since
/// the last sync dropped, cut at a random point, garbled, or lost sector by sector.
///
/// The image must open; every key must read its value as of the sync, or one written for it
/// since; a cut tail must leave exactly the records before the cut; and fsck must report what
/// it can see of the loss.
@Suite("Power loss: the unsynced tail cut back, cut short, garbled or lost by sectors")
struct PowerLossTests {
    enum Loss: String, CaseIterable {
        /// Every byte written since the sync is gone.
        case dropUnsynced = "drop unsynced"
        /// The file is cut at a random point of the unsynced tail.
        case cutTail = "cut in tail"
        /// The tail keeps its length but holds other bytes (zeros or garbage).
        case garbleTail = "garble tail"
        /// Each 512-byte sector of the tail is either written or lost (zeros or garbage).
        case loseSectors = "lose sectors"
    }

    /// A write the test made, with where its record ended in the active segment.
    struct Op {
        var key: String
        var value: [UInt8]?
        var end: Int
    }

    @Test("Seeded power cuts", arguments: 0..<DamageRun.shards)
    func seededCuts(shard: Int) throws {
        let total = DamageRun.cases(default: 60)
        var tally: [String: Int] = [:]
        var i = shard
        while i < total {
            let seed = DamageRun.seed &+ UInt64(i)
            let loss = try runCase(seed: seed)
            tally[loss.rawValue, default: 0] += 1
            i += DamageRun.shards
        }
        print("power loss shard \(shard): \(tally.values.reduce(0, +)) cases: " + tally.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    private func runCase(seed: UInt64) throws -> Loss {
        var g = SeededGenerator(seed: seed)
        let dir = TemporaryDirectory("powerloss\(seed)")
        defer { dir.cleanup() }
        let live = dir.file("live")
        let image = dir.file("image")
        // No background compaction: it would write new segments while the files are copied,
        // and this test is about the append path and recovery alone.
        let options = Options(compression: g.next() % 2 == 0 ? .zstd(level: 1) : .lz4, segmentSize: 16 << 10, durability: .none,
                              compaction: .manual)
        let store = try CacheStore(directory: live, options: options)
        var current: [String: [UInt8]] = [:]
        let keys = (0..<40).map { "key-\($0)" }

        // Synced part: enough writes to seal a few segments, then a flush.
        for _ in 0..<g.int(60..<200) { try step(store, keys: keys, current: &current, &g) }
        var ops: [Op] = []
        var synced: [String: [UInt8]] = [:]
        var active = ""
        var syncedLength = 0
        // The unsynced part must stay in one segment: a roll syncs, which is not what is tested.
        repeat {
            try store.flush()
            synced = current
            active = try activeSegment(live)
            syncedLength = fileSize(live + "/" + active)
            ops = []
            for _ in 0..<g.int(1..<30) {
                let op = try step(store, keys: keys, current: &current, &g)
                if let op { ops.append(Op(key: op.key, value: op.value, end: fileSize(live + "/" + active))) }
            }
        } while try activeSegment(live) != active || ops.isEmpty
        // The files as the kernel holds them at the moment of the cut (the store stays open:
        // it never closed, so the active segment has no index file).
        try copyStore(live, to: image)
        try store.close()

        let segment = image + "/" + active
        var bytes = try contents(segment)
        let fullLength = bytes.count
        let loss = Loss.allCases[g.int(0..<Loss.allCases.count)]
        var cut = fullLength
        switch loss {
        case .dropUnsynced:
            cut = syncedLength
        case .cutTail:
            cut = g.int(syncedLength..<fullLength)
        case .garbleTail:
            let zeros = g.next() % 2 == 0
            for i in syncedLength..<fullLength { bytes[i] = zeros ? 0 : UInt8(truncatingIfNeeded: g.next()) }
        case .loseSectors:
            let zeros = g.next() % 2 == 0
            var sector = syncedLength / 512 * 512
            var lostAny = false
            while sector < fullLength {
                if g.next() % 2 == 0 || (!lostAny && sector + 512 >= fullLength) {
                    lostAny = true
                    for i in max(sector, syncedLength)..<min(sector + 512, fullLength) {
                        bytes[i] = zeros ? 0 : UInt8(truncatingIfNeeded: g.next())
                    }
                }
                sector += 512
            }
        }
        if cut < fullLength { try truncateFile(segment, to: cut) } else { try Data(bytes).write(to: URL(fileURLWithPath: segment)) }
        let changed = try contents(segment) != Array(try contents(live + "/" + active).prefix(fullLength))
        let context = "seed \(seed), \(loss.rawValue): synced \(syncedLength), written \(fullLength), cut \(cut)"

        // What fsck sees, on a copy (opening cuts the torn tail).
        try copyStore(image, to: dir.file("checked"))
        let report = try StoreCheck.run(directory: dir.file("checked"))
        // The records that end at or before the cut: after a cut the store holds exactly the
        // state those writes made.
        let kept = ops.filter { $0.end <= cut }
        var expectedAfterCut = synced
        for op in kept { expectedAfterCut[op.key] = op.value }
        let lastEnd = kept.last?.end ?? syncedLength
        switch loss {
        case .dropUnsynced, .cutTail:
            #expect(report.tornTailBytes == cut - lastEnd, "torn bytes [\(context)]")
            #expect(report.ok == (cut == lastEnd), "fsck reports a cut inside a record, and only that [\(context)]")
        case .garbleTail, .loseSectors:
            if changed { #expect(!report.ok, "fsck did not notice the garbled tail [\(context)]") }
        }

        // The image opens and reads no wrong value.
        let reopened = try CacheStore(directory: image, options: options)
        for key in keys {
            let got = try reopened.value(forKey: key)
            switch loss {
            case .dropUnsynced, .cutTail:
                #expect(got == expectedAfterCut[key], "\(key) [\(context)]")
            case .garbleTail, .loseSectors:
                // Some unsynced records may survive and others not: the value as of the sync,
                // or one the key was given after it.
                let allowed = [synced[key]] + ops.filter { $0.key == key }.map(\.value)
                #expect(allowed.contains(got), "\(key) read a value it never had [\(context)]")
            }
        }
        // It takes new writes, and they last.
        try reopened.set([7, 7, 7], forKey: "after the cut")
        try reopened.close()
        let again = try CacheStore(directory: image, options: options)
        #expect(try again.value(forKey: "after the cut") == [7, 7, 7], "\(context)")
        try again.close()
        let repaired = try StoreCheck.run(directory: image, repair: true)
        #expect(repaired.remainingProblems ?? [] == [], "\(context)")
        return loss
    }

    @Test("A power cut while a segment's seal is pending: its unsynced tail cut, the active segment's records kept, nothing wrong read",
          arguments: 0..<12)
    func cutWithSealPending(seed: Int) throws {
        var g = SeededGenerator(seed: DamageRun.seed &+ 7_000 &+ UInt64(seed))
        let dir = TemporaryDirectory("sealpending\(seed)")
        defer { dir.cleanup() }
        let live = dir.file("live")
        let image = dir.file("image")
        let options = Options(compression: .lz4, segmentSize: 16 << 10, durability: .none, compaction: .manual)
        let store = try CacheStore(directory: live, options: options)
        var current: [String: [UInt8]] = [:]
        let keys = (0..<40).map { "key-\($0)" }
        for _ in 0..<g.int(20..<120) { try step(store, keys: keys, current: &current, &g) }
        // The sync: everything up to here is on the disk. Then writes that fill the active
        // segment, roll it (its seal runs in the background), and go on in the next one.
        try store.flush()
        let synced = current
        let sealing = try activeSegment(live)
        let syncedLength = fileSize(live + "/" + sealing)
        var ops: [(op: Op, segment: String)] = []
        while try activeSegment(live) == sealing || ops.last?.segment == sealing || g.int(0..<4) != 0 {
            guard let op = try step(store, keys: keys, current: &current, &g) else { continue }
            let segment = try activeSegment(live)
            ops.append((Op(key: op.key, value: op.value, end: fileSize(live + "/" + segment)), segment))
        }
        try copyStore(live, to: image)
        try store.close()

        // The power goes before the seal is done: no index file yet, and any part of the
        // sealed segment's unsynced tail may be lost. The active segment's records, written
        // later and never synced either, reached the disk in full (the kernel writes pages
        // back in any order).
        try? FileManager.default.removeItem(atPath: image + "/" + sealing.replacingOccurrences(of: ".seg", with: ".idx"))
        let fullLength = fileSize(image + "/" + sealing)
        let cut = g.int(syncedLength..<(fullLength + 1))
        try truncateFile(image + "/" + sealing, to: cut)
        let context = "seed \(seed): synced \(syncedLength), sealed at \(fullLength), cut \(cut)"

        // Each key holds what the surviving writes made: those of the sealed segment that end
        // at or before the cut, then every write of the active segment.
        var expected = synced
        for (op, segment) in ops where segment != sealing || op.end <= cut { expected[op.key] = op.value }
        let reopened = try CacheStore(directory: image, options: options)
        for key in keys { #expect(try reopened.value(forKey: key) == expected[key], "\(key) [\(context)]") }
        #expect(reopened.statistics.corruptRecords == 0, "\(context)")
        try reopened.set([7, 7, 7], forKey: "after the cut")
        try reopened.close()
        // The open rebuilt the sealed segment's index file; the next one reads the same.
        #expect(FileManager.default.fileExists(atPath: image + "/" + sealing.replacingOccurrences(of: ".seg", with: ".idx")))
        let again = try CacheStore(directory: image, options: options)
        for key in keys { #expect(try again.value(forKey: key) == expected[key], "\(key) after reopening [\(context)]") }
        #expect(try again.value(forKey: "after the cut") == [7, 7, 7], "\(context)")
        try again.close()
        let repaired = try StoreCheck.run(directory: image, repair: true)
        #expect(repaired.remainingProblems ?? [] == [], "\(context)")
    }

    /// One random write: a set (three in four) or a remove; returns what it changed, or nil
    /// when it wrote nothing (a remove of a key that has no value).
    @discardableResult
    private func step(_ store: CacheStore, keys: [String], current: inout [String: [UInt8]],
                      _ g: inout SeededGenerator) throws -> (key: String, value: [UInt8]?)? {
        let key = keys[g.int(0..<keys.count)]
        if g.int(0..<4) == 0 {
            guard try store.removeValue(forKey: key) else { return nil }
            current[key] = nil
            return (key, nil)
        }
        let value = g.bytes(g.int(1..<900), compressible: g.next() % 2 == 0)
        try store.set(value, forKey: key)
        current[key] = value
        return (key, value)
    }

    /// The name of the highest-numbered segment file: the active one.
    private func activeSegment(_ path: String) throws -> String {
        guard let last = try FileManager.default.contentsOfDirectory(atPath: path).filter({ $0.hasSuffix(".seg") }).max() else {
            throw CacheError.corruptStore(path: path, detail: "no segment file")
        }
        return last
    }
}
