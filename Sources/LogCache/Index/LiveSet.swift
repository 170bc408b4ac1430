/// The live keys and the byte counts that follow from them: the one place where the index
/// changes, so that live bytes, per-segment live bytes and the index never disagree.
struct LiveSet: Sendable {
    private(set) var index: KeyIndex
    /// Bytes of live records.
    private(set) var liveBytes = 0
    /// Bytes of live records per segment: what compaction would have to copy.
    private(set) var segmentLiveBytes: [UInt32: Int] = [:]
    /// Bytes of tombstone and eviction records per segment. Compaction keeps them unless
    /// its run starts the log, so outside the first segment they are not dead space. Known
    /// from the index files and scans, so every process and every restart judges a segment
    /// the same way instead of rewriting the same needed tombstones again and again.
    private(set) var segmentTombstoneBytes: [UInt32: Int] = [:]
    /// The eviction policy, told of every key that enters or leaves; nil for an unbounded store.
    var tracker: EvictionTracker?
    /// The segment whose live bytes are summed in `runBytes` rather than in
    /// `segmentLiveBytes`, between ``beginRun(segment:)`` and ``endRun()``.
    private var runSegment: UInt32?
    private var runBytes = 0

    init(index: KeyIndex = KeyIndex()) {
        self.index = index
    }

    var count: Int { index.count }

    /// Points the entry's key at it; returns its slot and the entry it replaced.
    ///
    /// - Parameter expiresAt: the record's expiry in milliseconds (the entry keeps seconds).
    @discardableResult
    mutating func put(_ entry: IndexEntry, expiresAt: Int64) -> (slot: KeyIndex.Slot, replaced: IndexEntry?) {
        let result = index.upsert(entry)
        if let old = result.replaced {
            account(old, -1)
            // A rewrite is a new entry to the policy: a use for LRU, a fresh count for LFU.
            tracker?.removed(result.slot)
        }
        account(entry, 1)
        tracker?.inserted(result.slot, keyHash: entry.keyHash, size: Int(entry.length), expiresAt: expiresAt)
        return result
    }

    /// Removes the key with `hash`; returns its slot and entry.
    @discardableResult
    mutating func remove(hash: UInt64) -> (slot: KeyIndex.Slot, entry: IndexEntry)? {
        guard let removed = index.remove(hash) else { return nil }
        account(removed.entry, -1)
        tracker?.removed(removed.slot)
        return removed
    }

    /// Removes `expected` if the index still holds exactly it (it may have been replaced meanwhile).
    @discardableResult
    mutating func remove(_ expected: IndexEntry) -> KeyIndex.Slot? {
        guard let slot = index.remove(expected) else { return nil }
        account(expected, -1)
        tracker?.removed(slot)
        return slot
    }

    /// Points the key of `old` at a copy of its record, if the index still holds exactly
    /// `old` (the key may have been rewritten or removed since the copy was made). The key
    /// keeps its slot, so the policy's recency and frequency for it are kept too. `hint` is
    /// the slot the key had when `old` was read.
    @discardableResult
    mutating func relocate(_ old: IndexEntry, slot hint: KeyIndex.Slot, segment: UInt32, offset: UInt32) -> Bool {
        // The hint is checked, not trusted: the slot may have been freed and reused, or the
        // key rewritten, since it was read; the entry then differs and the key is looked up.
        let slot: KeyIndex.Slot
        if Int(hint) < index.slotCapacity, index[hint] == old {
            slot = hint
        } else {
            guard let found = index.slot(of: old.keyHash), index[found] == old else { return false }
            slot = found
        }
        var moved = old
        moved.segment = segment
        moved.offset = offset
        index.replace(at: slot, with: moved)
        account(old, -1)
        account(moved, 1)
        return true
    }

    /// Removes every entry that points into `segment`; for a segment about to be dropped
    /// whose records could not all be copied (damaged ones).
    mutating func removeAll(inSegment segment: UInt32) -> Int {
        guard segmentLiveBytes[segment, default: 0] != 0 else { return 0 }
        var stale: [IndexEntry] = []
        index.forEach { _, e in if e.segment == segment { stale.append(e) } }
        for e in stale { remove(e) }
        return stale.count
    }

    /// Bytes of entries certainly expired at `now`, per segment: dead space the index has
    /// not dropped yet (an expired entry goes when it is read or evicted).
    func expiredBytes(at now: Int64) -> [UInt32: Int] {
        var bytes: [UInt32: Int] = [:]
        index.forEach { _, e in
            if e.certainlyExpired(at: now) { bytes[e.segment, default: 0] += Int(e.length) }
        }
        return bytes
    }

    /// Counts a tombstone or eviction record (or several) of `segment`.
    mutating func addTombstoneBytes(_ bytes: Int, segment: UInt32) {
        guard bytes > 0 else { return }
        segmentTombstoneBytes[segment, default: 0] += bytes
    }

    /// Forgets the byte counts of a segment that is gone.
    mutating func forget(segment: UInt32) {
        segmentLiveBytes[segment] = nil
        segmentTombstoneBytes[segment] = nil
    }

    /// Removes the entry the policy gives up next (an expired one first); the policy has
    /// already forgotten it. Nil when nothing is left to give up.
    mutating func evictOne(now: Int64) -> (entry: IndexEntry, expired: Bool)? {
        guard let tracker, let victim = tracker.nextVictim(now: now) else { return nil }
        let entry = index[victim.slot]
        guard index.remove(entry.keyHash) != nil else { return nil }
        account(entry, -1)
        return (entry, victim.expired)
    }

    /// Removes the next victim the policy chose beyond those asked for (``EvictionTracker/extraVictim()``).
    mutating func evictExtra() -> IndexEntry? {
        guard let tracker, let victim = tracker.extraVictim() else { return nil }
        let entry = index[victim]
        guard index.remove(entry.keyHash) != nil else { return nil }
        account(entry, -1)
        return entry
    }

    /// Forgets every key, keeping the kind of policy (with an empty order).
    mutating func removeAll() {
        var fresh = LiveSet()
        fresh.tracker = tracker.map { $0.emptyCopy() }
        self = fresh
    }

    /// Compacts the index's memory after a bulk load (slots may be renumbered).
    mutating func shrinkToFit() { index.shrinkToFit() }

    /// Makes room for `count` keys before a load (``KeyIndex/reserve(_:)``).
    mutating func reserve(_ count: Int) { index.reserve(count) }

    private mutating func account(_ e: IndexEntry, _ sign: Int) {
        let n = Int(e.length) * sign
        liveBytes += n
        if e.segment == runSegment {
            runBytes += n
        } else {
            segmentLiveBytes[e.segment, default: 0] += n
        }
    }

    /// Starts a run of changes to the entries of `segment` (loading one segment's records):
    /// its live bytes are summed on the side and added to ``segmentLiveBytes`` once, at
    /// ``endRun()``, instead of one dictionary update per record. ``segmentLiveBytes`` is not
    /// up to date for the segment until the run ends.
    mutating func beginRun(segment: UInt32) {
        endRun()
        runSegment = segment
    }

    /// Ends the run that ``beginRun(segment:)`` started.
    mutating func endRun() {
        guard let segment = runSegment else { return }
        runSegment = nil
        if runBytes != 0 { segmentLiveBytes[segment, default: 0] += runBytes }
        runBytes = 0
    }
}
