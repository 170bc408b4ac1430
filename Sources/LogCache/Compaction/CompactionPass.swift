/// One compaction pass over chosen runs of sealed segments: copy, finish, publish, retire.
///
/// What is copied, and why nothing comes back that was gone:
/// - a value record is copied when the index points at exactly it and it has not expired;
///   every other value record is dead (overwritten, removed, evicted) and dropped;
/// - a value record that has expired and is its key's latest hides the key's older values
///   from an open (an expired value reads as removed), so unless the run starts at the
///   oldest segment, where nothing older exists, it is replaced by a small tombstone;
/// - a tombstone or eviction record is dropped when the run starts at the oldest segment
///   or its key has a live value (which is newer than it); otherwise an older segment may
///   still hold a value it hides, and it is kept (once per key and run).
/// Records are copied in log order and the new segments take the run's place in the log,
/// so every record keeps its order relative to the records outside the run.
struct CompactionPass {
    let compactor: Compactor
    let log: SegmentLog
    let index: StoreIndex
    /// The first segment of the log: a run that starts there has nothing older than it.
    let oldest: UInt32?
    let progress: ((CompactionProgress) -> Void)?
    /// Bytes of the segments the pass reads.
    let total: Int
    let now: Int64
    private var done = 0
    private var lastReport = 0
    private(set) var runs: [[UInt32]] = []
    private(set) var outputs: [CompactionOutput] = []
    private var relocations: [StoreIndex.Relocation] = []
    private var expired: [IndexEntry] = []
    private(set) var liveBytesCopied = 0
    /// Set just before the manifest naming the new segments is written: from then on the
    /// new files must not be removed, whatever happens.
    private(set) var published = false

    init(compactor: Compactor, oldest: UInt32?, progress: ((CompactionProgress) -> Void)?, total: Int) {
        self.compactor = compactor
        log = compactor.log
        index = compactor.index
        self.oldest = oldest
        self.progress = progress
        self.total = total
        self.now = compactor.clock.now()
    }

    /// Copies what must survive of `run` into new segments.
    mutating func copy(run: [UInt32]) throws(CacheError) {
        runs.append(run)
        var output = CompactionOutput(dir: log.dir, segmentSize: compactor.segmentSize, salt: log.salt)
        defer { outputs.append(output) }
        let startsLog = run.first == oldest
        var hidden = Set<UInt64>()
        let log = self.log
        let newID = { () throws(CacheError) -> UInt32 in try log.allocateSegmentID() }
        for id in run {
            guard let segment = index.segment(id) else {
                // Gone from the store (everything was removed): publishing will find the
                // run missing and give up; nothing here needs copying.
                continue
            }
            let length = try segment.file.size()
            let mapped = try MappedFile(segment.file, length: length)
            if let entries = Self.indexFileEntries(of: id, length: length, in: log.dir) {
                try copy(entries, of: mapped.bytes, segment: id, startsLog: startsLog, hidden: &hidden, into: &output,
                         newSegmentID: newID)
                done += length - SegmentHeader.size
                try output.flushPending()
                report(.copying, done: done, total: total)
                continue
            }
            var failure: CacheError?
            _ = SegmentScan.scanSegment(mapped.bytes, from: SegmentHeader.size, salt: log.salt) { offset, header, record in
                guard failure == nil else { return }
                if compactor.stopping.load(ordering: .relaxed) {
                    failure = .closed
                    return
                }
                do throws(CacheError) {
                    try copyRecord(record, header: header, segment: id, offset: offset, startsLog: startsLog,
                                   hidden: &hidden, into: &output, newSegmentID: newID)
                } catch {
                    failure = error
                }
                done += record.count
                if done - lastReport >= 4 << 20 { report(.copying, done: done, total: total) }
            }
            if let failure { throw failure }
            done += max(0, length - Limits.segmentOffsetLimit)
            // Written out at each segment's end, so a progress report is a point where the
            // copy is really part-way on the disk.
            try output.flushPending()
            report(.copying, done: done, total: total)
        }
    }

