#if canImport(Glibc)
import Glibc
#endif

/// Why following another process's manifest stopped.
enum FollowError: Error {
    /// A segment the manifest named is gone: a compaction or `removeAll` replaced it after
    /// the manifest was read. The caller starts again from the newer manifest.
    case replaced(segment: UInt32)
    /// Reading the files failed.
    case failed(CacheError)
}

/// Loading while catching up with other processes: no file is changed, since another
/// process may be appending to the active segment or replacing segments right now.
extension IndexLoader {
    /// Loads segment `id` from the start, from `file` when this handle has it open already
    /// (so that a segment removed meanwhile still reads). The active segment is read up to
    /// `limit` bytes when one is given (``Follower/readableEnd(of:holdingAppendLock:)``),
    /// else to the file's end.
    mutating func follow(segment id: UInt32, file open: File? = nil, active isActive: Bool,
                         limit: Int? = nil) throws(FollowError) {
        let file: File
        if let open {
            file = open
        } else {
            do {
                file = try File.open(dir.path(Segment.fileName(id)), flags: isActive ? O_RDWR : O_RDONLY)
            } catch .io(_, _, ENOENT) {
                throw .replaced(segment: id)
            } catch {
                throw .failed(error)
            }
        }
        do {
            try follow(segment: id, opened: file, active: isActive, limit: limit)
        } catch {
            throw .failed(error)
        }
    }

    private mutating func follow(segment id: UInt32, opened file: File, active isActive: Bool,
                                 limit: Int?) throws(CacheError) {
        var length = try file.size()
        if isActive, let limit {
            // Never shorter than the header, which is checked all the same.
            length = min(length, max(limit, SegmentHeader.size))
        }
        if length < SegmentHeader.size {
            guard isActive else {
                throw .corruptStore(path: dir.path(Segment.fileName(id)), detail: "segment is shorter than its header")
            }
            // Another process is creating it; it holds nothing yet.
            let segment = Segment(id: id, file: file)
            segments[id] = segment
            active = ActiveSegment(segment: segment, length: SegmentHeader.size)
            return
        }
        try checkHeader(file, segment: id)
        let segment = Segment(id: id, file: file)
        let loaded = try loadRecords(segment, length: length, active: isActive)
        if isActive {
            active = ActiveSegment(segment: segment, length: loaded.validEnd)
            diskBytes += loaded.validEnd
        } else {
            // Sealed by its writer when its index file covers it all (written after the
            // fsync); otherwise the seal may still be running there, and the segment is mapped
            // once its index file appears (``StoreIndex/mapSealedSegments(in:active:)``).
            if loaded.entries == nil { segment.mapSealed(length: length) }
            diskBytes += length
        }
    }
}
