#if canImport(Glibc)
import Glibc
#endif

/// Puts right what a ``StoreInspection`` found, keeping every good record.
///
/// Bytes that hold no good record are copied to `lost+found/` before they leave a segment;
/// a segment with damage in the middle (or a bad header) is rewritten with only its good
/// records, a segment with only a bad tail is cut short; index files are rebuilt for every
/// segment touched; the manifest is rewritten when segments are missing or it is unusable.
/// Every replacement is atomic (temporary file, fsync, rename, directory fsync), so a crash
/// during repair leaves each file either as it was or repaired, and repair can be run again.
struct StoreRepair {
    let inspection: StoreInspection
    private var dir: Directory { inspection.dir }
    private var lostAndFound: LostAndFound
    private var report: FsckReport

    init(_ inspection: StoreInspection, report: FsckReport) {
        self.inspection = inspection
        self.report = report
        lostAndFound = LostAndFound(store: inspection.dir)
    }

    /// Repairs the store and returns the report with what was done.
    mutating func run() throws(CacheError) -> FsckReport {
        var manifest = try plannedManifest()
        for f in inspection.segments {
            if f.missing {
                if f.active {
                    try dir.writeAtomically(f.fileName, SegmentHeader(segmentID: f.id, salt: inspection.salt).encoded())
                    try dir.remove(f.indexFileName)
                    act("\(f.fileName): the missing active segment was created again, empty")
                } else {
                    manifest.segments.removeAll { $0 == f.id }
                    try dir.remove(f.indexFileName)
                    act("\(f.fileName): the missing segment was dropped from the manifest")
                }
            } else {
                try repair(f)
            }
        }
        for name in inspection.unlistedSegments {
            var st = stat()
            let length = stat(dir.path(name), &st) == 0 ? Int(st.st_size) : 0
            try lostAndFound.move(name, length: length)
            act("\(name): not listed in the manifest, moved to \(LostAndFound.name)/")
        }
        try lostAndFound.sync()
        if manifest != inspection.manifest {
            manifest.generation = (inspection.manifest?.generation ?? 0) + 1
            try dir.writeAtomically(Manifest.fileName, manifest.encoded())
            report.manifestRebuilt = true
        }
        for name in inspection.strayIndexFiles + inspection.temporaryFiles {
            try dir.remove(name)
            act("\(name): removed")
        }
        try dir.sync()
        report.lostAndFound = lostAndFound.saved
        report.quarantinedBytes = lostAndFound.bytes
        report.repaired = !report.actions.isEmpty
        return report
    }

    private mutating func act(_ sentence: String) { report.actions.append(sentence) }

    /// The manifest to write: the one found, or one rebuilt from the segment files present.
    private mutating func plannedManifest() throws(CacheError) -> Manifest {
        if let m = inspection.manifest { return m }
        let ids = inspection.segments.map(\.id)
        // With no segment files at all the store starts over with an empty segment 1, which
        // the loop over segments creates (it is listed as the missing active one).
        let segments = ids.isEmpty ? [1] : ids
        let settings = try Options().storeSettings()
        act("\(Manifest.fileName): rebuilt from \(counted(ids.count, "segment file")); its settings are lost and were set to the defaults (\(settings.compression) compression, \(settings.segmentSize)-byte segments, no TTL, no capacity)")
        if ids.isEmpty { try dir.writeAtomically(Segment.fileName(1), SegmentHeader(segmentID: 1, salt: inspection.salt).encoded()) }
        // The salt the segments' headers carry, so their records still check out.
        return Manifest(generation: 0, nextSegmentID: (segments.last ?? 1) + 1, settings: settings, segments: segments,
                        salt: inspection.salt)
    }

    // MARK: Segments

