/// What compaction reads of the index and the changes its passes make.
extension StoreIndex {
    /// Bytes of entries certainly expired at `now`, per segment.
    func expiredBytes(at now: Int64) -> [UInt32: Int] {
        read { $0.live.expiredBytes(at: now) }
    }

    /// Bytes of live records in `segment`.
    func liveBytes(inSegment segment: UInt32) -> Int {
        read { $0.live.segmentLiveBytes[segment] ?? 0 }
    }

    /// For each of `ids` (sealed segments in log order): its open segment, its live bytes
    /// less `expired`, and the tombstone bytes a run starting there must keep (none for the
    /// first segment of the log, which nothing older precedes).
    func usage(of ids: [UInt32], expired: [UInt32: Int]) -> [(segment: Segment?, live: Int, pinned: Int)] {
        read { s in
            ids.enumerated().map { i, id in
                (s.segments[id], (s.live.segmentLiveBytes[id] ?? 0) - (expired[id] ?? 0),
                 i == 0 ? 0 : s.live.segmentTombstoneBytes[id] ?? 0)
            }
        }
    }

    /// Opens the segments a pass wrote, once a manifest names them; `bytes` is what they add.
    func addCompacted(_ written: [CompactionOutput.Written], bytes: Int) {
        write { s in
            for seg in written {
                s.segments[seg.segment.id] = seg.segment
                s.live.addTombstoneBytes(seg.pinnedBytes, segment: seg.segment.id)
            }
            s.diskBytes += bytes
        }
    }

    /// Points keys at the copies of their records, for those whose entry is still the one
    /// copied (a key rewritten or removed meanwhile keeps its new state). Each move names
    /// the slot the key had when the pass looked it up, which saves a lookup when it has it
    /// still.
    func relocate(_ moves: ArraySlice<Relocation>) {
        write { s in
            for r in moves { s.live.relocate(r.old, slot: r.slot, segment: r.segment, offset: r.offset) }
        }
    }

    /// A live record a pass copied: the key's entry when the pass read it and the slot it had
    /// then, and where the copy is.
    struct Relocation {
        var old: IndexEntry
        var slot: UInt32
        var segment: UInt32
        var offset: UInt32
    }

    /// What ``retire(_:sizes:expired:)`` freed and dropped.
    struct Retired {
        var freedBytes = 0
        var expiredEntries = 0
        /// Entries still pointing into a retired segment: records its scan found damaged.
        var staleEntries = 0
    }

    /// Forgets the segments a pass replaced (`sizes` are their bytes on disk) and drops the
    /// entries the pass found expired.
    func retire(_ ids: [UInt32], sizes: [Int], expired: [IndexEntry]) -> Retired {
        write { s -> Retired in
            var out = Retired()
            for e in expired where s.live.remove(e) != nil { out.expiredEntries += 1 }
            for (id, size) in zip(ids, sizes) {
                out.staleEntries += s.live.removeAll(inSegment: id)
                s.live.forget(segment: id)
                if s.segments.removeValue(forKey: id) != nil {
                    s.diskBytes -= size
                    out.freedBytes += size
                }
            }
            return out
        }
    }
}
