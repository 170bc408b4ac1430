#if canImport(Glibc)
import Glibc
#endif

/// Converts a store of an earlier format version to the current one when it is opened
/// (docs/format.md, "Converting a version-1 store").
///
/// Version 1 had no record salt, and its segment headers are shorter, so its records
/// cannot be read in place: every good record is copied, in log order, into new segments
/// with the current header, its checksum salted with a new salt. Nothing is chosen or
/// dropped but damage: dead records are copied too, so the converted log replays to exactly
/// the same keys, and compaction reclaims their space later. The new segments are synced
/// and indexed before one manifest rename names them, so a crash leaves either the old
/// store, whose next open starts the conversion again, or the new one.
enum FormatConversion {
    /// What a conversion found in the old files.
    struct Outcome {
        var manifest: Manifest
        /// Torn tails cut from the old active segment.
        var tornRecords = 0
        /// Damaged runs and missing segments: records that could not be carried over.
        var corruptRecords = 0
        /// Records copied.
        var records = 0
    }

    /// Converts the store whose old manifest is `old`. The caller holds the append lock
    /// and the open lock exclusively: no other process may read or write the old files.
    static func convert(_ dir: Directory, from old: Manifest, counters: SharedCounters) throws(CacheError) -> Outcome {
        if FormatVersion.inPlace.contains(old.formatVersion) { return try upgradeInPlace(dir, from: old, counters: counters) }
        guard old.formatVersion == 1 else {
            throw .incompatibleFormat(path: dir.path, found: old.formatVersion, supported: FormatVersion.current)
        }
        // An earlier conversion killed before it published left unnamed files.
        for name in try dir.names() {
            let id = Segment.id(inFileName: name, suffix: ".seg") ?? Segment.id(inFileName: name, suffix: ".idx")
            if name.hasSuffix(".tmp") || (id.map { !old.segments.contains($0) } ?? false) { try dir.removeLeftover(name) }
        }
        let salt = RecordSalt.random()
        var nextID = old.nextSegmentID
        let newID = { () throws(CacheError) -> UInt32 in
            guard nextID < Limits.segmentIDLimit else {
                throw .corruptStore(path: dir.path, detail: "segment numbers are exhausted")
            }
            defer { nextID += 1 }
            return nextID
        }
        var output = CompactionOutput(dir: dir, segmentSize: old.settings.segmentSize, salt: salt)
        var outcome = Outcome(manifest: old)
        do throws(CacheError) {
            for (i, id) in old.segments.enumerated() {
                try copyRecords(of: id, in: dir, active: i == old.segments.count - 1, salt: salt, into: &output,
                                outcome: &outcome, newSegmentID: newID)
            }
            try output.finish()
            // The converted segments are all sealed; new records go to a new, empty segment.
            let activeID = try newID()
            let file = try File.open(dir.path(Segment.fileName(activeID)), flags: O_RDWR | O_CREAT | O_TRUNC)
            try file.write(SegmentHeader(segmentID: activeID, salt: salt).encoded(), at: 0)
            try file.sync()
            try dir.sync()
            let next = Manifest(
                generation: old.generation + 1, nextSegmentID: nextID, settings: old.settings,
                segments: output.ids + [activeID], salt: salt)
            counters.intend(generation: next.generation)
            try dir.writeAtomically(Manifest.fileName, next.encoded())
            outcome.manifest = next
        } catch {
            // Nothing names the new files yet: the old store is as it was.
            for id in old.nextSegmentID..<nextID {
                try? dir.remove(Segment.fileName(id))
                try? dir.remove(Segment.indexFileName(id))
            }
            throw error
        }
        // The old files are named by no manifest now; a crash here leaves them for the
        // next open to remove.
        for id in old.segments {
            try dir.remove(Segment.fileName(id))
            try dir.remove(Segment.indexFileName(id))
        }
        try dir.sync()
        return outcome
    }

    /// Version 3 changed only the `SHARED` page (the append mutex), which opening has set up
    /// anew by now, in the same hold of `LOCK`; version 4 only added values to the manifest's
    /// policy field and a section to `POLICY`, whose older layout still decodes. Segments,
    /// records and index files stay as they are, and a manifest of the current version
    /// replaces the old one, so that older builds refuse the store.
    private static func upgradeInPlace(_ dir: Directory, from old: Manifest, counters: SharedCounters) throws(CacheError) -> Outcome {
        var next = old
        next.formatVersion = FormatVersion.current
        next.generation += 1
        counters.intend(generation: next.generation)
        try dir.writeAtomically(Manifest.fileName, next.encoded())
        return Outcome(manifest: next)
    }

    /// Copies the good records of one version-1 segment, resealed with `salt`.
    private static func copyRecords(
        of id: UInt32, in dir: Directory, active: Bool, salt: RecordSalt, into output: inout CompactionOutput,
        outcome: inout Outcome, newSegmentID: () throws(CacheError) -> UInt32
    ) throws(CacheError) {
        let file: File
        do {
            file = try File.open(dir.path(Segment.fileName(id)), flags: O_RDONLY)
        } catch .io(_, _, ENOENT) {
            // A sealed segment gone missing loses its records, as an open would; a missing
            // active segment held nothing yet.
            if !active { outcome.corruptRecords += 1 }
            return
        }
        let bytes = try file.readAll()
        let start = SegmentHeader.versionOneSize
        guard bytes.count >= start else { return }
        let header = bytes.withUnsafeBytes { SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<start])) }
        if let header {
            guard header.formatVersion == 1, header.segmentID == id else {
                throw .corruptStore(path: dir.path(Segment.fileName(id)),
                                    detail: "segment header says version \(header.formatVersion), segment \(header.segmentID)")
            }
        } else {
            outcome.corruptRecords += 1
        }
        var failure: CacheError?
        let scan = bytes.withUnsafeBytes { all in
            SegmentScan.scanSegment(all, from: start, salt: .versionOne) { _, h, record in
                guard failure == nil else { return }
                var copy = [UInt8](record)
                RecordCoding.reseal(&copy, salt: salt)
                do throws(CacheError) {
                    try withBytes(copy) { r throws(CacheError) in
                        _ = try output.append(r, keyHash: RecordCoding.keyHash(of: h, in: record), expiresAt: h.expiresAt,
                                              kind: h.kind, pinned: h.kind != .value, newSegmentID: newSegmentID)
                    }
                } catch {
                    failure = error
                }
                outcome.records += 1
            }
        }
        if let failure { throw failure }
        outcome.corruptRecords += scan.damaged.count
        if scan.tornBytes > 0 { outcome.tornRecords += 1 }
    }
}
