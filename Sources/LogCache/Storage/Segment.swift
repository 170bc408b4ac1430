import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One segment file, open for reading by any number of threads.
///
/// Readers hold a reference while they read, so the file stays readable until the last
/// of them is done even if the segment is dropped from the store meanwhile. Once the segment
/// is sealed, records are read through a read-only memory map of it (``mapSealed(length:)``)
/// instead of with `pread`: no system call and no copy per read.
final class Segment: Sendable {
    let id: UInt32
    let file: File
    /// The base address of the sealed segment's memory map; 0 until it is mapped. Set once,
    /// after ``mappedLength``, with release ordering, so a reader that sees the address sees
    /// the length too.
    private let mappedBase = Atomic<UInt>(0)
    private let mappedLength = Atomic<Int>(0)
    /// Serializes mapping, so that two threads sealing or following at once map it once.
    private let mapping = Lock(())

    init(id: UInt32, file: File) {
        self.id = id
        self.file = file
    }

    deinit {
        let base = mappedBase.load(ordering: .acquiring)
        if let p = UnsafeMutableRawPointer(bitPattern: base) { munmap(p, mappedLength.load(ordering: .relaxed)) }
    }

    /// Maps the segment's first `length` bytes for reading, once it is sealed: synced, and
    /// never to change again.
    ///
    /// Only the active segment is ever cut (``cutTornTail(at:salt:)``, by whichever writer finds
    /// a killed writer's torn bytes), and touching a mapped page past a file's new end raises
    /// SIGBUS: a segment the log has moved on from is never cut, so its map stays good for as
    /// long as the segment is open. Records past `length` are read with `pread`. Mapping is
    /// only an optimisation: when it fails (address space, a file system without `mmap`), reads
    /// go on with `pread`.
    func mapSealed(length: Int) {
        guard length > SegmentHeader.size else { return }
        mapping.withLock { _ in
            guard mappedBase.load(ordering: .relaxed) == 0,
                  let p = mmap(nil, length, PROT_READ, MAP_SHARED, file.fd, 0), p != MAP_FAILED
            else { return }
            mappedLength.store(length, ordering: .relaxed)
            mappedBase.store(UInt(bitPattern: p), ordering: .releasing)
        }
    }

    /// Whether records are read through a memory map.
    var isMapped: Bool { mappedBase.load(ordering: .acquiring) != 0 }

    /// Calls `body` with the `length` bytes at `offset`: straight from the map when the
    /// segment is sealed and mapped (valid only inside `body`), otherwise read with one
    /// `pread` (fewer bytes when the file is shorter).
    func withRecord<T>(offset: UInt32, length: UInt32, _ body: (UnsafeRawBufferPointer) -> T) throws(CacheError) -> T {
        let base = mappedBase.load(ordering: .acquiring)
        if base != 0 {
            let end = Int(offset) + Int(length)
            if end <= mappedLength.load(ordering: .relaxed), let p = UnsafeRawPointer(bitPattern: base) {
                return body(UnsafeRawBufferPointer(start: p + Int(offset), count: Int(length)))
            }
        }
        let bytes = try file.read(count: Int(length), at: Int(offset))
        return bytes.withUnsafeBytes(body)
    }

    /// "0000000042.seg": fixed width, so names sort in log order.
    static func fileName(_ id: UInt32) -> String { padded(id) + ".seg" }

    /// The name of the segment's index file.
    static func indexFileName(_ id: UInt32) -> String { padded(id) + ".idx" }

    /// The segment number in a segment or index file name, if it is one.
    static func id(inFileName name: String, suffix: String) -> UInt32? {
        guard name.hasSuffix(suffix), name.count == 10 + suffix.count else { return nil }
        return UInt32(name.dropLast(suffix.count))
    }

    private static func padded(_ id: UInt32) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// Scans the records in bytes `start ..< length` of a sealed segment through a memory map,
    /// calling `visit` with the index-file entry of each good one, in log order.
    ///
    /// Only for segments nobody truncates. The active segment is cut by whichever writer
    /// finds a killed writer's torn bytes at its end, and touching a mapped page past a file's
    /// new end raises SIGBUS: the active segment is read with ``scanTail(from:to:salt:visit:)``.
    func scan(from start: Int, length: Int, salt: RecordSalt, visit: (IndexFileEntry) -> Void) throws(CacheError) -> SegmentScan.Outcome {
        let mapped = try MappedFile(file, length: length)
        return SegmentScan.scanSegment(mapped.bytes, from: start, salt: salt) { offset, h, record in
            visit(IndexFileEntry(header: h, record: record, offset: offset))
        }
    }

