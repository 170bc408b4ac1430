#if canImport(Glibc)
import Glibc
#endif

import Synchronization

/// What this handle has seen of other processes' changes, and the catch-up that brings its
/// index and log state up to what the files hold.
///
/// Each process keeps its own index. A reader compares the shared change counter with the
/// value it last saw, a single load, and only when it moved (and touches the key wanted, or
/// segments came or went) does it read the new tail of the log, and the manifest when its
/// generation moved. Writers always catch up first, under the append mutex.
final class Follower: Sendable {
    let shared: SharedCounters
    let index: StoreIndex
    let clock: any CacheClock
    /// The handle's hot values: forgotten when this handle finds it read records that were
    /// cut back, whose places may be written again.
    let hot: HotValues
    /// For a rebuilt index's eviction policy.
    let settings: StoreSettings
    /// The shared change counter as of this handle's last look at the files: when the
    /// counter differs, another process has written and reads catch up first.
    private let seenSequence: Atomic<UInt64>
    /// The shared generation hint as of this handle's last catch-up: when it moves, segments
    /// came or went, and every lookup must catch up first.
    private let seenGeneration: Atomic<UInt64>

    init(shared: SharedCounters, index: StoreIndex, hot: HotValues, clock: any CacheClock, settings: StoreSettings,
         sequence: UInt64, generation: UInt64) {
        self.shared = shared
        self.hot = hot
        self.index = index
        self.clock = clock
        self.settings = settings
        seenSequence = Atomic(sequence)
        seenGeneration = Atomic(generation)
    }

    /// Whether a lookup of the key with `hash` must catch up first: only when another
    /// process's changes may touch it, because one wrote a key of the same bucket
    /// (``SharedCounters``) or segments came or went (a roll, a compaction, `removeAll`).
    /// Otherwise this handle's index already answers for the key as the files do, and the
    /// catch-up waits for a lookup that needs it, or a write.
    func isBehind(forKey hash: UInt64) -> Bool {
        let seen = seenSequence.load(ordering: .acquiring)
        guard shared.sequence != seen else { return false }
        return shared.lastChange(ofKey: hash) > seen || shared.generation != seenGeneration.load(ordering: .acquiring)
    }

    /// The change sequence this handle has caught up to.
    var seen: UInt64 { seenSequence.load(ordering: .acquiring) }

    /// Whether another process has changed the store since this handle last looked.
    var isBehind: Bool { shared.sequence != seenSequence.load(ordering: .acquiring) }

    /// Records that this handle's view includes the change announced as `sequence`, under
    /// manifest generation `generation`.
    func saw(sequence: UInt64, generation: UInt64) {
        seenGeneration.store(generation, ordering: .releasing)
        seenSequence.store(sequence, ordering: .releasing)
    }

