extension CacheStore {
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
        try exclusively { w throws(CacheError) -> Int in
            let old = w.manifest.segments
            let segment = try startSegment(&w) { _, id in [id] }
            let removed = state.write { s -> Int in
                let count = s.live.count
                s.live.removeAll()
                s.segments = [segment.id: segment]
                s.diskBytes = SegmentHeader.size
                return count
            }
            // Readers still holding an old segment keep reading it: the descriptor outlives the name.
            for oldID in old {
                try dir.remove(Segment.fileName(oldID))
                try dir.remove(Segment.indexFileName(oldID))
            }
            try dir.sync()
            counters.deletes.add(removed, ordering: .relaxed)
            return removed
        }
    }
}
