#if canImport(Glibc)
import Glibc
#endif

/// What the log's mutex guards: the active segment, the manifest and what this handle knows
/// of the shared generation. Changed only under ``SegmentLog``'s mutex, by the methods here
/// (appending, rolling, publishing) and by ``Follower`` (adopting other processes' changes).
struct LogState {
    let context: LogContext
    /// The store's record salt, from the manifest it was opened with: fixed for the life of
    /// the handle, so that a manifest with another salt (another store in its place) is refused
    /// as such rather than adopted.
    let salt: RecordSalt
    var active: ActiveSegment
    var manifest: Manifest
    /// The shared generation hint as of the last look at the manifest file.
    var generationHint: UInt64
    /// A manifest write failed in a way that may have left the new manifest in place:
    /// the next catch-up reads the file whatever the hint says.
    var manifestInDoubt = false
    /// Key hashes of the records appended under the current hold of the append lock,
    /// announced to other processes when it is let go.
    var appendedKeys: [UInt64] = []
    /// The segment sealed last, while its fsync and index file are still being done in the
    /// background; nil once every sealed segment is sealed.
    var pendingSeal: PendingSeal?
    /// Segments this handle wrote to without syncing that another process has sealed since
    /// (its seal may still be pending there): the next sync syncs them first.
    var unsyncedSealed: [Segment] = []
    var closed = false

    init(context: LogContext, active: ActiveSegment, manifest: Manifest) {
        self.context = context
        self.active = active
        self.manifest = manifest
        salt = manifest.salt
        generationHint = manifest.generation
    }

    private var dir: Directory { context.dir }

    // MARK: Appending

    /// Appends `records` in order, one write per segment they land in, and points `index` at
    /// each run of them once it is written; returns whether a segment was sealed on the way
    /// (compaction may then have work). Called under ``SegmentLog/exclusively(_:)``.
    mutating func append(_ records: [PendingRecord], indexingInto index: StoreIndex) throws(CacheError) -> Bool {
        var rolled = false
        var i = 0
        while i < records.count {
            if active.length > SegmentHeader.size, active.length + records[i].bytes.count > context.segmentSize {
                try roll(indexingInto: index)
                rolled = true
            }
            // As many records as fit in this segment (always at least one: a record
            // larger than a segment gets a segment of its own).
            var end = i + 1
            var size = records[i].bytes.count
            while end < records.count, active.length + size + records[end].bytes.count <= context.segmentSize {
                size += records[end].bytes.count
                end += 1
            }
            try write(records[i..<end], totalSize: size)
            index.apply(records[i..<end], segment: active.segment.id, endingAt: active.length)
            for r in records[i..<end] { appendedKeys.append(r.keyHash) }
            i = end
        }
        if context.durability == .syncEveryWrite { try sync() }
        return rolled
    }

