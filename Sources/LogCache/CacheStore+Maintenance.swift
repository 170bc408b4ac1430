extension CacheStore {
    /// Runs one compaction pass now: seals the active segment if it holds dead bytes, then
    /// rewrites every sealed segment that has any.
    ///
    /// Compaction copies the live records of sealed segments with much dead space into new
    /// segments that take their place, and removes the old files. A pass never blocks readers
    /// or writers for longer than a few index updates: it copies without the log's lock,
    /// publishes the new segment set with one atomic manifest replacement, then points index
    /// entries at the copies in small batches. Readers that still hold an old segment keep
    /// reading it: an unlinked file stays readable while open.
    ///
    /// The old files are removed by a background thread once the pass returns: freeing a
    /// file's pages takes tens of milliseconds per 64 MiB segment. Nothing names them any
    /// more, and ``close()`` waits for their removal; the space they take counts as freed in
    /// ``statistics`` from the moment the pass returns. A process that dies first leaves
    /// them for the next open, which removes files no manifest names.
    ///
    /// Safe to call while other threads read and write; a pass already running (in the
    /// background, say) finishes first.
    ///
    /// - Parameter progress: called as the pass goes, from the calling thread.
    @discardableResult
    public func compact(progress: ((CompactionProgress) -> Void)? = nil) throws(CacheError) -> CompactionSummary {
        let summary = try compactor.run(onDemand: true, progress: progress)
        compactor.events.compacted(summary, onDemand: true)
        return summary
    }

    /// Removes every entry by starting a fresh, empty segment and publishing a manifest that
    /// names only it; returns how many live entries there were.
    ///
    /// Swapping the segment set costs the same for any store size and frees the disk space at
    /// once, where a tombstone per key would first have to read every key. The manifest
    /// rename is the moment of the change: a crash before it leaves the store as it was (the
    /// new file is unnamed and removed at the next open), a crash after it leaves the old
    /// files unnamed, and the next open removes them.
    @discardableResult
    public func removeAll() throws(CacheError) -> Int {
        let index = self.index
        let removed = try log.exclusively { w throws(CacheError) -> Int in
            // A seal still running would write the index file of a segment removed here.
            try w.finishPendingSeal()
            let old = w.manifest.segments
            let segment = try w.startSegment { _, id in [id] }
            let removed = index.removeAll(keeping: segment)
            try w.removeSegmentFiles(old)
            return removed
        }
        counters.deletes.add(removed, ordering: .relaxed)
        // Unreachable already (their index entries are gone); their memory is not needed.
        hot.removeAll()
        return removed
    }
}