    /// Scans the records in bytes `start ..< end` read with one `pread`: how the active
    /// segment is always read, since another process may cut it meanwhile (a read past the
    /// new end just returns fewer bytes, which scan as a shorter tail).
    func scanTail(from start: Int, to end: Int, salt: RecordSalt, visit: (IndexFileEntry) -> Void) throws(CacheError) -> SegmentScan.Outcome {
        // Offsets are 32 bits wide: bytes past 4 GiB hold no record of this segment.
        let stop = min(end, Limits.segmentOffsetLimit)
        guard stop > start else { return SegmentScan.Outcome(validEnd: start, damaged: [], tornBytes: 0, records: 0) }
        let bytes = try file.read(count: stop - start, at: start)
        var outcome = bytes.withUnsafeBytes { buffer in
            SegmentScan.scan(buffer, from: 0, salt: salt) { offset, h, record in
                visit(IndexFileEntry(header: h, record: record, offset: start + offset))
            }
        }
        outcome.validEnd += start
        outcome.damaged = outcome.damaged.map { SegmentScan.DamagedRange(offset: $0.offset + start, length: $0.length) }
        return outcome
    }

    /// Cuts the torn tail off the active segment, whose good records end at `validEnd`, and
    /// returns the length the file has now.
    ///
    /// A scan takes a record whose sound header ends past the end of the file for a torn
    /// write and reads nothing after it. A damaged record before the cut whose header claims
    /// bytes past it (a flipped length bit, say) was searched past while the file was longer,
    /// and must stay so: the file keeps its length up to one byte past that claim, the bytes
    /// from `validEnd` on are zeroed (zeros are never a record), and the next record goes
    /// after them. Otherwise the cut would make the records after the damage, and every record
    /// written after the cut, vanish at the next open. Called with the append lock held.
    func cutTornTail(at validEnd: Int, salt: RecordSalt) throws(CacheError) -> Int {
        let size = try file.size()
        guard validEnd < size else { return size }
        // Scanned as it is now, before the cut: as the scan that found `validEnd` saw it.
        let whole = try file.read(count: size, at: 0)
        let claim = whole.withUnsafeBytes { bytes in
            SegmentScan.scan(bytes, from: min(SegmentHeader.size, bytes.count), salt: salt) { _, _, _ in }.furthestClaim
        }
        // One byte past the claim: a record appended right at a damaged record's claimed end
        // would be taken for the record that follows it, and the ones between skipped.
        let length = claim >= validEnd ? claim + 1 : validEnd
        if length > validEnd { try file.write([UInt8](repeating: 0, count: length - validEnd), at: validEnd) }
        try file.truncate(to: length)
        return length
    }

    /// The index file for the segment's first `length` bytes, built by scanning them.
    ///
    /// Built from the file rather than kept in memory as records are appended: that would
    /// cost 25 bytes per record of the active segment for the life of the process. Read with
    /// `pread`, as everything of the active segment is, unless `sealed`: a segment whose seal
    /// has synced it is never cut, and is read through a memory map, which saves copying up to
    /// a whole segment on the writer's two cores.
    func indexFile(length: Int, salt: RecordSalt, sealed: Bool = false) throws(CacheError) -> [UInt8] {
        var entries = ByteWriter(capacity: 4096)
        if sealed {
            _ = try scan(from: SegmentHeader.size, length: length, salt: salt) { $0.encode(into: &entries) }
        } else {
            _ = try scanTail(from: SegmentHeader.size, to: length, salt: salt) { $0.encode(into: &entries) }
        }
        return IndexFile.encode(segmentID: id, coveredLength: UInt64(length), entryBytes: entries.bytes)
    }
}

/// The segment new records are appended to.
struct ActiveSegment {
    let segment: Segment
    /// Bytes written so far; the next record goes here.
    var length: Int
    /// Written since the last fsync.
    var unsynced = false

    init(segment: Segment, length: Int) {
        self.segment = segment
        self.length = length
    }

    /// The index file for what has been written so far.
    func indexFile(salt: RecordSalt) throws(CacheError) -> [UInt8] { try segment.indexFile(length: length, salt: salt) }
}

extension Directory {
    /// Removes the files of a segment that no manifest names any more: its data and its
    /// index file. Readers still holding the segment keep reading it: the descriptor outlives
    /// the name.
    func removeSegment(_ id: UInt32) throws(CacheError) {
        try remove(Segment.fileName(id))
        try remove(Segment.indexFileName(id))
    }
}