    private mutating func repair(_ f: SegmentFindings) throws(CacheError) {
        let recovered = try recoveredKeys(f)
        var entries: [IndexFileEntry]
        var length: Int
        if f.needsRewrite || !recovered.isEmpty {
            (entries, length) = try rewrite(f, tombstones: recovered)
            report.segmentsRewritten += 1
        } else if f.tornBytes > 0 {
            let file = try File.open(dir.path(f.fileName), flags: O_RDWR)
            try quarantine(f, file: file, ranges: [(f.validEnd, f.tornBytes)])
            try dir.remove(f.indexFileName)
            try file.truncate(to: f.validEnd)
            try file.sync()
            entries = f.records
            length = f.validEnd
            report.segmentsRewritten += 1
            act("\(f.fileName): cut the \(f.tornBytes)-byte tail after the last good record")
        } else if f.indexProblem != nil {
            entries = f.records
            length = f.length
        } else {
            return
        }
        let index = IndexFile(segmentID: f.id, coveredLength: UInt64(length), entries: entries)
        try dir.writeAtomically(f.indexFileName, index.encoded())
        report.indexFilesRebuilt += 1
        act("\(f.indexFileName): rebuilt from its segment (\(counted(entries.count, "record")))")
    }

    /// A tombstone to write where a damaged record was, so that an older value of its key
    /// does not come back once the damaged record is gone.
    private struct Tombstone {
        var offset: Int
        var key: [UInt8]
        var createdAt: Int64
    }

