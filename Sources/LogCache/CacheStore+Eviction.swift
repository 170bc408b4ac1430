#if canImport(Glibc)
import Glibc
#endif

extension CacheStore {
    /// Whether the store has a capacity to keep.
    var isBounded: Bool { settings.capacityBytes != nil || settings.capacityEntries != nil }

    /// Sets the policy up for the loaded index (from the saved order where there is one) and
    /// evicts what a crash may have left over the capacity.
    func startEviction(manifest: Manifest) throws(CacheError) {
        guard isBounded else { return }
        let snapshot: PolicySnapshot? = {
            guard let mapped = try? MappedFile(path: dir.path(PolicySnapshot.fileName)) else { return nil }
            return PolicySnapshot.decode(mapped.bytes)
        }()
        state.write { s in
            s.live.tracker = makeTracker(for: s.live.index, manifest: manifest, snapshot: snapshot)
        }
        try exclusively { w throws(CacheError) in try enforceCapacity(&w) }
    }

    /// A policy loaded for `index`: entries in the saved order first, then the others in log
    /// order (oldest first), which is the best guess of recency without one.
    func makeTracker(for index: KeyIndex, manifest: Manifest, snapshot: PolicySnapshot?) -> EvictionTracker {
        let tracker = EvictionTracker(kind: settings.policy, capacity: settings.capacityBytes ?? Int.max)
        let position = Dictionary(uniqueKeysWithValues: manifest.segments.enumerated().map { ($1, $0) })
        var live: [(slot: UInt32, position: Int, offset: UInt32)] = []
        live.reserveCapacity(index.count)
        index.forEach { slot, e in live.append((slot, position[e.segment] ?? 0, e.offset)) }
        live.sort { ($0.position, $0.offset) < ($1.position, $1.offset) }
        tracker.load(index: index, snapshot: snapshot, logOrder: live.map(\.slot))
        return tracker
    }

    /// Refuses a record that could never fit, before anything is evicted for it.
    func checkAdmission(recordLength: Int) throws(CacheError) {
        if let capacity = settings.capacityBytes, recordLength > capacity {
            throw .exceedsCapacity(length: recordLength, capacity: capacity)
        }
    }

    /// Evicts until the store is within its capacity, for a store opened over it (after a
    /// crash between a write and its evictions). Called with the writer lock held.
    func enforceCapacity(_ w: inout WriterState) throws(CacheError) {
        let evictions = makeRoom(for: [])
        if !evictions.isEmpty { try appendLocked(evictions, &w) }
    }

    /// Makes room for `records` before they are written: evicts (expired entries first, then
    /// the policy's victims) until live bytes and entries, counting the records as if already
    /// in, fit the capacity. Returns the eviction records to write ahead of them, so a victim
    /// stays gone after a restart; expired victims need none, as they are skipped at open.
    ///
    /// Evicting before inserting, as cache simulators do, keeps the new entry out of the
    /// choice: under LFU a new entry would otherwise often be its own victim.
    func makeRoom(for records: [PendingRecord]) -> [PendingRecord] {
        guard isBounded else { return [] }
        let maxBytes = settings.capacityBytes ?? .max
        let maxEntries = settings.capacityEntries ?? .max
        let now = clock.now()
        let (victims, bytes, expired) = state.write { s -> ([UInt64], Int, Int) in
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
            var victims: [UInt64] = []
            var bytes = 0
            var expired = 0
            while s.live.liveBytes + addedBytes > maxBytes || s.live.count + addedEntries > maxEntries {
                guard let (entry, wasExpired) = s.live.evictOne(now: now) else { break }
                if pending[entry.keyHash] != nil {
                    // A key about to be rewritten: it was counted as replaced, now it is simply new.
                    addedBytes += Int(entry.length)
                    addedEntries += 1
                }
                if wasExpired {
                    expired += 1
                } else {
                    victims.append(entry.keyHash)
                    bytes += Int(entry.length)
                }
            }
            return (victims, bytes, expired)
        }
        counters.expirations.add(expired, ordering: .relaxed)
        counters.evictions.add(victims.count, ordering: .relaxed)
        counters.evictedBytes.add(bytes, ordering: .relaxed)
        return victims.map { hash in
            PendingRecord(bytes: RecordCoding.eviction(keyHash: hash, at: now, salt: salt), keyHash: hash, kind: .eviction, expiresAt: 0)
        }
    }

    /// Tells the policy about a hit on `entry`, if it is still the live entry of its key.
    func recordHit(_ entry: IndexEntry) {
        guard isBounded, settings.policy.tracksHits else { return }
        state.read { s in
            guard let tracker = s.live.tracker, let slot = s.live.index.slot(of: entry.keyHash),
                  s.live.index[slot] == entry
            else { return }
            tracker.accessed(slot)
        }
    }

    /// Saves the policy's order next to the index files, for the next open.
    func savePolicyState() throws(CacheError) {
        let snapshot = state.read { s in s.live.tracker?.snapshot(index: s.live.index) }
        guard let snapshot else { return }
        try dir.writeAtomically(PolicySnapshot.fileName, snapshot.encoded())
    }

    /// Bytes of policy state per live entry; 0 for an unbounded store.
    var policyBytesPerEntry: Double {
        state.read { s in s.live.tracker?.metadataBytesPerEntry(liveEntries: s.live.count) ?? 0 }
    }
}
