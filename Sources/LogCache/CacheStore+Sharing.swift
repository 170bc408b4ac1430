#if canImport(Glibc)
import Glibc
#endif

/// Sharing a store with other processes: each keeps its own index and brings it up to date
/// from the files when the shared change counter says someone else has written.
///
/// Writers append under the `APPEND` lock after catching up, so every process appends at the
/// true end of the log, makes room for its records knowing every live entry, and publishes
/// manifests that build on the latest one. Readers compare one shared counter with the value
/// they last saw; only when it moved do they read the new tail of the log (and the manifest,
/// when its generation moved).
extension CacheStore {
    /// Runs `body` holding the writer lock and the append lock, after catching up with
    /// other processes; announces the change to them afterwards if the log or the manifest
    /// changed, even when `body` failed part-way.
    func exclusively<R>(_ body: (inout WriterState) throws(CacheError) -> R) throws(CacheError) -> R {
        try writer.withLock { w throws(CacheError) -> R in
            guard !w.closed else { throw .closed }
            try locks.append.lockExclusive()
            defer { locks.append.unlock() }
            try catchUp(&w, holdingAppendLock: true)
            let before = (w.active.segment.id, w.active.length, w.manifest.generation)
            w.appendedKeys.removeAll(keepingCapacity: true)
            defer {
                if (w.active.segment.id, w.active.length, w.manifest.generation) != before {
                    let end = (segment: w.active.segment.id, length: w.active.length)
                    seenSequence.store(shared.announce(keyHashes: w.appendedKeys, end: end), ordering: .releasing)
                }
                if w.appendedKeys.capacity > 4096 { w.appendedKeys = [] }
            }
            return try body(&w)
        }
    }

    /// Catches up before a lookup of one key, only when another process's changes may touch
    /// it: when one wrote a key of the same bucket (SharedCounters), or segments came or went
    /// (a roll, a compaction, `removeAll`). Otherwise this handle's index already answers for
    /// the key as the files do, and the catch-up waits for a lookup that needs it, or a write.
    func catchUpIfNeeded(forKey hash: UInt64) throws(CacheError) {
        let seen = seenSequence.load(ordering: .acquiring)
        guard shared.sequence != seen else { return }
        if shared.lastChange(ofKey: hash) <= seen, shared.generation == seenGeneration.load(ordering: .acquiring) {
            return
        }
        try catchUpIfNeeded()
    }

    /// Catches up when another process has changed the store since this handle last looked.
    func catchUpIfNeeded() throws(CacheError) {
        guard shared.sequence != seenSequence.load(ordering: .acquiring) else { return }
        try writer.withLock { w throws(CacheError) in
            guard !w.closed else { throw .closed }
            try catchUp(&w, holdingAppendLock: false)
        }
    }

    /// Replaces the manifest with `next`: the shared hint first, so that it is never behind
    /// the file, then the file. This handle's own hint and manifest move only once the rename
    /// is done: a handle that took a failed write for published would skip reading the
    /// manifest another process publishes next under the same generation, and keep writing
    /// into a segment that everyone else has sealed.
    func publishManifest(_ next: Manifest, _ w: inout WriterState) throws(CacheError) {
        shared.intend(generation: next.generation)
        do {
            try dir.writeAtomically(Manifest.fileName, next.encoded())
        } catch {
            settleFailedPublish(&w)
            throw error
        }
        w.manifest = next
        w.generationHint = next.generation
        w.manifestInDoubt = false
        seenGeneration.store(next.generation, ordering: .releasing)
    }

    /// After a failed manifest write, with the append lock still held: only the file says
    /// whether the rename happened (a failed fsync of the directory comes after it).
    private func settleFailedPublish(_ w: inout WriterState) {
        if let onDisk = try? StoreOpening.readManifest(dir), onDisk == w.manifest {
            // Nothing changed: take the announcement back, so that no process waits for a
            // manifest that is not coming, and the next one published is read by everyone.
            shared.intend(generation: w.manifest.generation)
            w.generationHint = w.manifest.generation
        } else {
            // The new manifest is in place, or the file cannot be read: the shared hint stays
            // ahead (which makes other processes read the file), and this handle reads it at
            // its next catch-up whatever the hint says.
            w.manifestInDoubt = true
        }
    }

    /// Brings the index up to what the files hold: a newer manifest, then records appended
    /// to the active segment beyond what this handle has seen.
    ///
    /// With the append lock held nobody else is writing, so the active segment's length is
    /// final: it is read even when the counter did not move (a writer killed before its
    /// announcement), and bytes after the last good record, a killed writer's torn append,
    /// are cut so the next record follows a good one.
    ///
    /// Under the append lock it also announces the records at the end of the active segment
    /// that nobody announced (a writer killed between its append and its announcement), so
    /// that handles which had caught up before they were written read them too.
    func catchUp(_ w: inout WriterState, holdingAppendLock locked: Bool) throws(CacheError) {
        let sequence = shared.sequence
        let moved = sequence != seenSequence.load(ordering: .acquiring)
        guard moved || locked || w.manifestInDoubt else { return }
        let hint = shared.generation
        if hint != w.generationHint || w.manifestInDoubt {
            let manifest = try StoreOpening.readManifest(dir)
            // Compared whole, not by generation: a generation says which manifest came later,
            // not that two manifests are the same one.
            if manifest != w.manifest { try adopt(manifest, &w) }
            w.manifestInDoubt = false
            if manifest.generation >= hint {
                w.generationHint = hint
            } else if locked {
                // The hint is ahead of the file and nobody can be publishing: its writer died
                // between the two. Set it back so that nobody keeps rereading the manifest.
                shared.intend(generation: manifest.generation)
                w.generationHint = manifest.generation
            }
            // Otherwise a manifest is being published right now: look again next time.
        }
        try readActiveTail(&w, cutTornBytes: locked)
        var seen = sequence
        if locked, let keys = try shared.keysPastAnnouncedEnd(of: w.active, salt: salt) {
            seen = shared.announce(keyHashes: keys, end: (w.active.segment.id, w.active.length))
        }
        seenGeneration.store(w.generationHint, ordering: .releasing)
        seenSequence.store(seen, ordering: .releasing)
    }

