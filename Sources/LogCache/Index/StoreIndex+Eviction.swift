/// The eviction policy's side of the index: choosing victims, hits, the saved order.
extension StoreIndex {
    /// What ``makeRoom(for:maxBytes:maxEntries:now:)`` took out of the index.
    struct Evicted {
        /// Key hashes of the policy's victims: each needs an eviction record.
        var victims: [UInt64] = []
        /// Bytes of the victims' records.
        var bytes = 0
        /// Entries dropped because they had expired: skipped at open, they need no record.
        var expired = 0
    }

    /// Evicts (expired entries first, then the policy's victims) until live bytes and entries,
    /// counting `records` as if already in, fit `maxBytes` and `maxEntries`.
    ///
    /// Evicting before inserting, as cache simulators do, keeps the new entry out of the
    /// choice: under LFU a new entry would otherwise often be its own victim.
    func makeRoom(for records: [PendingRecord], maxBytes: Int, maxEntries: Int, now: Int64) -> Evicted {
        write { s -> Evicted in
            // What the records will add once in, given the index as it is now.
            var pending: [UInt64: Int] = [:]
            var addedBytes = 0
            var addedEntries = 0
            for r in records where r.kind == .value {
                let existing = s.live.index.entry(for: r.keyHash)
                if let earlier = pending[r.keyHash] {
                    addedBytes += r.bytes.count - earlier
                } else {
                    addedBytes += r.bytes.count - Int(existing?.length ?? 0)
                    if existing == nil { addedEntries += 1 }
                }
                pending[r.keyHash] = r.bytes.count
            }
            var out = Evicted()
            // The victims asked for until the records fit, then those the policy chose besides.
            while true {
                let over = s.live.liveBytes + addedBytes > maxBytes || s.live.count + addedEntries > maxEntries
                guard let (entry, wasExpired) = over ? s.live.evictOne(now: now) : s.live.evictExtra().map({ ($0, false) })
                else { break }
                if pending[entry.keyHash] != nil {
                    // A key about to be rewritten: it was counted as replaced, now it is simply new.
                    addedBytes += Int(entry.length)
                    addedEntries += 1
                }
                if wasExpired {
                    out.expired += 1
                } else {
                    out.victims.append(entry.keyHash)
                    out.bytes += Int(entry.length)
                }
            }
            return out
        }
    }

    /// Tells the policy about a hit on the key of `entry`, if the key is still live.
    ///
    /// The key counts, not the record read: a compaction may have moved the record between
    /// the read and this call (the entry then names the copy's place), and the key may have
    /// been written again meanwhile; either way the key was used. Requiring the very entry
    /// read would drop the hits that race with a compaction pass, and make the policy's
    /// order depend on when passes run.
    func recordHit(_ entry: IndexEntry) {
        read { s in
            guard let tracker = s.live.tracker, let slot = s.live.index.slot(of: entry.keyHash) else { return }
            tracker.accessed(slot)
        }
    }

    /// Gives the index a policy built for its entries by `make`.
    func installPolicy(_ make: (KeyIndex) -> EvictionTracker) {
        write { s in s.live.tracker = make(s.live.index) }
    }

    /// The policy's order by key hash, for the `POLICY` file or a rebuilt index; nil for an
    /// unbounded store.
    func policySnapshot() -> PolicySnapshot? {
        read { s in s.live.tracker?.snapshot(index: s.live.index) }
    }

    /// Bytes of policy state per live entry; 0 for an unbounded store.
    var policyBytesPerEntry: Double {
        read { s in s.live.tracker?.metadataBytesPerEntry(liveEntries: s.live.count) ?? 0 }
    }
}