    /// Writes records at the end of the active segment with one system call; on failure the
    /// segment is cut back so that no partial record stays in the way of the next append.
    private mutating func write(_ records: ArraySlice<PendingRecord>, totalSize: Int) throws(CacheError) {
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
            do {
                try file.truncate(to: active.length)
            } catch {
                // Part of the write may stay past the announced end: the next holder of the
                // append mutex asks the file for its length and cuts it.
                context.shared.tailInDoubt = true
            }
            throw error
        }
        active.length += totalSize
        active.unsynced = true
    }

    /// Cuts the bytes past the active segment's last good record (its length now), a killed
    /// writer's torn append, so the next record follows a good one. Only under the append lock.
    mutating func cutTornTail() throws(CacheError) {
        active.length = try active.segment.cutTornTail(at: active.length, salt: salt)
    }

    /// Forces the active segment to the disk, after the pending seal: a segment's records
    /// never reach the disk by a sync before those of the segments before it.
    mutating func sync() throws(CacheError) {
        try finishPendingSeal()
        while let segment = unsyncedSealed.first {
            try segment.file.sync()
            unsyncedSealed.removeFirst()
        }
        try active.segment.file.sync()
        active.unsynced = false
    }

    /// Whether anything this handle wrote still waits for a sync.
    var needsSync: Bool { active.unsynced || pendingSeal != nil || !unsyncedSealed.isEmpty }

    /// Moves to `next`, the active segment as another process left it. Unsynced writes of
    /// this handle stay owed: in the same segment, as its flag; in one sealed since, which
    /// the roller's background seal may not have synced yet, in ``unsyncedSealed``.
    mutating func adoptActive(_ next: ActiveSegment) {
        var next = next
        if next.segment.id == active.segment.id {
            next.unsynced = next.unsynced || active.unsynced
        } else if active.unsynced {
            unsyncedSealed.append(active.segment)
        }
        active = next
    }

    /// Waits for the pending seal (doing it here if it failed in the background); the seal
    /// stays pending when it fails again.
    mutating func finishPendingSeal() throws(CacheError) {
        guard let seal = pendingSeal else { return }
        try seal.finish()
        pendingSeal = nil
    }

    // MARK: Segments

    /// Moves on from the active segment to a new one, which `index` opens, and seals the old
    /// one in the background (``PendingSeal``): its fsync and index file do not stop the
    /// writer. One seal is pending at a time: the one before is finished first.
    mutating func roll(indexingInto index: StoreIndex) throws(CacheError) {
        try finishPendingSeal()
        let sealed = active
        let segment = try startSegment { $0 + [$1] }
        index.add(segment, bytes: SegmentHeader.size)
        pendingSeal = PendingSeal(segment: sealed.segment, length: sealed.length, dir: dir, salt: salt, index: index)
    }

    /// Creates the next segment and publishes a manifest whose segment list is
    /// `segments(current list, new id)`; the new segment becomes the active one.
    ///
    /// The file exists, with its header synced, before the manifest names it: a crash in
    /// between leaves an unnamed file, which the next open removes.
    mutating func startSegment(segments: ([UInt32], UInt32) -> [UInt32]) throws(CacheError) -> Segment {
        var id = manifest.nextSegmentID
        let file: File
        while true {
            guard id < Limits.segmentIDLimit else {
                throw .corruptStore(path: dir.path, detail: "segment numbers are exhausted")
            }
            if let created = try createSegmentFile(id) {
                file = created
                break
            }
            id += 1
        }
        let name = Segment.fileName(id)
        var next = manifest
        next.segments = segments(next.segments, id)
        next.nextSegmentID = id + 1
        next.generation += 1
        do throws(CacheError) {
            try file.write(SegmentHeader(segmentID: id, salt: salt).encoded(), at: 0)
            try file.sync()
            try publish(next)
        } catch {
            // Unless the new manifest may be in place already: then the file is the active
            // segment of every process that reads it, and the next catch-up adopts it here.
            if !manifestInDoubt { try? dir.remove(name) }
            throw error
        }
        let segment = Segment(id: id, file: file)
        active = ActiveSegment(segment: segment, length: SegmentHeader.size)
        return segment
    }

    /// Creates the file of new segment `id`, never truncating one that is there: nil when a
    /// file holding records is in the way (it is left as it is and the number skipped).
    ///
    /// Under the append lock and caught up, this handle's manifest is the file's, and it names
    /// no segment this high: a file already there is a leftover of a process killed between
    /// creating a segment and publishing it. That is checked rather than assumed, since
    /// truncating a segment that a manifest names destroys acknowledged writes.
    private mutating func createSegmentFile(_ id: UInt32) throws(CacheError) -> File? {
        let path = dir.path(Segment.fileName(id))
        do {
            return try File.open(path, flags: O_RDWR | O_CREAT | O_EXCL)
        } catch .io(_, _, EEXIST) {
            // Looked at below.
        }
        guard try StoreOpening.readManifest(dir) == manifest else {
            // This handle's view is not the file's: refuse, and read the manifest next time.
            manifestInDoubt = true
            throw .io(operation: "create", path: path, errno: EEXIST)
        }
        let file = try File.open(path, flags: O_RDWR)
        // A header at most: there is nothing in it to lose.
        guard try file.size() <= SegmentHeader.size else { return nil }
        try file.truncate(to: 0)
        return file
    }

    /// Removes the files of segments no manifest names any more.
    func removeSegmentFiles(_ ids: [UInt32]) throws(CacheError) {
        for id in ids { try dir.removeSegment(id) }
        try dir.sync()
    }

    // MARK: The manifest

    /// Replaces the manifest with `next`: the shared hint first, so that it is never behind
    /// the file, then the file. This handle's own hint and manifest move only once the rename
    /// is done: a handle that took a failed write for published would skip reading the
    /// manifest another process publishes next under the same generation, and keep writing
    /// into a segment that everyone else has sealed.
    mutating func publish(_ next: Manifest) throws(CacheError) {
        context.shared.intend(generation: next.generation)
        do {
            try dir.writeAtomically(Manifest.fileName, next.encoded())
        } catch {
            settleFailedPublish()
            throw error
        }
        manifest = next
        generationHint = next.generation
        manifestInDoubt = false
    }

    /// After a failed manifest write, with the append lock still held: only the file says
    /// whether the rename happened (a failed fsync of the directory comes after it).
    private mutating func settleFailedPublish() {
        if let onDisk = try? StoreOpening.readManifest(dir), onDisk == manifest {
            // Nothing changed: take the announcement back, so that no process waits for a
            // manifest that is not coming, and the next one published is read by everyone.
            context.shared.intend(generation: manifest.generation)
            generationHint = manifest.generation
        } else {
            // The new manifest is in place, or the file cannot be read: the shared hint stays
            // ahead (which makes other processes read the file), and this handle reads it at
            // its next catch-up whatever the hint says.
            manifestInDoubt = true
        }
    }
}
