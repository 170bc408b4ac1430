#if canImport(Glibc)
import Glibc
#endif

/// A handle's in-memory index: the live set (every live key, its policy, and the byte counts
/// that follow from it), the open segments, and the bytes the store takes on disk.
///
/// The only place the index changes. It is read on every `value(forKey:)`, so it sits behind
/// a readers-writer lock (a `pthread_rwlock_t`, which ThreadSanitizer knows, as it knows the
/// mutexes of ``Lock``): readers look entries up side by side, and the writer (appends,
/// catch-ups, compaction) changes it alone, in short steps, so that no reader waits long.
final class StoreIndex: @unchecked Sendable {
    /// What the lock guards.
    struct Contents {
        var live: LiveSet
        var segments: [UInt32: Segment]
        var diskBytes: Int
        var closed = false

        /// The live entry of `hash` and the open segment that holds its record.
        func located(_ hash: UInt64) -> (IndexEntry, Segment)? {
            guard let e = live.index.entry(for: hash), let segment = segments[e.segment] else { return nil }
            return (e, segment)
        }
    }

    /// Read and changed only under `lock`.
    private var contents: Contents
    private let lock = allocatePthreadLock(pthread_rwlock_t()) { pthread_rwlock_init($0, nil) }

    /// An index over what opening a store loaded.
    init(live: LiveSet, segments: [UInt32: Segment], diskBytes: Int) {
        contents = Contents(live: live, segments: segments, diskBytes: diskBytes)
    }

    deinit { freePthreadLock(lock, pthread_rwlock_destroy) }

    /// Runs `body` with shared access: for the reads of this type's extensions.
    func read<R, E: Error>(_ body: (borrowing Contents) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(contents)
    }

    /// Runs `body` with exclusive access: for the changes of this type's extensions.
    func write<R, E: Error>(_ body: (inout Contents) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&contents)
    }

    // MARK: Looking up

    /// The live entry of `hash` and the segment that holds its record.
    func located(_ hash: UInt64) throws(CacheError) -> (IndexEntry, Segment)? {
        try read { s throws(CacheError) in
            guard !s.closed else { throw .closed }
            return s.located(hash)
        }
    }

    /// ``located(_:)`` for many keys under one hold of the lock.
    func located(_ hashes: [UInt64]) throws(CacheError) -> [(IndexEntry, Segment)?] {
        try read { s throws(CacheError) in
            guard !s.closed else { throw .closed }
            return s.live.index.lookups(of: hashes).map { hit in
                hit.flatMap { hit in s.segments[hit.entry.segment].map { (hit.entry, $0) } }
            }
        }
    }

    /// The live entry of `hash`, whichever segment holds it.
    func entry(for hash: UInt64) -> IndexEntry? {
        read { $0.live.index.entry(for: hash) }
    }

    /// The live entry of `hash` with its slot: ``lookups(of:)`` for one key.
    func lookup(of hash: UInt64) -> (slot: UInt32, entry: IndexEntry)? {
        read { s in s.live.index.lookup(of: hash) }
    }

    /// The live entries of `hashes` with their slots, in their order, under one hold of the
    /// lock. A slot is a hint for a later change under another hold (``relocate(_:)``): by
    /// then the key may have moved, which the change checks.
    func lookups(of hashes: some Collection<UInt64>) -> [(slot: UInt32, entry: IndexEntry)?] {
        let hashes = Array(hashes)
        return read { s in s.live.index.lookups(of: hashes) }
    }

    /// The open segment `id`.
    func segment(_ id: UInt32) -> Segment? {
        read { $0.segments[id] }
    }

    /// Every open segment by number.
    var segments: [UInt32: Segment] { read { $0.segments } }

    /// Maps the open segments other processes have sealed since this handle followed them:
    /// those other than `active` that are not mapped yet and whose index file is there now (a
    /// seal writes it after its fsync). What a catch-up that adopted a new manifest calls.
    func mapSealedSegments(in dir: Directory, active: UInt32) {
        let unmapped = read { s in s.segments.values.filter { $0.id != active && !$0.isMapped } }
        for segment in unmapped where dir.exists(Segment.indexFileName(segment.id)) {
            guard let length = try? segment.file.size() else { continue }
            segment.mapSealed(length: length)
        }
    }

    /// Every live entry with its segment, in no particular order.
    func liveEntries() throws(CacheError) -> [(IndexEntry, Segment)] {
        try read { s throws(CacheError) in
            guard !s.closed else { throw .closed }
            var list: [(IndexEntry, Segment)] = []
            list.reserveCapacity(s.live.count)
            s.live.index.forEach { _, e in
                if let segment = s.segments[e.segment] { list.append((e, segment)) }
            }
            return list
        }
    }

    /// Open segments and the bytes the store takes on disk.
    var footprint: (segments: Int, bytes: Int) {
        read { s in (s.segments.count, s.diskBytes) }
    }

    /// What ``CacheStore/statistics`` reports of the index.
    var sizes: (entries: Int, liveBytes: Int, diskBytes: Int, segments: Int, memoryBytes: Int) {
        read { s in (s.live.count, s.live.liveBytes, s.diskBytes, s.segments.count, s.live.index.memoryBytes) }
    }

    // MARK: Changing

    /// Points the index at records just appended to `segment`, which end at `end`.
    func apply(_ records: ArraySlice<PendingRecord>, segment: UInt32, endingAt end: Int) {
        var offset = end - records.reduce(0) { $0 + $1.bytes.count }
        write { s in
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

    /// Opens a segment the log just started; `bytes` is what it adds on disk.
    func add(_ segment: Segment, bytes: Int) {
        write { s in
            s.segments[segment.id] = segment
            s.diskBytes += bytes
        }
    }

    /// Counts `bytes` more on disk: a sealed segment's index file, written in the background.
    func addDiskBytes(_ bytes: Int) {
        write { $0.diskBytes += bytes }
    }

    /// Drops `entry` if it is still its key's live entry; true when it was.
    func remove(_ entry: IndexEntry) -> Bool {
        write { $0.live.remove(entry) != nil }
    }

    /// Forgets every key and segment but `segment`, the new empty one; returns how many live
    /// entries there were.
    func removeAll(keeping segment: Segment) -> Int {
        write { s in
            let count = s.live.count
            s.live.removeAll()
            s.segments = [segment.id: segment]
            s.diskBytes = SegmentHeader.size
            return count
        }
    }

    /// Takes the place of the whole index with one rebuilt from the files.
    func replace(live: LiveSet, segments: [UInt32: Segment], diskBytes: Int) {
        write { s in
            s.live = live
            s.segments = segments
            s.diskBytes = diskBytes
        }
    }

    /// Runs `body` with a loader that applies records to this index in place (under the
    /// exclusive lock), then keeps the segments it opened and the bytes it counted.
    func load<R, E: Error>(with fresh: IndexLoader, _ body: (inout IndexLoader) throws(E) -> R) throws(E) -> R {
        var loader = fresh
        return try write { s throws(E) -> R in
            swap(&loader.live, &s.live)
            defer {
                swap(&loader.live, &s.live)
                s.diskBytes += loader.diskBytes
                for (id, segment) in loader.segments { s.segments[id] = segment }
            }
            return try body(&loader)
        }
    }

    /// Closes the index: lookups fail with ``CacheError/closed`` from now on, and the
    /// segments' files close once no reader holds them.
    func close() {
        write { s in
            s.closed = true
            s.segments = [:]
            s.live = LiveSet()
        }
    }
}