    /// The entries of segment `id`'s index file when it is good and covers the whole segment,
    /// `length` bytes; nil otherwise (the segment is scanned instead).
    private static func indexFileEntries(of id: UInt32, length: Int, in dir: Directory) -> [IndexFileEntry]? {
        guard let mapped = try? MappedFile(path: dir.path(Segment.indexFileName(id))),
              case .success(let header) = IndexFile.validate(mapped.bytes),
              header.segmentID == id, header.coveredLength == UInt64(length)
        else { return nil }
        var entries: [IndexFileEntry] = []
        entries.reserveCapacity(header.count)
        guard case .success = IndexFile.forEachEntry(mapped.bytes, coveredLength: header.coveredLength, count: header.count,
                                                     { entries.append($0) })
        else { return nil }
        return entries
    }

    /// Copies what must survive of a sealed segment, deciding from its index file: a dead
    /// record (most of a segment worth compacting) is never read, and the live entries are
    /// looked up in batches, one hold of the index's lock each. A record that is copied is
    /// read and its checksum checked first; a damaged one is left behind, as a scan would.
    private mutating func copy(
        _ entries: [IndexFileEntry], of bytes: UnsafeRawBufferPointer, segment id: UInt32, startsLog: Bool,
        hidden: inout Set<UInt64>, into output: inout CompactionOutput,
        newSegmentID newID: () throws(CacheError) -> UInt32
    ) throws(CacheError) {
        let salt = log.salt
        var start = 0
        while start < entries.count {
            if compactor.stopping.load(ordering: .relaxed) { throw .closed }
            let end = min(start + 4096, entries.count)
            let current = index.lookups(of: entries[start..<end].lazy.map(\.keyHash))
            for (e, live) in zip(entries[start..<end], current) {
                let offset = Int(e.offset)
                let record = { () -> (UnsafeRawBufferPointer, RecordHeader)? in
                    guard offset >= SegmentHeader.size, offset + Int(e.length) <= bytes.count else { return nil }
                    let r = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(e.length))])
                    guard case .success(let h) = RecordCoding.decode(r, salt: salt), h.totalLength == r.count,
                          h.kind == e.kind, RecordCoding.keyHash(of: h, in: r) == e.keyHash
                    else { return nil }
                    return (r, h)
                }
                try decide(hash: e.keyHash, kind: e.kind, expiresAt: e.expiresAt, current: live, segment: id,
                           offset: offset, startsLog: startsLog, hidden: &hidden, into: &output, newSegmentID: newID,
                           record: record)
            }
            start = end
        }
    }

    private mutating func copyRecord(
        _ record: UnsafeRawBufferPointer, header h: RecordHeader, segment: UInt32, offset: Int, startsLog: Bool,
        hidden: inout Set<UInt64>, into output: inout CompactionOutput,
        newSegmentID newID: () throws(CacheError) -> UInt32
    ) throws(CacheError) {
        let hash = RecordCoding.keyHash(of: h, in: record)
        try decide(hash: hash, kind: h.kind, expiresAt: h.expiresAt, current: index.lookup(of: hash), segment: segment,
                   offset: offset, startsLog: startsLog, hidden: &hidden, into: &output, newSegmentID: newID,
                   record: { (record, h) })
    }

    /// Copies, replaces with an eviction record, or drops the record of `hash` at `offset` of
    /// `segment`, whose key's live entry (and its slot) is `current`; `record` gives its bytes, checked, or
    /// nil when they are damaged (then nothing of it is copied).
    private mutating func decide(
        hash: UInt64, kind: RecordKind, expiresAt: Int64, current: (slot: UInt32, entry: IndexEntry)?, segment: UInt32, offset: Int,
        startsLog: Bool, hidden: inout Set<UInt64>, into output: inout CompactionOutput,
        newSegmentID newID: () throws(CacheError) -> UInt32,
        record: () -> (UnsafeRawBufferPointer, RecordHeader)?
    ) throws(CacheError) {
        switch kind {
        case .value:
            let live = current.flatMap { $0.entry.segment == segment && Int($0.entry.offset) == offset ? $0 : nil }
            let hasExpired = expiresAt != 0 && expiresAt <= now
            if let live, !hasExpired {
                guard let (record, _) = record() else { return }
                let at = try output.append(record, keyHash: hash, expiresAt: expiresAt, kind: .value, pinned: false,
                                           newSegmentID: newID)
                relocations.append(.init(old: live.entry, slot: live.slot, segment: at.segment, offset: at.offset))
                liveBytesCopied += record.count
                return
            }
            if let live { expired.append(live.entry) }
            // Latest record of its key (the index holds it, or holds nothing for the key)
            // and expired: it hides older values.
            if hasExpired, current == nil || live != nil, !startsLog, hidden.insert(hash).inserted {
                let tombstone = RecordCoding.eviction(keyHash: hash, at: now, salt: log.salt)
                try withBytes(tombstone) { t throws(CacheError) in
                    _ = try output.append(t, keyHash: hash, expiresAt: 0, kind: .eviction, pinned: true, newSegmentID: newID)
                }
            }
        case .tombstone, .eviction:
            guard !startsLog, current == nil else { return }
            guard let (record, _) = record(), hidden.insert(hash).inserted else { return }
            _ = try output.append(record, keyHash: hash, expiresAt: 0, kind: kind, pinned: true, newSegmentID: newID)
        }
    }

    /// Makes the new segments durable: data synced, index files written.
    mutating func finish() throws(CacheError) {
        for i in outputs.indices { try outputs[i].finish() }
    }

    /// Replaces each run with its new segments in the manifest, atomically; false when a
    /// run is no longer in the log as it was (everything was removed meanwhile).
    mutating func publish() throws(CacheError) -> Bool {
        report(.publishing, done: 0, total: runs.count)
        let outputs = self.outputs
        let runs = self.runs
        let index = self.index
        let written = outputs.reduce(0) { $0 + $1.bytesWritten }
        return try log.exclusively { w throws(CacheError) -> Bool in
            var list = w.manifest.segments
            for (run, out) in zip(runs, outputs) {
                // The run must still be in place and sealed (the last entry is the active segment).
                guard let i = list.firstIndex(of: run[0]), i + run.count < list.count,
                      list[i..<(i + run.count)].elementsEqual(run)
                else { return false }
                list.replaceSubrange(i..<(i + run.count), with: out.ids)
            }
            var next = w.manifest
            next.segments = list
            next.generation += 1
            published = true
            do throws(CacheError) {
                try w.publish(next)
            } catch {
                // Unless the new manifest may be in place, nothing names the new files: they go.
                if !w.manifestInDoubt { published = false }
                throw error
            }
            index.addCompacted(outputs.flatMap(\.written), bytes: written)
            return true
        }
    }

    /// Points the index at the copies, drops what pointed into the old segments, and has
    /// their files removed in the background (``Compactor/removeFiles(of:segments:)``);
    /// returns the bytes freed.
    mutating func retire() throws(CacheError) -> Int {
        // Small batches, so a reader never waits behind more than a few thousand updates.
        var i = 0
        while i < relocations.count {
            let batch = relocations[i..<min(i + 4096, relocations.count)]
            index.relocate(batch)
            i += batch.count
        }
        let victims = runs.flatMap { $0 }
        let sizes = victims.map { id in
            (log.dir.fileSize(Segment.fileName(id)) ?? 0) + (log.dir.fileSize(Segment.indexFileName(id)) ?? 0)
        }
        let segments = victims.compactMap { index.segment($0) }
        let retired = index.retire(victims, sizes: sizes, expired: expired)
        compactor.counters.expirations.add(retired.expiredEntries, ordering: .relaxed)
        compactor.counters.corruptRecords.add(retired.staleEntries, ordering: .relaxed)
        report(.removing, done: 0, total: victims.count)
        compactor.removeFiles(of: victims, segments: segments)
        return retired.freedBytes
    }

    /// Removes the new files of a pass that did not publish.
    func discard() {
        for out in outputs { out.discard() }
    }

    private mutating func report(_ phase: CompactionProgress.Phase, done: Int, total: Int) {
        lastReport = done
        progress?(CompactionProgress(phase: phase, done: done, total: total))
    }
}
