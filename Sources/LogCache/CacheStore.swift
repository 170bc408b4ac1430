import CLogCacheSupport
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent key-value cache in one directory: values are compressed into records appended
/// to segment files, and an in-memory hash index of every live key points at them.
///
/// The data path is short and always the same: `set` encodes a record, appends it to the
/// active segment and points the index at it; `value(forKey:)` finds the record through
/// the index, reads it, verifies its checksum and key, and decodes the value.
///
/// A `CacheStore` may be used from any number of threads. Reads share a readers-writer
/// lock on the index and read segments with positional I/O, so they run side by side;
/// writes are appended one at a time.
public final class CacheStore: Sendable {
    /// The store directory.
    public let directory: String
    /// The settings the store was created with (kept in its manifest).
    public let settings: StoreSettings
    /// The store's record salt (kept in its manifest): every record checksum starts from it.
    let salt: RecordSalt

    let dir: Directory
    let clock: any CacheClock
    let durability: Durability
    let locks: StoreLocks
    /// The counters shared with other processes through the `SHARED` file.
    let shared: SharedCounters
    /// The shared change counter as of this handle's last look at the files: when the
    /// counter differs, another process has written and reads catch up first.
    let seenSequence: Atomic<UInt64>
    /// The shared generation hint as of this handle's last catch-up: when it moves, segments
    /// came or went, and every lookup must catch up first.
    let seenGeneration: Atomic<UInt64>
    let writer: Lock<WriterState>
    let state: ReadWriteLock<IndexState>
    let counters = Counters()
    let compactor: Compactor
    /// Memoization's computations in flight and statistics (Memoize/).
    let memo = MemoState()
    private let syncTimer = Lock<SyncTimer?>(nil)

    /// What only the writer touches: the active segment and the manifest.
    struct WriterState {
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
        var closed = false
    }

    /// What readers look at: the index and the open segments.
    struct IndexState {
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

    /// Opens the store in `directory`, creating the directory and a new store when it is
    /// missing or empty.
    ///
    /// A new store takes its settings from `options`; an existing one keeps those it was
    /// created with. Any number of handles, in this process and others, may have the store
    /// open at once (docs/multiprocess.md); it fails with ``CacheError/locked(path:)`` only
    /// while fsck or repair holds it.
    public init(directory: String, options: Options = Options()) throws(CacheError) {
        let compaction = try options.compaction.validated()
        let opened = try StoreOpening.open(directory: directory, options: options)
        compactor = Compactor(options: compaction)
        self.directory = directory
        dir = opened.directory
        settings = opened.manifest.settings
        salt = opened.manifest.salt
        clock = options.clock
        durability = options.durability
        locks = opened.locks
        shared = opened.counters
        seenSequence = Atomic(opened.sequence)
        seenGeneration = Atomic(opened.manifest.generation)
        writer = Lock(WriterState(active: opened.active, manifest: opened.manifest,
                                   generationHint: opened.manifest.generation))
        state = ReadWriteLock(IndexState(
            live: opened.live, segments: opened.segments, diskBytes: opened.diskBytes))
        counters.tornRecordsDropped.store(opened.tornRecords, ordering: .relaxed)
        counters.corruptRecords.store(opened.corruptRecords, ordering: .relaxed)
        if case .syncInterval(let interval) = options.durability {
            syncTimer.withLock { $0 = SyncTimer(interval: interval) { [weak self] in self?.syncIfDirty() } }
        }
        // Loading allocated and freed large buffers (index files, the index before it was
        // shrunk); glibc keeps freed heap memory unless asked to hand it back.
        withExtendedLifetime(opened) {}
        _ = logcache_release_free_memory()
        try startEviction(manifest: opened.manifest)
        scheduleCompaction()
    }

    deinit { try? close() }

    // MARK: Writing

