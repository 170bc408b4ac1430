#if canImport(Glibc)
import Glibc
#endif

/// Builds an index from segment files, segment by segment in log order, so that later
/// records override earlier ones: each from its index file where that is good, then by
/// scanning what lies past it.
///
/// Two operations use it, and differ in what they may do to the files:
/// - ``recover(segment:active:)`` (IndexLoader+Recover.swift), at open under the append lock:
///   nobody else writes, so it creates a missing active segment, cuts a torn tail, and
///   rewrites missing or stale index files;
/// - ``follow(segment:file:active:)`` (IndexLoader+Follow.swift), catching up with other
///   processes: it changes no file, since a "torn" tail may be an append in progress, and a
///   missing file one that a compaction has just replaced (``FollowError/replaced(segment:)``).
struct IndexLoader {
    let dir: Directory
    let now: Int64
    /// The store's record salt, from its manifest.
    let salt: RecordSalt
    var live = LiveSet()
    var segments: [UInt32: Segment] = [:]
    var active: ActiveSegment?
    var diskBytes = 0
    var tornRecords = 0
    var corruptRecords = 0

    init(dir: Directory, now: Int64, salt: RecordSalt) {
        self.dir = dir
        self.now = now
        self.salt = salt
    }

    /// What loading one segment's records found.
    struct Loaded {
        /// The end of the last good record.
        var validEnd: Int
        /// Bytes after it that look like a torn write.
        var tornBytes: Int
        /// When part of the segment had to be scanned (nil when its index file covered it
        /// all): the entries a good index file listed for the part before, and those of the
        /// records scanned after. Together, what a rebuilt index file lists.
        var entries: (indexed: [UInt8], scanned: [UInt8])?
    }

    /// Checks the header of segment `id`: nothing when it is sound, a count of damage when
    /// it is unreadable, an error when the file is another store's, another segment's or of
    /// another format version.
    mutating func checkHeader(_ file: File, segment id: UInt32) throws(CacheError) {
        let path = dir.path(Segment.fileName(id))
        let header = try file.read(count: SegmentHeader.size, at: 0)
        switch header.withUnsafeBytes({ SegmentHeader.check($0, segmentID: id, salt: salt) }) {
        case nil:
            break
        case .damaged:
            corruptRecords += 1
        case .formatVersion(let v):
            throw .incompatibleFormat(path: path, found: v, supported: FormatVersion.current)
        case .segment(let other, _):
            throw .corruptStore(path: path, detail: "file holds segment \(other), not \(id)")
        case .salt:
            // Records salted for another store would all fail their checksums, and the
            // active segment would be cut as if torn: refuse the file instead.
            throw .corruptStore(path: path, detail: "segment belongs to another store (its salt is not the manifest's)")
        }
    }

    /// Applies the records of a segment whose header has been checked, `length` bytes long,
    /// and counts its index file's bytes; the caller counts the segment's own.
    mutating func loadRecords(_ segment: Segment, length: Int, active isActive: Bool) throws(CacheError) -> Loaded {
        let id = segment.id
        segments[id] = segment
        var scanFrom = SegmentHeader.size
        // Entries already listed by a good index file that covers only part of the segment:
        // kept so that a rebuilt index file lists them too.
        var indexed = ByteWriter()
        if let mapped = try? MappedFile(path: dir.path(Segment.indexFileName(id))),
           case .success(let header) = IndexFile.validate(mapped.bytes),
           header.segmentID == id, header.coveredLength <= UInt64(length),
           header.coveredLength >= UInt64(SegmentHeader.size) {
            // Two passes: an impossible entry halfway through makes the whole file unusable
            // (the segment is scanned instead), so nothing is applied before all are checked.
            let keepBytes = header.coveredLength < UInt64(length) && !isActive
            let covered = header.coveredLength
            var entries: [IndexFileEntry] = []
            entries.reserveCapacity(header.count)
            if case .success = IndexFile.forEachEntry(mapped.bytes, coveredLength: covered, count: header.count, { entries.append($0) }) {
                apply(entries, segment: id)
                if keepBytes { for e in entries { e.encode(into: &indexed) } }
                scanFrom = Int(header.coveredLength)
                if !isActive { diskBytes += mapped.bytes.count }
            }
        }
        guard scanFrom < length else { return Loaded(validEnd: length, tornBytes: 0, entries: nil) }
        var scanned = ByteWriter()
        let outcome: SegmentScan.Outcome
        if isActive {
            // Another process may cut the active segment while it is read (catching up
            // holds no lock): it is never mapped, as pages past a new end raise SIGBUS.
            outcome = try segment.scanTail(from: scanFrom, to: length, salt: salt) { e in
                apply(e, segment: id)
                e.encode(into: &scanned)
            }
        } else {
            outcome = try segment.scan(from: scanFrom, length: length, salt: salt) { e in
                apply(e, segment: id)
                e.encode(into: &scanned)
            }
        }
        corruptRecords += outcome.damaged.count
        if outcome.tornBytes > 0 { tornRecords += 1 }
        return Loaded(validEnd: outcome.validEnd, tornBytes: outcome.tornBytes, entries: (indexed.bytes, scanned.bytes))
    }

    /// Applies the records of the active segment in `start ..< end` (appended by other
    /// processes since this handle last looked); returns the end of the last good record.
    mutating func loadTail(of segment: Segment, from start: Int, to end: Int) throws(CacheError) -> Int {
        let outcome = try segment.scanTail(from: start, to: end, salt: salt) { e in apply(e, segment: segment.id) }
        corruptRecords += outcome.damaged.count
        diskBytes += outcome.validEnd - start
        return outcome.validEnd
    }

    /// Applies records in log order, asking for each one's bucket and entry a few records
    /// ahead: on a large store, the index's table and entries are far bigger than the
    /// processor's cache, and without the hint every record waits for memory twice.
    private mutating func apply(_ entries: [IndexFileEntry], segment: UInt32) {
        live.beginRun(segment: segment)
        defer { live.endRun() }
        for i in entries.indices {
            live.index.prefetch(aheadOf: i, count: entries.count) { entries[$0].keyHash }
            apply(entries[i], segment: segment)
        }
    }

    /// Applies one record, in log order, to the index.
    private mutating func apply(_ e: IndexFileEntry, segment: UInt32) {
        switch e.kind {
        case .value where e.expiresAt == 0 || e.expiresAt > now:
            let entry = IndexEntry(keyHash: e.keyHash, segment: segment, offset: e.offset, length: e.length,
                                   expiresAt: e.expiresAt)
            live.put(entry, expiresAt: e.expiresAt)
        case .value:
            // A newer value that has already expired hides every older value.
            live.remove(hash: e.keyHash)
        case .tombstone, .eviction:
            live.remove(hash: e.keyHash)
            live.addTombstoneBytes(Int(e.length), segment: segment)
        }
    }
}
