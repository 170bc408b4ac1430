#if canImport(Glibc)
import Glibc
#endif

/// The new segments one run of a compaction pass writes: records appended in log order, a
/// new segment begun when one is full, and each synced and given its index file before the
/// pass publishes them. Until then the files are named by no manifest, so a crash leaves
/// them for the next open to remove.
struct CompactionOutput {
    /// A segment written by the pass.
    struct Written {
        let segment: Segment
        var length = SegmentHeader.size
        var entries = ByteWriter(capacity: 4096)
        /// Bytes of tombstones kept because an older segment may still hold what they hide.
        var pinnedBytes = 0
        var indexBytes = 0
    }

    let dir: Directory
    let segmentSize: Int
    let salt: RecordSalt
    private(set) var written: [Written] = []
    /// Records not yet written to the last segment's file; they start at `pendingStart`.
    private var pending: [UInt8] = []
    private var pendingStart = SegmentHeader.size
    private static let flushSize = 1 << 20

    init(dir: Directory, segmentSize: Int, salt: RecordSalt) {
        self.dir = dir
        self.segmentSize = segmentSize
        self.salt = salt
    }

    /// Numbers of the segments written, in log order.
    var ids: [UInt32] { written.map(\.segment.id) }

    /// Bytes of the segment and index files written.
    var bytesWritten: Int { written.reduce(0) { $0 + $1.length + $1.indexBytes } }

    /// Appends a copy of `record`; returns where it now lives.
    ///
    /// - Parameter newSegmentID: hands out the number for a new segment when one is needed.
    mutating func append(
        _ record: UnsafeRawBufferPointer, keyHash: UInt64, expiresAt: Int64, kind: RecordKind, pinned: Bool,
        newSegmentID: () throws(CacheError) -> UInt32
    ) throws(CacheError) -> (segment: UInt32, offset: UInt32) {
        if written.isEmpty || (written[written.count - 1].length > SegmentHeader.size
                               && written[written.count - 1].length + record.count > segmentSize) {
            try startSegment(id: try newSegmentID())
        }
        let last = written.count - 1
        let offset = written[last].length
        pending.append(contentsOf: record)
        IndexFileEntry(keyHash: keyHash, offset: UInt32(offset), length: UInt32(record.count),
                       expiresAt: expiresAt, kind: kind).encode(into: &written[last].entries)
        written[last].length += record.count
        if pinned { written[last].pinnedBytes += record.count }
        if pending.count >= Self.flushSize { try flush() }
        return (written[last].segment.id, UInt32(offset))
    }

    /// Writes what is pending, syncs every segment and writes its index file.
    mutating func finish() throws(CacheError) {
        try flush()
        for i in written.indices {
            let w = written[i]
            try w.segment.file.sync()
            w.segment.mapSealed(length: w.length)
            let index = IndexFile.encode(segmentID: w.segment.id, coveredLength: UInt64(w.length), entryBytes: w.entries.bytes)
            try dir.writeAtomically(Segment.indexFileName(w.segment.id), index)
            written[i].indexBytes = index.count
            written[i].entries = ByteWriter()
        }
    }

    /// Removes every file written: the pass did not publish them.
    func discard() {
        for w in written {
            try? dir.remove(Segment.fileName(w.segment.id))
            try? dir.remove(Segment.indexFileName(w.segment.id))
        }
    }

    private mutating func startSegment(id: UInt32) throws(CacheError) {
        try flush()
        // The number was allocated to this pass alone: a file already there is not its own,
        // and is never truncated.
        let file = try File.open(dir.path(Segment.fileName(id)), flags: O_RDWR | O_CREAT | O_EXCL)
        written.append(Written(segment: Segment(id: id, file: file)))
        try file.write(SegmentHeader(segmentID: id, salt: salt).encoded(), at: 0)
        pendingStart = SegmentHeader.size
    }

    /// Writes the records appended so far to the file (not synced).
    mutating func flushPending() throws(CacheError) { try flush() }

    private mutating func flush() throws(CacheError) {
        guard let last = written.last, !pending.isEmpty else { return }
        try last.segment.file.write(pending, at: pendingStart)
        pendingStart += pending.count
        pending.removeAll(keepingCapacity: true)
    }
}