    /// Brings the index and `w` up to what the files hold: a newer manifest, then records
    /// appended to the active segment beyond what this handle has seen.
    ///
    /// The active segment ends where the last announcement says (``SharedCounters``): every
    /// append announces its end before it lets the append mutex go, so the bytes up to it are
    /// whole, and reading them needs no `fstat`. Under the append mutex with the tail in doubt
    /// (its last holder died), the file itself is asked instead: records past the announced
    /// end are read, bytes after the last good one, a dead writer's torn append, are cut so
    /// the next record follows a good one, and the records nobody announced are announced
    /// now, so that handles which had caught up before they were written read them too.
    func catchUp(_ w: inout LogState, holdingAppendLock locked: Bool) throws(CacheError) {
        let sequence = shared.sequence
        let moved = sequence != seenSequence.load(ordering: .acquiring)
        let inDoubt = locked && shared.tailInDoubt
        guard moved || inDoubt || w.manifestInDoubt else { return }
        let hint = shared.generation
        if hint != w.generationHint || w.manifestInDoubt {
            let manifest = try StoreOpening.readManifest(w.context.dir)
            // Compared whole, not by generation: a generation says which manifest came later,
            // not that two manifests are the same one.
            if manifest != w.manifest { try adopt(manifest, &w, holdingAppendLock: locked) }
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
        let announced = shared.announcedEnd
        if locked, !inDoubt, announced.segment == w.active.segment.id, announced.length < w.active.length {
            // This handle read past the end of the log, records of an append that failed and
            // was cut back (unlocked catch-ups stop at the announced end, but a handle of an
            // earlier release may have written the SHARED file's end otherwise). Appending
            // after them would leave a hole in the log, and their hot values may be found
            // again when the same places are written with the same lengths.
            hot.removeAll()
            try reload(&w, holdingAppendLock: true)
        }
        try readActiveTail(&w, upTo: inDoubt ? .cuttingTornBytes : .announced, holdingAppendLock: locked)
        var seen = sequence
        if inDoubt {
            if let keys = try shared.keysPastAnnouncedEnd(of: w.active, salt: w.salt) {
                seen = shared.announce(keyHashes: keys, end: (w.active.segment.id, w.active.length))
            }
            shared.tailInDoubt = false
        }
        saw(sequence: seen, generation: w.generationHint)
    }

    /// How far a catch-up may read active segment `id`: nil for the file's end.
    ///
    /// Under the append mutex nobody else is writing, and the file's end is the log's (a dead
    /// writer's torn bytes are cut by the caller). Without it, another process may be in the
    /// middle of an append, and one that fails is cut back before its hold ends: the bytes
    /// found now may be gone in a moment, and others written in their place. Only what an
    /// announcement covers stays. So the limit is the announced length when the announcement
    /// names the segment; the file's end when it names a later one (the segment was sealed
    /// since: its length is final); and only the header when it names an earlier one or none
    /// (a writer that began the segment still holds the append mutex: its records are read
    /// once it announces them, or once the next holder announces them if it died,
    /// ``SharedCounters/keysPastAnnouncedEnd(of:salt:)``).
    func readableEnd(of id: UInt32, holdingAppendLock locked: Bool) -> Int? {
        guard !locked else { return nil }
        let announced = shared.announcedEnd
        if announced.segment == id { return announced.length }
        if announced.segment > id { return nil }
        return SegmentHeader.size
    }

    private func loader(_ w: LogState) -> IndexLoader {
        IndexLoader(dir: w.context.dir, now: clock.now(), salt: w.salt)
    }

    /// Where a catch-up reads the active segment to.
    private enum TailEnd {
        /// A live segment: the announced end when it names the segment; otherwise the file's
        /// end under the append mutex, and ``readableEnd(of:holdingAppendLock:)`` without it.
        case announced
        /// The file's end: a segment sealed since (its length is final, and the announcement
        /// may not cover records its writer appended before the roll in the same hold).
        case sealed
        /// The file's end, cutting bytes after the last good record: under the append mutex
        /// with the tail in doubt.
        case cuttingTornBytes
    }

    /// Applies the records past what this handle has read of its active segment, up to `end`.
    private func readActiveTail(_ w: inout LogState, upTo end: TailEnd, holdingAppendLock locked: Bool) throws(CacheError) {
        let id = w.active.segment.id
        let announced = shared.announcedEnd
        let limit = end != .announced ? nil
            : announced.segment == id ? announced.length : readableEnd(of: id, holdingAppendLock: locked)
        let length: Int
        if let limit { length = limit } else { length = try w.active.segment.file.size() }
        guard length > w.active.length else { return }
        let segment = w.active.segment
        let start = w.active.length
        let validEnd = try index.load(with: loader(w)) { l throws(CacheError) in try l.loadTail(of: segment, from: start, to: length) }
        w.active.length = validEnd
        if end == .cuttingTornBytes && validEnd < length { try w.cutTornTail() }
    }

    /// Moves to a manifest another process published.
    ///
    /// When it only adds segments after the ones this handle knows (the active segment was
    /// sealed and new ones begun), the rest of the old active segment and the new segments
    /// are read in log order. When it removed segments (a compaction or `removeAll`), or a
    /// segment it adds was replaced already, the index is rebuilt from the newest manifest,
    /// keeping the policy's order by key.
    private func adopt(_ manifest: Manifest, _ w: inout LogState, holdingAppendLock locked: Bool) throws(CacheError) {
        let known = w.manifest.segments
        guard manifest.segments.count >= known.count, manifest.segments.starts(with: known) else {
            return try reload(&w, holdingAppendLock: locked)
        }
        let added = Array(manifest.segments.dropFirst(known.count))
        // With segments added, the old active segment is sealed: its length is final. Without
        // (a manifest that only hands out a segment number), it is still live, and read no
        // further than a live segment may be.
        try readActiveTail(&w, upTo: added.isEmpty ? .announced : .sealed, holdingAppendLock: locked)
        if !added.isEmpty {
            do throws(FollowError) {
                let newActive = try index.load(with: loader(w)) { l throws(FollowError) -> ActiveSegment? in
                    for (i, id) in added.enumerated() {
                        let isActive = i == added.count - 1
                        try l.follow(segment: id, active: isActive,
                                     limit: isActive ? readableEnd(of: id, holdingAppendLock: locked) : nil)
                    }
                    return l.active
                }
                if let newActive { w.adoptActive(newActive) }
            } catch {
                switch error {
                case .replaced: return try reload(&w, holdingAppendLock: locked)
                case .failed(let error): throw error
                }
            }
        }
        w.manifest = manifest
        index.mapSealedSegments(in: w.context.dir, active: w.active.segment.id)
    }

    /// Rebuilds the index from the current manifest, retrying while compactions in other
    /// processes replace files under it. Readers keep using the old index and segments
    /// (whose open files stay readable) until the new ones are swapped in.
    private func reload(_ w: inout LogState, holdingAppendLock locked: Bool) throws(CacheError) {
        var attempts = 0
        while true {
            attempts += 1
            let manifest = try StoreOpening.readManifest(w.context.dir)
            var l = loader(w)
            // Reuse the files already open, so that a segment removed meanwhile still reads.
            let open = index.segments
            do throws(FollowError) {
                for (i, id) in manifest.segments.enumerated() {
                    let isActive = i == manifest.segments.count - 1
                    try l.follow(segment: id, file: open[id]?.file, active: isActive,
                                 limit: isActive ? readableEnd(of: id, holdingAppendLock: locked) : nil)
                }
            } catch {
                switch error {
                case .replaced(let id):
                    guard attempts < 100 else {
                        throw .io(operation: "open", path: w.context.dir.path(Segment.fileName(id)), errno: ENOENT)
                    }
                    continue
                case .failed(let error):
                    throw error
                }
            }
            guard let active = l.active else {
                throw .corruptStore(path: w.context.dir.path, detail: "the manifest names no active segment")
            }
            var live = l.live
            live.shrinkToFit()
            if settings.isBounded {
                // The policy's order by key hash carries over, then log order for keys it did not know.
                let snapshot = index.policySnapshot()
                live.tracker = EvictionTracker.loaded(for: live.index, settings: settings, manifest: manifest, snapshot: snapshot)
            }
            index.replace(live: live, segments: l.segments, diskBytes: l.diskBytes)
            w.adoptActive(active)
            w.manifest = manifest
            // Segments whose seal finished while they were loaded above.
            index.mapSealedSegments(in: w.context.dir, active: w.active.segment.id)
            return
        }
    }
}
