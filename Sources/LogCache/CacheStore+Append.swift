#if canImport(Glibc)
import Glibc
#endif

/// A record encoded and ready to append, with what the index needs to know of it.
struct PendingRecord {
    var bytes: [UInt8]
    var keyHash: UInt64
    var kind: RecordKind
    var expiresAt: Int64
}

extension CacheStore {
    /// Appends `records` in order and points the index at them: one lock, and one write per
    /// segment they land in.
    func append(_ records: [PendingRecord]) throws(CacheError) {
        try exclusively { w throws(CacheError) in
            let evictions = makeRoom(for: records)
            try appendLocked(evictions.isEmpty ? records : evictions + records, &w)
        }
    }

    /// ``append(_:)`` for a caller that holds the writer lock.
    func appendLocked(_ records: [PendingRecord], _ w: inout WriterState) throws(CacheError) {
        var i = 0
        while i < records.count {
            if w.active.length > SegmentHeader.size,
               w.active.length + records[i].bytes.count > settings.segmentSize {
                try roll(&w)
            }
            // As many records as fit in this segment (always at least one: a record
            // larger than a segment gets a segment of its own).
            var end = i + 1
            var size = records[i].bytes.count
            while end < records.count, w.active.length + size + records[end].bytes.count <= settings.segmentSize {
                size += records[end].bytes.count
                end += 1
            }
            try write(records[i..<end], totalSize: size, to: &w.active)
            publish(records[i..<end], segment: w.active.segment.id, endingAt: w.active.length)
            for r in records[i..<end] { w.appendedKeys.append(r.keyHash) }
            i = end
        }
        if durability == .syncEveryWrite {
            try w.active.segment.file.sync()
            w.active.unsynced = false
        }
    }

    /// Writes records at the end of the active segment with one system call; on failure the
    /// segment is cut back so that no partial record stays in the way of the next append.
    private func write(_ records: ArraySlice<PendingRecord>, totalSize: Int, to active: inout ActiveSegment) throws(CacheError) {
        let file = active.segment.file
        do {
            if records.count == 1 {
                try file.write(records[records.startIndex].bytes, at: active.length)
            } else {
                var joined: [UInt8] = []
                joined.reserveCapacity(totalSize)
                for r in records { joined.append(contentsOf: r.bytes) }
                try file.write(joined, at: active.length)
            }
        } catch {
            try? file.truncate(to: active.length)
            throw error
        }
        active.length += totalSize
        active.unsynced = true
    }

    /// Makes records just written visible to readers.
    private func publish(_ records: ArraySlice<PendingRecord>, segment: UInt32, endingAt end: Int) {
        var offset = end - records.reduce(0) { $0 + $1.bytes.count }
        state.write { s in
            for r in records {
                let length = r.bytes.count
                switch r.kind {
                case .value:
                    let entry = IndexEntry(keyHash: r.keyHash, segment: segment, offset: UInt32(offset),
                                           length: UInt32(length), expiresAt: r.expiresAt)
                    s.live.put(entry, expiresAt: r.expiresAt)
                case .tombstone, .eviction:
                    s.live.remove(hash: r.keyHash)
                    s.live.addTombstoneBytes(length, segment: segment)
                }
                s.diskBytes += length
                offset += length
            }
        }
    }

    /// Seals the active segment and starts the next one.
    ///
    /// The sealed segment is synced before its index file is written, so an index file never
    /// describes bytes that are not on the disk.
    func roll(_ w: inout WriterState) throws(CacheError) {
        let sealed = w.active
        try sealed.segment.file.sync()
        let index = try sealed.indexFile(salt: salt)
        try dir.writeAtomically(Segment.indexFileName(sealed.segment.id), index)
        let segment = try startSegment(&w) { $0 + [$1] }
        state.write { s in
            s.segments[segment.id] = segment
            s.diskBytes += SegmentHeader.size + index.count
        }
        scheduleCompaction()
    }

    /// Hands out a segment number for a file that a manifest will name later (a compaction's
    /// output), by publishing a manifest whose next number is past it: no other process can
    /// then create a segment with that number.
    func allocateSegmentID() throws(CacheError) -> UInt32 {
        try exclusively { w throws(CacheError) -> UInt32 in
            let id = w.manifest.nextSegmentID
            guard id < Limits.segmentIDLimit else {
                throw .corruptStore(path: directory, detail: "segment numbers are exhausted")
            }
            var next = w.manifest
            next.nextSegmentID = id + 1
            next.generation += 1
            try publishManifest(next, &w)
            return id
        }
    }

    /// Creates the next segment and publishes a manifest whose segment list is
    /// `segments(current list, new id)`; the new segment becomes the active one.
    ///
    /// The file exists, with its header synced, before the manifest names it: a crash in
    /// between leaves an unnamed file, which the next open removes.
    func startSegment(_ w: inout WriterState, segments: ([UInt32], UInt32) -> [UInt32]) throws(CacheError) -> Segment {
        var id = w.manifest.nextSegmentID
        let file: File
        while true {
            guard id < Limits.segmentIDLimit else {
                throw .corruptStore(path: directory, detail: "segment numbers are exhausted")
            }
            if let created = try createSegmentFile(id, &w) {
                file = created
                break
            }
            id += 1
        }
        let name = Segment.fileName(id)
        var next = w.manifest
        next.segments = segments(next.segments, id)
        next.nextSegmentID = id + 1
        next.generation += 1
        do throws(CacheError) {
            try file.write(SegmentHeader(segmentID: id, salt: salt).encoded(), at: 0)
            try file.sync()
            try publishManifest(next, &w)
        } catch {
            // Unless the new manifest may be in place already: then the file is the active
            // segment of every process that reads it, and the next catch-up adopts it here.
            if !w.manifestInDoubt { try? dir.remove(name) }
            throw error
        }
        let segment = Segment(id: id, file: file)
        w.active = ActiveSegment(segment: segment, length: SegmentHeader.size)
        return segment
    }

    /// Creates the file of new segment `id`, never truncating one that is there: nil when a
    /// file holding records is in the way (it is left as it is and the number skipped).
    ///
    /// Under the append lock and caught up, this handle's manifest is the file's, and it names
    /// no segment this high: a file already there is a leftover of a process killed between
    /// creating a segment and publishing it. That is checked rather than assumed, since
    /// truncating a segment that a manifest names destroys acknowledged writes.
    private func createSegmentFile(_ id: UInt32, _ w: inout WriterState) throws(CacheError) -> File? {
        let path = dir.path(Segment.fileName(id))
        do {
            return try File.open(path, flags: O_RDWR | O_CREAT | O_EXCL)
        } catch .io(_, _, EEXIST) {
            // Looked at below.
        }
        guard try StoreOpening.readManifest(dir) == w.manifest else {
            // This handle's view is not the file's: refuse, and read the manifest next time.
            w.manifestInDoubt = true
            throw .io(operation: "create", path: path, errno: EEXIST)
        }
        let file = try File.open(path, flags: O_RDWR)
        // A header at most: there is nothing in it to lose.
        guard try file.size() <= SegmentHeader.size else { return nil }
        try file.truncate(to: 0)
        return file
    }
}
