#if canImport(Glibc)
import Glibc
#endif

/// Loading at open, under the append lock: no other process appends or publishes meanwhile,
/// so what looks damaged is a dead writer's and is set right in the files.
extension IndexLoader {
    /// Loads segment `id` from the start: a missing sealed segment counts as damage (its
    /// records are lost, the rest are not), a missing or headerless active one is created,
    /// the active segment's torn tail is cut, and a sealed segment that had to be scanned
    /// gets its index file rewritten (after an fsync) so that the next open need not scan it.
    ///
    /// A sealed segment without an index file may have been sealed in the background when the
    /// process died or the power went (``PendingSeal``): its scan reads what reached the disk,
    /// a torn tail included, which the rebuilt index file then covers.
    mutating func recover(segment id: UInt32, active isActive: Bool) throws(CacheError) {
        let path = dir.path(Segment.fileName(id))
        let file: File
        do {
            file = try File.open(path, flags: isActive ? O_RDWR | O_CREAT : O_RDONLY)
        } catch .io(_, _, ENOENT) {
            corruptRecords += 1
            return
        }
        var length = try file.size()
        if length < SegmentHeader.size {
            // Only the active segment can be this short: created, and cut off before its
            // header reached the disk. Nothing was written to it yet.
            guard isActive else { throw .corruptStore(path: path, detail: "segment is shorter than its header") }
            try file.write(SegmentHeader(segmentID: id, salt: salt).encoded(), at: 0)
            try file.truncate(to: SegmentHeader.size)
            length = SegmentHeader.size
        }
        try checkHeader(file, segment: id)
        let segment = Segment(id: id, file: file)
        let loaded = try loadRecords(segment, length: length, active: isActive)
        if isActive {
            // Only the active segment is cut: sealed segments never change.
            let end = loaded.tornBytes > 0 ? try segment.cutTornTail(at: loaded.validEnd, salt: salt) : loaded.validEnd
            active = ActiveSegment(segment: segment, length: end)
            diskBytes += end
            return
        }
        if let entries = loaded.entries {
            let rebuilt = IndexFile.encode(segmentID: id, coveredLength: UInt64(length),
                                           entryBytes: entries.indexed + entries.scanned)
            // The segment may have been sealed in the background by a process that died before
            // the seal was done: an index file never describes bytes that are not on the disk.
            try file.sync()
            try dir.writeAtomically(Segment.indexFileName(id), rebuilt)
            diskBytes += rebuilt.count
        }
        segment.mapSealed(length: length)
        diskBytes += length
    }
}
