import Foundation
import Testing
@testable import LogCache

/// Seeded damage to a real store: bit flips, truncations and overwritten runs in sealed and
/// active segments, segment headers, index files and the manifest. For every case:
///
/// - opening never crashes: it opens or throws a ``CacheError``;
/// - once open, `value(forKey:)` returns nil or a value that was written for that key, and
///   every key whose newest record is untouched reads back exactly;
/// - fsck, run on the damaged store, reports a problem;
/// - fsck --repair leaves a store that checks clean, in which every key whose newest record
///   is untouched reads back exactly and no key reads bytes never written for it.
///
/// The normal suite runs a few hundred cases; tools/damage runs thousands with the same code.
@Suite("Corruption: seeded bit flips, truncations and garbage in every kind of store file")
struct CorruptionTests {
    /// What one case did to which file.
    struct Damage: CustomStringConvertible {
        enum Kind: String { case flip, truncate, garble }
        var kind: Kind
        var file: String
        /// Byte ranges changed; a truncation changes everything from its cut on.
        var ranges: [Range<Int>]
        var description: String { "\(kind) \(file) \(ranges.map { "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ","))" }
    }

    @Test("Seeded damage cases", arguments: 0..<DamageRun.shards)
    func seededCases(shard: Int) throws {
        let base = TemporaryDirectory("corruption\(shard)")
        defer { base.cleanup() }
        let pristine = base.file("pristine")
        let fixture = try DamagedStoreFixture(path: pristine, duplicate: true, seed: 5)
        // Every value ever written for each key: "dup" was written twice.
        var written: [String: [[UInt8]]] = fixture.expected.mapValues { [$0] }
        written["dup", default: []].append(Array("the old value".utf8))
        let total = DamageRun.cases(default: 240)
        var tally: [String: Int] = [:]
        var i = shard
        while i < total {
            let seed = DamageRun.seed &+ UInt64(i)
            let outcome = try runCase(seed: seed, fixture: fixture, written: written, scratch: base.file("case"))
            tally[outcome, default: 0] += 1
            i += DamageRun.shards
        }
        let cases = tally.values.reduce(0, +)
        print("corruption shard \(shard): \(cases) cases: " + tally.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// Damages a copy of the fixture as `seed` says, checks everything above, and returns a
    /// label for the tally.
    private func runCase(seed: UInt64, fixture: DamagedStoreFixture, written: [String: [[UInt8]]], scratch: String) throws -> String {
        var g = SeededGenerator(seed: seed)
        let damagedPath = scratch + "-damaged"
        try copyStore(fixture.path, to: damagedPath)
        defer {
            for suffix in ["-damaged", "-opened"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
        }
        let damage = try damage(damagedPath, fixture: fixture, &g)
        let label = "\(damage.kind) \(damage.file.hasSuffix(".seg") ? "segment" : damage.file.hasSuffix(".idx") ? "index" : "manifest")"
        let hit = damagedRecords(damage, fixture: fixture)
        // Keys whose newest record was hit: they may read as a miss (or, where the format
        // says so, as an older value of the same key) but never as other bytes.
        let lostKeys = Set(fixture.expected.keys.filter { key in fixture.newest(key).map { hit.contains($0.offsetKey) } ?? false })
        let context = "seed \(seed): \(damage)"

        // 1. Open a copy: it opens or refuses with a CacheError, and never returns wrong bytes.
        let openedPath = scratch + "-opened"
        try copyStore(damagedPath, to: openedPath)
        if let refusal = readBack(openedPath, fixture: fixture, written: written, lostKeys: lostKeys, context: context) {
            // Refusing is allowed only where the damage leaves no usable store description.
            switch refusal {
            case .corruptStore, .incompatibleFormat: break
            default: Issue.record("open failed with \(refusal) [\(context)]")
            }
        }

        // 2. fsck finds it. A flipped manifest version is refused by name instead.
        let found = Result { () throws(CacheError) -> FsckReport in try StoreCheck.run(directory: damagedPath) }
        if case .failure(let error) = found {
            guard case .incompatibleFormat = error else { throw error }
            #expect(damage.file == Manifest.fileName && damage.ranges.contains { $0.overlaps(8..<12) }, "\(context)")
            return label + " (version field)"
        }
        #expect(try !found.get().ok, "fsck did not notice [\(context)]")

        // 3. Repair leaves a clean store that keeps every intact record.
        let repaired = try StoreCheck.run(directory: damagedPath, repair: true)
        #expect(repaired.remainingProblems == [], "after repair: \(repaired.remainingProblems ?? []) [\(context)]")
        #expect(try StoreCheck.run(directory: damagedPath).ok, "a second check after repair [\(context)]")
        let store = try CacheStore(directory: damagedPath)
        for (key, value) in fixture.expected {
            let got = try store.value(forKey: key)
            if lostKeys.contains(key) {
                if let got { #expect(written[key]?.contains(got) == true, "\(key) read bytes never written for it after repair [\(context)]") }
            } else {
                #expect(got == value, "\(key) lost by repair although its record is intact [\(context)]")
            }
        }
        try store.close()
        return label
    }

    /// Opens the store at `path` and reads every key; returns the error when opening refuses.
    private func readBack(_ path: String, fixture: DamagedStoreFixture, written: [String: [[UInt8]]],
                          lostKeys: Set<String>, context: String) -> CacheError? {
        let store: CacheStore
        do { store = try CacheStore(directory: path) } catch { return error }
        for (key, value) in fixture.expected {
            let got: [UInt8]?
            do { got = try store.value(forKey: key) } catch {
                Issue.record("reading \(key) failed: \(error) [\(context)]")
                continue
            }
            if let got { #expect(written[key]?.contains(got) == true, "\(key) read bytes never written for it [\(context)]") }
            if !lostKeys.contains(key) { #expect(got == value, "\(key) lost although its record is intact [\(context)]") }
        }
        do { try store.close() } catch { Issue.record("close failed: \(error) [\(context)]") }
        return nil
    }

    /// Damages one file of the store at `path`: a segment (header or records, sealed or
    /// active), an index file or the manifest, by flipping bits, truncating or overwriting a run.
    private func damage(_ path: String, fixture: DamagedStoreFixture, _ g: inout SeededGenerator) throws -> Damage {
        let segments = fixture.segmentFiles
        let file: String
        switch g.int(0..<100) {
        case 0..<40: file = segments[g.int(0..<(segments.count - 1))]           // a sealed segment
        case 40..<60: file = segments[segments.count - 1]                         // the active one
        case 60..<85: file = segments[g.int(0..<segments.count)].replacingOccurrences(of: ".seg", with: ".idx")
        default: file = Manifest.fileName
        }
        let full = path + "/" + file
        var bytes = try contents(full)
        // A tenth of segment damage goes to the 16-byte header.
        let headerOnly = file.hasSuffix(".seg") && g.int(0..<10) == 0
        let span = headerOnly ? 0..<SegmentHeader.size : 0..<bytes.count
        switch g.int(0..<3) {
        case 0:
            var ranges: [Range<Int>] = []
            for _ in 0..<g.int(1..<4) {
                let at = g.int(span)
                bytes[at] ^= UInt8(1 << g.int(0..<8))
                ranges.append(at..<(at + 1))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: full))
            // Two flips of the same bit cancel out; that case changed nothing, so flip once more.
            if try contents(full) == contents(fixture.file(file)) {
                bytes[ranges[0].lowerBound] ^= 0x80
                try Data(bytes).write(to: URL(fileURLWithPath: full))
            }
            return Damage(kind: .flip, file: file, ranges: ranges)
        case 1:
            let cut = g.int(headerOnly ? 0..<SegmentHeader.size : 0..<bytes.count)
            try truncateFile(full, to: cut)
            return Damage(kind: .truncate, file: file, ranges: [cut..<Int.max])
        default:
            let start = g.int(span)
            let end = min(span.upperBound, start + g.int(1..<65))
            bytes.replaceSubrange(start..<end, with: g.changed(bytes[start..<end]))
            try Data(bytes).write(to: URL(fileURLWithPath: full))
            return Damage(kind: .garble, file: file, ranges: [start..<end])
        }
    }

    /// The records (file and offset) whose bytes the damage touched.
    private func damagedRecords(_ damage: Damage, fixture: DamagedStoreFixture) -> Set<String> {
        guard damage.file.hasSuffix(".seg") else { return [] }
        var hit: Set<String> = []
        for l in fixture.locations where l.file == damage.file {
            let record = l.offset..<(l.offset + l.length)
            if damage.ranges.contains(where: { $0.overlaps(record) }) { hit.insert(l.offsetKey) }
            // A segment cut inside its header cannot be told from one never written.
            if damage.kind == .truncate, let r = damage.ranges.first, r.lowerBound < SegmentHeader.size { hit.insert(l.offsetKey) }
        }
        return hit
    }
}

extension DamagedStoreFixture.Location {
    /// "FILE@OFFSET": which record this is.
    var offsetKey: String { "\(file)@\(offset)" }
}