    /// Stores `value` under `key`, replacing any value it had.
    ///
    /// - Parameter ttl: how long the value lives; nil uses the store's default TTL (if any).
    /// - Throws: ``CacheError/invalidOption(_:)`` when the TTL is not positive, or when it
    ///   would make the value expire past ``Limits/latestExpiry`` (nothing is written then).
    public func set(_ value: [UInt8], forKey key: String, ttl: Duration? = nil) throws(CacheError) {
        try withBytes(key) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in try set(value: v, key: k, ttl: ttl) }
        }
    }

    /// Stores `value` under a key of arbitrary bytes.
    public func set(_ value: [UInt8], forKey key: [UInt8], ttl: Duration? = nil) throws(CacheError) {
        try withBytes(key) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in try set(value: v, key: k, ttl: ttl) }
        }
    }

    func set(value: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, ttl: Duration?) throws(CacheError) {
        let record = try encodeValueRecord(key: key, value: value, ttl: ttl, now: clock.now())
        try append([record])
        counters.writes.add(1, ordering: .relaxed)
    }

    /// Checks the key and value limits and encodes the record that stores them.
    func encodeValueRecord(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, ttl: Duration?,
                           now: Int64) throws(CacheError) -> PendingRecord {
        try encodeValueRecord(key: key, value: value, expiresAt: try expiry(ttl: ttl, now: now), now: now)
    }

    /// Checks the key and value limits and encodes the record that stores them with an
    /// absolute expiry (milliseconds since 1970, 0 for never).
    func encodeValueRecord(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64,
                           now: Int64) throws(CacheError) -> PendingRecord {
        try Self.checkKey(key)
        try Self.checkExpiry(expiresAt)
        guard value.count <= Limits.maxValueLength else {
            throw .valueTooLarge(length: value.count, limit: Limits.maxValueLength)
        }
        let bytes = ValueCodec.encodeRecord(
            key: key, value: value, compression: settings.compression,
            threshold: settings.compressionThreshold, createdAt: now, expiresAt: expiresAt, salt: salt)
        try checkAdmission(recordLength: bytes.count)
        return PendingRecord(bytes: bytes, keyHash: KeyHash.hash(key), kind: .value, expiresAt: expiresAt)
    }

    private func expiry(ttl: Duration?, now: Int64) throws(CacheError) -> Int64 {
        if let ttl {
            guard ttl > .zero else { throw .invalidOption("TTL must be positive") }
            return try Self.expiry(now: now, plus: ttl.milliseconds, what: "TTL")
        }
        guard let ttl = settings.defaultTTLMilliseconds else { return 0 }
        return try Self.expiry(now: now, plus: ttl, what: "default TTL")
    }

    static func checkKey(_ key: UnsafeRawBufferPointer) throws(CacheError) {
        guard !key.isEmpty, key.count <= Limits.maxKeyLength else { throw .invalidKey(length: key.count) }
    }

    // MARK: Reading

    /// The value stored under `key`, or nil when there is none, it has expired, or its
    /// record is damaged (a damaged record is counted in ``Statistics/corruptRecords``).
    public func value(forKey key: String) throws(CacheError) -> [UInt8]? {
        try withBytes(key) { k throws(CacheError) in try value(key: k) }
    }

    /// The value stored under a key of arbitrary bytes.
    public func value(forKey key: [UInt8]) throws(CacheError) -> [UInt8]? {
        try withBytes(key) { k throws(CacheError) in try value(key: k) }
    }

    func value(key: UnsafeRawBufferPointer) throws(CacheError) -> [UInt8]? {
        let hash = KeyHash.hash(key)
        guard let (entry, segment) = try lookup(hash) else { return miss() }
        return try readValue(entry: entry, segment: segment, key: key)
    }

    /// The live entry for `hash` and the segment that holds it.
    func lookup(_ hash: UInt64) throws(CacheError) -> (IndexEntry, Segment)? {
        try catchUpIfNeeded(forKey: hash)
        return try state.read { s throws(CacheError) -> (IndexEntry, Segment)? in
            guard !s.closed else { throw .closed }
            return s.located(hash)
        }
    }

    /// Reads, verifies and decodes the record `entry` points at.
    func readValue(entry: IndexEntry, segment: Segment, key: UnsafeRawBufferPointer) throws(CacheError) -> [UInt8]? {
        let now = clock.now()
        if entry.certainlyExpired(at: now) { return expire(entry) }
        let record = try segment.readRecord(offset: entry.offset, length: entry.length)
        return record.withUnsafeBytes { bytes -> [UInt8]? in
            guard let h = verifiedValueRecord(bytes, entry: entry) else { return corrupt(entry) }
            // Another key with the same 64-bit hash: a miss, never the other key's value.
            guard RecordCoding.key(of: h, in: bytes).elementsEqual(key) else { return miss() }
            if h.isExpired(at: now) { return expire(entry) }
            guard let v = ValueCodec.decode(RecordCoding.storedValue(of: h, in: bytes), codec: h.codec, rawLength: h.rawLength)
            else { return corrupt(entry) }
            counters.hits.add(1, ordering: .relaxed)
            recordHit(entry)
            return v
        }
    }

    /// The header of the record read for `entry` when it is the good value record the entry
    /// says: as long as the entry, its checksum right, a value. Every read of a value goes
    /// through here.
    func verifiedValueRecord(_ bytes: UnsafeRawBufferPointer, entry: IndexEntry) -> RecordHeader? {
        guard bytes.count == Int(entry.length) else { return nil }
        return RecordCoding.valueRecord(bytes, salt: salt)
    }

    func miss() -> [UInt8]? {
        counters.misses.add(1, ordering: .relaxed)
        return nil
    }

    /// Drops an entry found expired.
    private func expire(_ entry: IndexEntry) -> [UInt8]? {
        let removed = state.write { s -> Bool in
            s.live.remove(entry) != nil
        }
        if removed { counters.expirations.add(1, ordering: .relaxed) }
        return miss()
    }

    /// Drops an entry whose record failed verification, so it reads as a miss from now on.
    private func corrupt(_ entry: IndexEntry) -> [UInt8]? {
        state.write { s in _ = s.live.remove(entry) }
        counters.corruptRecords.add(1, ordering: .relaxed)
        return miss()
    }

    // MARK: Removing

    /// Removes the value under `key`; true when there was one.
    @discardableResult
    public func removeValue(forKey key: String) throws(CacheError) -> Bool {
        try withBytes(key) { k throws(CacheError) in try removeValue(key: k) }
    }

    /// Removes the value under a key of arbitrary bytes; true when there was one.
    @discardableResult
    public func removeValue(forKey key: [UInt8]) throws(CacheError) -> Bool {
        try withBytes(key) { k throws(CacheError) in try removeValue(key: k) }
    }

    func removeValue(key: UnsafeRawBufferPointer) throws(CacheError) -> Bool {
        try Self.checkKey(key)
        let hash = KeyHash.hash(key)
        // The value must be live and really this key's (not a hash twin's) to count as removed.
        guard let (entry, segment) = try lookup(hash),
              try liveHeader(entry: entry, segment: segment, key: key) != nil
        else { return false }
        let tombstone = RecordCoding.encode(
            kind: .tombstone, codec: .none, key: key, stored: UnsafeRawBufferPointer(start: nil, count: 0),
            rawLength: 0, createdAt: clock.now(), expiresAt: 0, salt: salt)
        try append([PendingRecord(bytes: tombstone, keyHash: hash, kind: .tombstone, expiresAt: 0)])
        counters.deletes.add(1, ordering: .relaxed)
        return true
    }

    /// The header of the record `entry` points at when it holds a live value for `key`.
    private func liveHeader(entry: IndexEntry, segment: Segment, key: UnsafeRawBufferPointer) throws(CacheError) -> RecordHeader? {
        let record = try segment.readRecord(offset: entry.offset, length: entry.length)
        let now = clock.now()
        return record.withUnsafeBytes { bytes -> RecordHeader? in
            guard let h = verifiedValueRecord(bytes, entry: entry), RecordCoding.key(of: h, in: bytes).elementsEqual(key),
                  !h.isExpired(at: now)
            else { return nil }
            return h
        }
    }

    // MARK: Durability and closing

    /// Forces every record written so far to the disk.
    public func flush() throws(CacheError) {
        try writer.withLock { w throws(CacheError) in
            guard !w.closed else { throw .closed }
            try w.active.segment.file.sync()
            w.active.unsynced = false
        }
    }

    private func syncIfDirty() {
        writer.withLock { w in
            guard !w.closed, w.active.unsynced else { return }
            if (try? w.active.segment.file.sync()) != nil { w.active.unsynced = false }
        }
    }

    /// Flushes, writes the active segment's index file (so the next open need not scan it)
    /// and releases the store. Calling it again does nothing; any other call afterwards
    /// fails with ``CacheError/closed``.
    public func close() throws(CacheError) {
        syncTimer.withLock { $0?.cancel(); $0 = nil }
        stopCompaction()
        var failure: CacheError?
        let wasOpen = writer.withLock { w -> Bool in
            guard !w.closed else { return false }
            do throws(CacheError) {
                try w.active.segment.file.sync()
                // Under the append lock: other processes write these files too, and the active
                // segment may have moved on since this handle last looked.
                try locks.append.lockExclusive()
                defer { locks.append.unlock() }
                try catchUp(&w, holdingAppendLock: true)
                try savePolicyState()
                try dir.writeAtomically(Segment.indexFileName(w.active.segment.id), try w.active.indexFile(salt: salt))
            } catch { failure = error }
            w.closed = true
            return true
        }
        guard wasOpen else { return }
        state.write { s in
            s.closed = true
            s.segments = [:]
            s.live = LiveSet()
        }
        locks.open.unlock()
        if let failure { throw failure }
    }

    // MARK: Statistics

    /// Current size of the store and this handle's counters since it was opened.
    public var statistics: Statistics {
        try? catchUpIfNeeded()
        let (entries, live, disk, segments, memory) = state.read { s in
            (s.live.count, s.live.liveBytes, s.diskBytes, s.segments.count, s.live.index.memoryBytes)
        }
        return Statistics(
            entries: entries, liveBytes: live, diskBytes: disk, segments: segments,
            hits: counters.hits.load(ordering: .relaxed), misses: counters.misses.load(ordering: .relaxed),
            writes: counters.writes.load(ordering: .relaxed), deletes: counters.deletes.load(ordering: .relaxed),
            expirations: counters.expirations.load(ordering: .relaxed),
            tornRecordsDropped: counters.tornRecordsDropped.load(ordering: .relaxed),
            indexMemoryBytes: memory,
            evictions: counters.evictions.load(ordering: .relaxed),
            evictedBytes: counters.evictedBytes.load(ordering: .relaxed),
            policyBytesPerEntry: policyBytesPerEntry,
            corruptRecords: counters.corruptRecords.load(ordering: .relaxed),
            compactions: compactor.passes.load(ordering: .relaxed),
            compactionBytesWritten: compactor.bytesWritten.load(ordering: .relaxed),
            compactionBytesFreed: compactor.bytesFreed.load(ordering: .relaxed),
            compactionFailures: compactor.failures.load(ordering: .relaxed))
    }
}

/// Counters of this handle's activity; atomics, because readers update them without a lock.
final class Counters: Sendable {
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let deletes = Atomic<Int>(0)
    let expirations = Atomic<Int>(0)
    let tornRecordsDropped = Atomic<Int>(0)
    let evictions = Atomic<Int>(0)
    let evictedBytes = Atomic<Int>(0)
    let corruptRecords = Atomic<Int>(0)
}

/// A repeating background timer for group commit.
final class SyncTimer: @unchecked Sendable {
    private let source: any DispatchSourceTimer

    init(interval: Duration, _ handler: @escaping @Sendable () -> Void) {
        // At most about 34 years: Dispatch turns the interval into nanoseconds, and a longer one
        // would overflow there; a timer that far off never fires anyway.
        let ms = Int(min(max(1, interval.milliseconds), 1 << 40))
        source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "LogCache.sync"))
        source.schedule(deadline: .now() + .milliseconds(ms), repeating: .milliseconds(ms))
        source.setEventHandler(handler: handler)
        source.resume()
    }

    func cancel() { source.cancel() }
}