    /// Keys of damaged records that can be told for certain: a record whose checksum holds
    /// but whose value does not decompress, and a damaged record whose key bytes still hash
    /// to what the (checksummed) index file says the record at that offset held.
    private func recoveredKeys(_ f: SegmentFindings) throws(CacheError) -> [Tombstone] {
        var found = f.undecodable.map { Tombstone(offset: $0.offset, key: $0.key, createdAt: $0.createdAt) }
        var spans = f.damaged.map { ($0.offset, $0.length) }
        if f.tornBytes > 0 { spans.append((f.validEnd, f.tornBytes)) }
        let candidates = f.indexEntries.filter { e in
            spans.contains { Int(e.offset) >= $0.0 && Int(e.offset) < $0.0 + $0.1 }
        }
        guard !candidates.isEmpty else { return found.sorted { $0.offset < $1.offset } }
        let mapped = try MappedFile(path: dir.path(f.fileName))
        let bytes = mapped.bytes
        for e in candidates {
            let offset = Int(e.offset)
            guard offset + RecordHeader.size <= bytes.count,
                  case .success(let h) = RecordCoding.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[offset...])),
                  offset + RecordHeader.size + h.keyLength <= bytes.count
            else { continue }
            let key = UnsafeRawBufferPointer(rebasing: bytes[(offset + RecordHeader.size)..<(offset + RecordHeader.size + h.keyLength)])
            guard KeyHash.hash(key) == e.keyHash else { continue }
            found.append(Tombstone(offset: offset, key: [UInt8](key), createdAt: h.createdAt))
        }
        return found.sorted { $0.offset < $1.offset }
    }

    /// Copies byte ranges of a segment into `lost+found/`, named after the segment and offset.
    private mutating func quarantine(_ f: SegmentFindings, file: File, ranges: [(offset: Int, length: Int)]) throws(CacheError) {
        guard !ranges.isEmpty else { return }
        let mapped = try MappedFile(file, length: f.length)
        for r in ranges where r.length > 0 && r.offset + r.length <= mapped.bytes.count {
            try lostAndFound.save(UnsafeRawBufferPointer(rebasing: mapped.bytes[r.offset..<(r.offset + r.length)]),
                                  as: "\(f.fileName)@\(r.offset)")
        }
    }

    /// Writes the segment anew with a correct header, its good records and a tombstone for
    /// each damaged record whose key is known, all in their original order; returns the index
    /// entries of the new file and its length.
    ///
    /// Records after a removed run move to lower offsets; the index file written next
    /// lists the new offsets, and no other file holds offsets into a segment.
    private mutating func rewrite(_ f: SegmentFindings, tombstones: [Tombstone]) throws(CacheError) -> ([IndexFileEntry], Int) {
        let source = try File.open(dir.path(f.fileName), flags: O_RDONLY)
        var ranges = f.damaged.map { (offset: $0.offset, length: $0.length) }
        ranges += f.undecodable.map { (offset: $0.offset, length: $0.length) }
        if f.tornBytes > 0 { ranges.append((f.validEnd, f.tornBytes)) }
        if f.length < SegmentHeader.size, f.length > 0 { ranges.append((0, f.length)) }
        try quarantine(f, file: source, ranges: ranges.sorted { $0.offset < $1.offset })

        let mapped = try MappedFile(source, length: f.length)
        let dropped = Set(f.undecodable.map { UInt32($0.offset) })
        let kept = f.records.filter { !dropped.contains($0.offset) }
        let tmpName = f.fileName + ".tmp"
        let out = try File.open(dir.path(tmpName), flags: O_WRONLY | O_CREAT | O_TRUNC)
        var entries: [IndexFileEntry] = []
        entries.reserveCapacity(kept.count + tombstones.count)
        var buffer = ByteWriter(capacity: 1 << 20)
        buffer.append(SegmentHeader(segmentID: f.id, salt: inspection.salt).encoded())
        var written = 0
        // Good records and tombstones, each at the place its original lay.
        enum Piece { case record(IndexFileEntry), tombstone(Tombstone) }
        let pieces = (kept.map { (Int($0.offset), Piece.record($0)) } + tombstones.map { ($0.offset, Piece.tombstone($0)) })
            .sorted { $0.0 < $1.0 }
        do throws(CacheError) {
            func flush() throws(CacheError) {
                try out.write(buffer.bytes, at: written)
                written += buffer.count
                buffer = ByteWriter(capacity: 1 << 20)
            }
            for (_, piece) in pieces {
                let position = written + buffer.count
                switch piece {
                case .record(let r):
                    var moved = r
                    moved.offset = UInt32(position)
                    entries.append(moved)
                    buffer.append(UnsafeRawBufferPointer(rebasing: mapped.bytes[Int(r.offset)..<(Int(r.offset) + Int(r.length))]))
                case .tombstone(let t):
                    let stone = tombstoneRecord(t)
                    entries.append(IndexFileEntry(keyHash: withBytes(t.key) { KeyHash.hash($0) }, offset: UInt32(position),
                                                  length: UInt32(stone.count), expiresAt: 0, kind: .tombstone))
                    buffer.append(stone)
                }
                if buffer.count >= 1 << 20 { try flush() }
            }
            try flush()
            try out.sync()
        } catch {
            try? dir.remove(tmpName)
            throw error
        }
        // The old index file goes first: it lists the old offsets, and a crash must not leave
        // it beside the new segment.
        try dir.remove(f.indexFileName)
        guard rename(dir.path(tmpName), dir.path(f.fileName)) == 0 else {
            let e = errno
            try? dir.remove(tmpName)
            throw .io(operation: "rename", path: dir.path(tmpName), errno: e)
        }
        try dir.sync()
        var what = "\(f.fileName): rewritten with its \(counted(kept.count, "good record"))"
        if let h = f.headerProblem { what += " and a correct header (\(h))" }
        let removed = f.damaged.count + f.undecodable.count + (f.tornBytes > 0 ? 1 : 0)
        if removed > 0 { what += "; \(counted(removed, "damaged run")) moved to \(LostAndFound.name)/" }
        if !tombstones.isEmpty { what += "; \(counted(tombstones.count, "tombstone")) keep older values of damaged keys from coming back" }
        act(what)
        return (entries, written)
    }

    private func tombstoneRecord(_ t: Tombstone) -> [UInt8] {
        withBytes(t.key) { k in
            RecordCoding.encode(kind: .tombstone, codec: .none, key: k, stored: UnsafeRawBufferPointer(start: nil, count: 0),
                                rawLength: 0, createdAt: t.createdAt, expiresAt: 0, salt: inspection.salt)
        }
    }
}