    /// Applies the records past what this handle has read of its active segment, up to the
    /// file's end; with `cutTornBytes` (only under the append lock) bytes after the last good
    /// record are cut.
    private func readActiveTail(_ w: inout WriterState, cutTornBytes: Bool) throws(CacheError) {
        let end = try w.active.segment.file.size()
        guard end > w.active.length else { return }
        let segment = w.active.segment
        let start = w.active.length
        let validEnd = try withLoader { loader throws(CacheError) in try loader.loadTail(of: segment, from: start, to: end) }
        w.active.length = validEnd
        if cutTornBytes && validEnd < end { w.active.length = try segment.cutTornTail(at: validEnd, salt: salt) }
    }

    /// Runs `body` with a loader that applies records to this handle's index in place (under
    /// the index's write lock), then keeps the segments it opened and the bytes it counted.
    private func withLoader<R>(_ body: (inout StoreOpening.Loader) throws(CacheError) -> R) throws(CacheError) -> R {
        try state.write { s throws(CacheError) -> R in
            var loader = StoreOpening.Loader(dir: dir, now: clock.now(), repair: false, salt: salt)
            swap(&loader.live, &s.live)
            defer {
                swap(&loader.live, &s.live)
                s.diskBytes += loader.diskBytes
                for (id, segment) in loader.segments { s.segments[id] = segment }
            }
            return try body(&loader)
        }
    }

    /// Moves to a manifest another process published.
    ///
    /// When it only adds segments after the ones this handle knows (the active segment was
    /// sealed and new ones begun), the rest of the old active segment and the new segments
    /// are read in log order. When it removed segments (a compaction or `removeAll`), the
    /// index is rebuilt from the new set, keeping the policy's order by key.
    private func adopt(_ manifest: Manifest, _ w: inout WriterState) throws(CacheError) {
        let known = w.manifest.segments
        if manifest.segments.count >= known.count, manifest.segments.starts(with: known) {
            // The old active segment is sealed now: its length is final.
            try readActiveTail(&w, cutTornBytes: false)
            let added = Array(manifest.segments.dropFirst(known.count))
            if !added.isEmpty {
                do throws(CacheError) {
                    try appendSegments(added, &w)
                } catch .io(_, _, ENOENT) {
                    // A new segment was already replaced by a compaction: start from its manifest.
                    return try reload(&w)
                }
            }
            w.manifest = manifest
        } else {
            try reload(&w)
        }
    }

    /// Loads segments that follow the known ones; the last becomes the active segment.
    private func appendSegments(_ ids: [UInt32], _ w: inout WriterState) throws(CacheError) {
        let newActive = try withLoader { loader throws(CacheError) -> ActiveSegment? in
            for (i, id) in ids.enumerated() { try loader.load(segment: id, active: i == ids.count - 1) }
            return loader.active
        }
        if let newActive { w.active = newActive }
    }

    /// Rebuilds the index from the current manifest, retrying while compactions in other
    /// processes replace files under it. Readers keep using the old index and segments
    /// (whose open files stay readable) until the new ones are swapped in.
    private func reload(_ w: inout WriterState) throws(CacheError) {
        var attempts = 0
        while true {
            attempts += 1
            let manifest = try StoreOpening.readManifest(dir)
            var loader = StoreOpening.Loader(dir: dir, now: clock.now(), repair: false, salt: salt)
            do throws(CacheError) {
                // Reuse the files already open, so that a segment removed meanwhile still reads.
                let open = state.read { $0.segments }
                for (i, id) in manifest.segments.enumerated() {
                    let isActive = i == manifest.segments.count - 1
                    if let segment = open[id] {
                        try loader.load(segment: id, file: segment.file, active: isActive)
                    } else {
                        try loader.load(segment: id, active: isActive)
                    }
                }
            } catch .io(let op, let path, ENOENT) {
                guard attempts < 100 else { throw .io(operation: op, path: path, errno: ENOENT) }
                continue
            }
            guard let active = loader.active else {
                throw .corruptStore(path: directory, detail: "the manifest names no active segment")
            }
            var live = loader.live
            live.shrinkToFit()
            try adoptPolicy(into: &live, manifest: manifest)
            state.write { s in
                s.live = live
                s.segments = loader.segments
                s.diskBytes = loader.diskBytes
            }
            w.active = active
            w.manifest = manifest
            return
        }
    }

    /// Gives a rebuilt index the eviction policy of the current one: its order by key hash,
    /// then log order for keys it did not know.
    private func adoptPolicy(into live: inout LiveSet, manifest: Manifest) throws(CacheError) {
        guard isBounded else { return }
        let snapshot = state.read { s in s.live.tracker?.snapshot(index: s.live.index) }
        live.tracker = makeTracker(for: live.index, manifest: manifest, snapshot: snapshot)
    }
}
