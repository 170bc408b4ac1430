import CLogCacheSupport
import Logging
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent key-value cache in one directory: values are compressed into records appended
/// to segment files, and an in-memory hash index of every live key points at them.
///
/// The data path is short and always the same: `set` encodes a record (`RecordEncoder`),
/// appends it to the log (`SegmentLog`) and points the index at it (`StoreIndex`);
/// `value(forKey:)` catches up with other processes if it must (`Follower`), finds the
/// record through the index, reads and verifies it (`RecordReader`) and decodes the value.
/// This type only checks arguments and calls those pieces in that order; docs/architecture.md
/// says which piece owns which state.
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
    let clock: any CacheClock
    /// This handle's hits, misses, writes and the rest, for ``statistics``.
    let counters = Counters()
    /// The segment files and the manifest.
    let log: SegmentLog
    /// Every write's first step: checks and encoding.
    let encoder: RecordEncoder
    /// Every read's last step: the record read and verified.
    let reader: RecordReader
    /// Decoded values of hot keys, checked before a record is read.
    let hot: HotValues
    /// The in-memory index and the open segments.
    let index: StoreIndex
    /// The log's ``SegmentLog/follower``, held here too: every lookup asks it first, and a
    /// reference through the log would be retained and released on each, an atomic write to
    /// one shared counter that reader threads contend for.
    let follower: Follower
    /// Memoization's flights and statistics (Memoize/).
    let memo = Memoizer()
    /// Background and on-demand compaction of the log and the index.
    let compactor: Compactor
    private let syncTimer = Lock<SyncTimer?>(nil)
    /// This handle's trace recording (Trace/), when asked for.
    let recorder: TraceRecorder?
    /// What the handle logs (``Options/logger``).
    let events: StoreEvents
    /// The handle's swift-metrics, when a backend is bootstrapped, and the timer that pushes them.
    let metrics: StoreMetrics?
    private let metricsTimer = Lock<SyncTimer?>(nil)

    /// The logger of ``Options/logger``, with the store's directory in its metadata
    /// (`logcache.store`): what a layer on top of the store (the shared tier) logs through
    /// unless it is given its own.
    public var logger: Logger { events.logger }

    /// Opens the store in `directory`, creating the directory and a new store when it is
    /// missing or empty.
    ///
    /// A new store takes its settings from `options`; an existing one keeps those it was
    /// created with. Any number of handles, in this process and others, may have the store
    /// open at once (docs/multiprocess.md); it fails with ``CacheError/locked(path:)`` only
    /// while fsck or repair holds it.
    public init(directory: String, options: Options = Options()) throws(CacheError) {
        let compaction = try options.compaction.validated()
        var recording = options.traceRecording
        if recording == nil { recording = try TraceRecording.fromEnvironment() }
        if let r = recording { recording = try r.validated() }
        let openStarted = ContinuousClock.now
        let opened = try StoreOpening.open(directory: directory, options: options)
        self.directory = directory
        events = StoreEvents(logger: options.logger, directory: directory,
                             slowOperationThreshold: options.slowOperationThreshold)
        settings = opened.manifest.settings
        salt = opened.manifest.salt
        clock = options.clock
        encoder = RecordEncoder(settings: settings, salt: salt, largeValueLevel: options.zstdLevelForLargeValues)
        reader = RecordReader(salt: salt)
        hot = HotValues(capacity: options.hotValueCacheBytes)
        let loaded = opened.loaded
        index = StoreIndex(live: loaded.live, segments: loaded.segments, diskBytes: loaded.diskBytes)
        follower = Follower(shared: opened.counters, index: index, hot: hot, clock: clock, settings: settings,
                            sequence: opened.sequence, generation: opened.manifest.generation)
        log = SegmentLog(
            context: LogContext(dir: loaded.dir, segmentSize: settings.segmentSize,
                                durability: options.durability, shared: opened.counters, events: events),
            locks: opened.locks, follower: follower, active: opened.active, manifest: opened.manifest)
        compactor = Compactor(options: compaction, log: log, index: index, counters: counters, clock: clock,
                              segmentSize: settings.segmentSize)
        recorder = recording.map { TraceRecorder(storeDirectory: directory, settings: $0) }
        metrics = StoreMetrics(directory: directory)
        counters.tornRecordsDropped.store(loaded.tornRecords, ordering: .relaxed)
        counters.corruptRecords.store(loaded.corruptRecords, ordering: .relaxed)
        if case .syncInterval(let interval) = options.durability {
            syncTimer.withLock { $0 = SyncTimer(interval: interval) { [weak self] in self?.log.syncIfDirty() } }
        }
        // Loading allocated and freed large buffers (index files, the index before it was
        // shrunk); glibc keeps freed heap memory unless asked to hand it back.
        withExtendedLifetime(opened) {}
        _ = logcache_release_free_memory()
        try startEviction(manifest: opened.manifest)
        compactor.schedule()
        let sizes = index.sizes
        let opening = ContinuousClock.now - openStarted
        events.opened(entries: sizes.entries, segments: sizes.segments,
                      seconds: Double(opening.components.seconds) + Double(opening.components.attoseconds) / 1e18,
                      tornRecords: loaded.tornRecords, corruptRecords: loaded.corruptRecords)
        if let metrics {
            metrics.report(statistics)
            metricsTimer.withLock {
                $0 = SyncTimer(interval: options.metricsInterval) { [weak self] in
                    guard let self else { return }
                    metrics.report(self.statistics)
                }
            }
        }
    }

    deinit { try? close() }

    // MARK: Writing

    /// Stores `value` under `key`, replacing any value it had.
    ///
    /// - Parameters:
    ///   - value: the bytes to store.
    ///   - key: the key; its UTF-8 bytes are what the store keeps.
    ///   - ttl: how long the value lives; nil uses the store's default TTL (if any).
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

    func set(value: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, ttl: Duration?,
             type: ValueType = .bytes) throws(CacheError) {
        try append([encoder.value(key: key, value: value, ttl: ttl, now: clock.now(), type: type)])
        counters.writes.add(1, ordering: .relaxed)
    }

    /// Appends encoded records in order and points the index at them: one hold of the log's
    /// locks, and one write per segment they land in. With a capacity, what must go to make
    /// room for them is evicted first, and its eviction records are written ahead of them.
    ///
    /// With `unlessLive`, nothing is written when any of the records' keys has a live value
    /// once the log has caught up with every process (checked under the append mutex, so no
    /// write can come in between); returns whether the records were written.
    @discardableResult
    func append(_ records: [PendingRecord], unlessLive: Bool = false) throws(CacheError) -> Bool {
        let index = self.index
        var rolled = false
        // A sealed segment may be worth compacting, also when a later write of the batch failed.
        defer { if rolled { compactor.schedule() } }
        let now = clock.now()
        let written = try log.exclusively { w throws(CacheError) -> Bool in
            if unlessLive {
                for r in records {
                    // Expiries are kept rounded up to the second: an entry this check calls
                    // live may have expired within the last second, and is kept (the write
                    // it would have made is a cache fill, not a user's write).
                    if let e = index.entry(for: r.keyHash), e.expirySeconds == 0 || Int64(e.expirySeconds) * 1000 > now {
                        return false
                    }
                }
            }
            let active = w.active.segment.id
            defer { rolled = w.active.segment.id != active }
            let evictions = evictions(for: records)
            _ = try w.append(evictions.isEmpty ? records : evictions + records, indexingInto: index)
            return true
        }
        guard written else { return false }
        if let recorder {
            for r in records {
                switch r.kind {
                case .value: recorder.record(.set, keyHash: r.keyHash, size: r.bytes.count)
                case .tombstone: recorder.record(.delete, keyHash: r.keyHash, size: 0)
                case .eviction: break
                }
            }
        }
        return true
    }

    /// Encodes the records `0..<count` of a batch with `encode` and appends them in order.
    ///
    /// A large compressed batch in a store without a capacity goes through an
    /// ``EncodingPipeline``: chunks are appended as soon as they are encoded, while the other
    /// cores encode the next ones, each chunk in its own hold of the log's locks. `check`
    /// runs on every record first, so that what `encode` refuses (a key or value out of
    /// limits) is refused before anything is written. With a capacity, where a record too
    /// large for it is found only once encoded, and for small or uncompressed batches, the
    /// whole batch is encoded first (on every core, ``RecordEncoder/batch(count:_:)``) and
    /// appended in one hold.
    func appendBatch(count: Int, check: (Int) throws(CacheError) -> Void,
                     _ encode: @Sendable (Int) throws(CacheError) -> PendingRecord) throws(CacheError) {
        guard count >= 2 * EncodingPipeline.chunkRecords, Processors.online > 1,
              settings.compression != .none, !settings.isBounded else {
            let records = try encoder.batch(count: count, encode)
            try append(records)
            counters.writes.add(records.count, ordering: .relaxed)
            return
        }
        for i in 0..<count { try check(i) }
        let counters = self.counters
        try EncodingPipeline.run(count: count, encode: encode) { [self] records throws(CacheError) in
            try append(records)
            counters.writes.add(records.count, ordering: .relaxed)
        }
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
        guard let (entry, segment) = try lookup(hash) else { return miss(hash) }
        return try read(entry, in: segment, key: key)
    }

    /// Calls `body` with the bytes of the value stored under `key`, valid only inside `body`,
    /// and returns what it returned; nil (and `body` not called) when there is no value, as
    /// for ``value(forKey:)-(String)``.
    ///
    /// No array is made for the value: an uncompressed value is handed straight from the
    /// segment's memory map, a compressed one is decompressed into a buffer that is reused,
    /// and a hot value is lent from the cache. For large values this saves an allocation
    /// (whose pages the kernel would fault in) and a pass over the bytes. The checks are the
    /// same as for ``value(forKey:)-(String)``: `body` only ever sees a verified value.
    public func withValue<R>(forKey key: String, _ body: (UnsafeRawBufferPointer) -> R) throws(CacheError) -> R? {
        // The generic result stays out here: the read path below is not generic, so that a
        // caller in another module runs it specialized, not through generic metadata.
        var result: R?
        let found = try withBytes(key) { k throws(CacheError) in try withValue(key: k) { result = body($1) } }
        return found ? result : nil
    }

    /// ``withValue(forKey:_:)-(String,_)`` for a key of arbitrary bytes.
    public func withValue<R>(forKey key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws(CacheError) -> R? {
        var result: R?
        let found = try withBytes(key) { k throws(CacheError) in try withValue(key: k) { result = body($1) } }
        return found ? result : nil
    }

    /// Whether `key` had a value, which `body` was given with its type.
    func withValue(key: UnsafeRawBufferPointer, _ body: (ValueType, UnsafeRawBufferPointer) -> Void) throws(CacheError) -> Bool {
        let hash = KeyHash.hash(key)
        guard let (entry, segment) = try lookup(hash) else {
            _ = miss(hash)
            return false
        }
        return try borrow(entry, in: segment, key: key, body)
    }

    /// The live entry of `hash` and its segment, after catching up with other processes when
    /// their changes may touch the key.
    private func lookup(_ hash: UInt64) throws(CacheError) -> (IndexEntry, Segment)? {
        if follower.isBehind(forKey: hash) { try log.catchUp() }
        return try index.located(hash)
    }

    /// The value of the record `entry` points at: from the hot values when it is there,
    /// otherwise read and verified (and then kept among the hot values). An entry found
    /// expired is dropped; one whose record fails verification is dropped and counted in
    /// ``Statistics/corruptRecords``, and reads as a miss from then on: never returned.
    func read(_ entry: IndexEntry, in segment: Segment, key: UnsafeRawBufferPointer) throws(CacheError) -> [UInt8]? {
        let now = clock.now()
        let cached = hot.value(for: entry, key: key, now: now)
        if case .hit(let value, _) = cached { return hit(value, entry) }
        let found = settle(entry, try reader.read(entry, in: segment, key: key, now: now) { h, record in
            RecordReader.value(of: h, in: record).map { (value: $0, type: h.valueType, expiresAt: h.expiresAt) }
        })
        guard let found else { return nil }
        hot.insert(found.value, type: found.type, key: key, expiresAt: found.expiresAt, for: entry, after: cached)
        return found.value
    }

    /// ``read(_:in:key:)`` handing the value to `body` without making an array of it
    /// (``RecordReader/withValue(of:in:_:)``); an array is made only for a value the hot
    /// values admit. `body` is given the value's type too.
    func borrow(_ entry: IndexEntry, in segment: Segment, key: UnsafeRawBufferPointer,
                _ body: (ValueType, UnsafeRawBufferPointer) -> Void) throws(CacheError) -> Bool {
        let now = clock.now()
        let cached = hot.value(for: entry, key: key, now: now)
        if case .hit(let value, let type) = cached {
            hit(value, entry).withUnsafeBytes { body(type, $0) }
            return true
        }
        let hot = self.hot
        return settle(entry, try reader.withValue(entry, in: segment, key: key, now: now) { h, bytes -> Bool in
            if cached.admits, hot.fits(valueCount: bytes.count, keyCount: key.count) {
                hot.insert([UInt8](bytes), type: h.valueType, key: key, expiresAt: h.expiresAt, for: entry, after: cached)
            }
            body(h.valueType, bytes)
            return true
        }) ?? false
    }

    /// What a read of `entry` found, counted: a hit (recorded for the policy), or a miss. An
    /// entry found expired is dropped; one whose record fails verification, or whose value
    /// does not decode (nil), is dropped and counted in ``Statistics/corruptRecords``.
    private func settle<T>(_ entry: IndexEntry, _ outcome: RecordReader.Outcome<T?>) -> T? {
        switch outcome {
        case .found(let found?):
            return hit(found, entry)
        case .found(nil), .damaged:
            _ = index.remove(entry)
            counters.corruptRecords.add(1, ordering: .relaxed)
        case .expired:
            if index.remove(entry) { counters.expirations.add(1, ordering: .relaxed) }
        case .otherKey:
            // Another key with the same 64-bit hash: a miss, never the other key's value.
            break
        }
        counters.misses.add(1, ordering: .relaxed)
        recorder?.record(.miss, keyHash: entry.keyHash, size: 0)
        return nil
    }

    /// Counts a hit on `entry` (and tells the policy) and passes `value` on.
    private func hit<T>(_ value: T, _ entry: IndexEntry) -> T {
        counters.hits.add(1, ordering: .relaxed)
        if settings.isBounded, settings.policy.tracksHits { index.recordHit(entry) }
        recorder?.record(.hit, keyHash: entry.keyHash, size: Int(entry.length))
        return value
    }

    /// Counts a miss on a key the index does not have.
    func miss(_ keyHash: UInt64) -> [UInt8]? {
        counters.misses.add(1, ordering: .relaxed)
        recorder?.record(.miss, keyHash: keyHash, size: 0)
        return nil
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
        try RecordEncoder.checkKey(key)
        // The value must be live and really this key's (not a hash twin's) to count as removed.
        let hash = KeyHash.hash(key)
        guard let (entry, segment) = try lookup(hash),
              case .found = try reader.read(entry, in: segment, key: key, now: clock.now(), { _, _ in })
        else { return false }
        try append([encoder.tombstone(key: key, keyHash: hash, now: clock.now())])
        counters.deletes.add(1, ordering: .relaxed)
        return true
    }

    // MARK: Eviction

    /// Sets the policy up for the loaded index (from the saved order where there is one) and
    /// evicts what a crash may have left over the capacity.
    private func startEviction(manifest: Manifest) throws(CacheError) {
        guard settings.isBounded else { return }
        let snapshot: PolicySnapshot? = {
            guard let mapped = try? MappedFile(path: log.dir.path(PolicySnapshot.fileName)) else { return nil }
            return PolicySnapshot.decode(mapped.bytes)
        }()
        let settings = self.settings
        index.installPolicy { EvictionTracker.loaded(for: $0, settings: settings, manifest: manifest, snapshot: snapshot) }
        // Over the capacity only after a crash between a write and its evictions: nothing is
        // written (or synced) otherwise.
        let index = self.index
        try log.exclusively { w throws(CacheError) in
            let evictions = evictions(for: [])
            if !evictions.isEmpty { _ = try w.append(evictions, indexingInto: index) }
        }
    }

    /// With a capacity, the eviction records of what must go so that `records` fit (expired
    /// entries need none: they are skipped at open). Called under the log's locks.
    private func evictions(for records: [PendingRecord]) -> [PendingRecord] {
        guard settings.isBounded else { return [] }
        let now = clock.now()
        let evicted = index.makeRoom(for: records, maxBytes: settings.capacityBytes ?? .max,
                                     maxEntries: settings.capacityEntries ?? .max, now: now)
        counters.expirations.add(evicted.expired, ordering: .relaxed)
        counters.evictions.add(evicted.victims.count, ordering: .relaxed)
        counters.evictedBytes.add(evicted.bytes, ordering: .relaxed)
        events.evicted(entries: evicted.victims.count, bytes: evicted.bytes)
        return evicted.victims.map { encoder.eviction(keyHash: $0, now: now) }
    }

    // MARK: Durability and closing

    /// Forces every record written so far to the disk.
    public func flush() throws(CacheError) {
        try log.flush()
    }

    /// Flushes, writes the active segment's index file (so the next open need not scan it)
    /// and releases the store. Calling it again does nothing; any other call afterwards
    /// fails with ``CacheError/closed``.
    public func close() throws(CacheError) {
        syncTimer.withLock { $0?.cancel(); $0 = nil }
        let pushing = metricsTimer.withLock { t -> Bool in
            defer { t?.cancel(); t = nil }
            return t != nil
        }
        // The last counts, before the handle's state goes.
        if pushing, let metrics { metrics.report(statistics) }
        compactor.stop()
        let index = self.index
        let dir = log.dir
        let (wasOpen, failure) = log.close { () throws(CacheError) in
            // The policy's order, for the next open.
            if let snapshot = index.policySnapshot() {
                try dir.writeAtomically(PolicySnapshot.fileName, snapshot.encoded())
            }
        }
        guard wasOpen else { return }
        index.close()
        recorder?.close()
        log.locks.open.unlock()
        if let failure { throw failure }
    }

    // MARK: Statistics

    /// Live keys now, counting the writes of other processes.
    ///
    /// - Throws: ``CacheError/closed`` after ``close()``, or an error catching up.
    public func liveEntryCount() throws(CacheError) -> Int {
        try log.catchUpIfBehind()
        let index = self.index
        return try log.withManifest { _ throws(CacheError) in index.sizes.entries }
    }

    /// Current size of the store and this handle's counters since it was opened.
    public var statistics: Statistics {
        try? log.catchUpIfBehind()
        let sizes = index.sizes
        return Statistics(
            entries: sizes.entries, liveBytes: sizes.liveBytes, diskBytes: sizes.diskBytes, segments: sizes.segments,
            hits: counters.hits.load(ordering: .relaxed), misses: counters.misses.load(ordering: .relaxed),
            writes: counters.writes.load(ordering: .relaxed), deletes: counters.deletes.load(ordering: .relaxed),
            expirations: counters.expirations.load(ordering: .relaxed),
            tornRecordsDropped: counters.tornRecordsDropped.load(ordering: .relaxed),
            indexMemoryBytes: sizes.memoryBytes,
            evictions: counters.evictions.load(ordering: .relaxed),
            evictedBytes: counters.evictedBytes.load(ordering: .relaxed),
            policyBytesPerEntry: index.policyBytesPerEntry,
            corruptRecords: counters.corruptRecords.load(ordering: .relaxed),
            compactions: compactor.passes.load(ordering: .relaxed),
            compactionBytesWritten: compactor.bytesWritten.load(ordering: .relaxed),
            compactionBytesFreed: compactor.bytesFreed.load(ordering: .relaxed),
            compactionFailures: compactor.failures.load(ordering: .relaxed),
            hotValueHits: hot.hits.load(ordering: .relaxed),
            hotValueBytes: hot.usage.bytes)
    }
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
