/// A record encoded and ready to append, with what the index needs to know of it.
struct PendingRecord {
    var bytes: [UInt8]
    var keyHash: UInt64
    var kind: RecordKind
    var expiresAt: Int64
}

/// The log: the segment files in manifest order, the active segment that records are appended
/// to, and the manifest that names them.
///
/// The only writer of segment files and of the manifest. Its state (``LogState``) is behind
/// one mutex, and changing the files also takes the append mutex in `SHARED`, which
/// serializes writers across processes: ``exclusively(_:)`` takes both, catches up with other
/// processes first so that records go at the true end of the log, and announces the change
/// in `SHARED` before it lets the append mutex go.
final class SegmentLog: Sendable {
    /// What the log's operations need and never change.
    let context: LogContext
    let locks: StoreLocks
    /// Brings this handle's view of the files up to date with other processes'.
    let follower: Follower
    private let state: Lock<LogState>

    var dir: Directory { context.dir }
    /// The store's record salt, which never changes.
    let salt: RecordSalt
    var shared: SharedCounters { context.shared }

    init(context: LogContext, locks: StoreLocks, follower: Follower, active: ActiveSegment, manifest: Manifest) {
        self.context = context
        self.locks = locks
        self.follower = follower
        salt = manifest.salt
        state = Lock(LogState(context: context, active: active, manifest: manifest))
    }

    /// Runs `body` holding the log's mutex and the append mutex, after catching up with
    /// other processes; announces the change to them afterwards if the log or the manifest
    /// changed, even when `body` failed part-way.
    func exclusively<R>(_ body: (inout LogState) throws(CacheError) -> R) throws(CacheError) -> R {
        try state.withLock { w throws(CacheError) -> R in
            guard !w.closed else { throw .closed }
            let asked = ContinuousClock.now
            try context.shared.lockAppend()
            defer { context.shared.unlockAppend() }
            let locked = ContinuousClock.now
            context.events.waitedForAppendLock(locked - asked)
            try follower.catchUp(&w, holdingAppendLock: true)
            context.events.caughtUp(ContinuousClock.now - locked)
            let before = (w.active.segment.id, w.active.length, w.manifest.generation)
            w.appendedKeys.removeAll(keepingCapacity: true)
            defer {
                if (w.active.segment.id, w.active.length, w.manifest.generation) != before {
                    let end = (segment: w.active.segment.id, length: w.active.length)
                    follower.saw(sequence: context.shared.announce(keyHashes: w.appendedKeys, end: end),
                                 generation: w.generationHint)
                }
                if w.appendedKeys.capacity > 4096 { w.appendedKeys = [] }
            }
            return try body(&w)
        }
    }

    /// Catches up with other processes' changes, holding only the mutex: what a reader does
    /// when ``Follower`` says it is behind.
    func catchUp() throws(CacheError) {
        try state.withLock { w throws(CacheError) in
            guard !w.closed else { throw .closed }
            let started = ContinuousClock.now
            try follower.catchUp(&w, holdingAppendLock: false)
            context.events.caughtUp(ContinuousClock.now - started)
        }
    }

    /// ``catchUp()`` when another process has changed the store since this handle last looked.
    func catchUpIfBehind() throws(CacheError) {
        if follower.isBehind { try catchUp() }
    }

    /// Runs `body` with the manifest under the mutex: the manifest and the index change
    /// together under it (an append's roll, a catch-up, a compaction's publish), so what
    /// `body` reads of the index agrees with the manifest it is given.
    func withManifest<R>(_ body: (Manifest) throws(CacheError) -> R) throws(CacheError) -> R {
        try state.withLock { w throws(CacheError) -> R in
            guard !w.closed else { throw .closed }
            return try body(w.manifest)
        }
    }

    /// The manifest this handle last read or published.
    var manifest: Manifest { state.withLock { $0.manifest } }

    /// Hands out a segment number for a file that a manifest will name later (a compaction's
    /// output), by publishing a manifest whose next number is past it: no other process can
    /// then create a segment with that number.
    func allocateSegmentID() throws(CacheError) -> UInt32 {
        try exclusively { w throws(CacheError) -> UInt32 in
            let id = w.manifest.nextSegmentID
            guard id < Limits.segmentIDLimit else {
                throw .corruptStore(path: context.dir.path, detail: "segment numbers are exhausted")
            }
            var next = w.manifest
            next.nextSegmentID = id + 1
            next.generation += 1
            try w.publish(next)
            return id
        }
    }

    // MARK: Durability and closing

    /// Forces every record written so far to the disk.
    func flush() throws(CacheError) {
        try state.withLock { w throws(CacheError) in
            guard !w.closed else { throw .closed }
            try w.sync()
        }
    }

    /// Syncs the active segment if anything was written since the last sync (group commit).
    func syncIfDirty() {
        state.withLock { w in
            guard !w.closed, w.needsSync else { return }
            try? w.sync()
        }
    }

    /// Syncs, catches up under the append mutex, runs `beforeClosing` (which saves what the
    /// next open reads), writes the active segment's index file so the next open need not
    /// scan it, and closes the log. Closed even when a step fails, which is returned with
    /// whether the log was open until now.
    func close(_ beforeClosing: () throws(CacheError) -> Void) -> (wasOpen: Bool, failure: CacheError?) {
        var failure: CacheError?
        let wasOpen = state.withLock { w -> Bool in
            guard !w.closed else { return false }
            do throws(CacheError) {
                try w.sync()
                // Under the append mutex: other processes write these files too, and the active
                // segment may have moved on since this handle last looked.
                try context.shared.lockAppend()
                defer { context.shared.unlockAppend() }
                try follower.catchUp(&w, holdingAppendLock: true)
                try beforeClosing()
                try context.dir.writeAtomically(Segment.indexFileName(w.active.segment.id), try w.active.indexFile(salt: salt))
            } catch { failure = error }
            w.closed = true
            return true
        }
        return (wasOpen, failure)
    }
}

/// What the log's operations need and never change (the store's salt is the manifest's).
struct LogContext: Sendable {
    let dir: Directory
    /// The active segment is sealed once a record would take it past this many bytes.
    let segmentSize: Int
    let durability: Durability
    /// The counters shared with other processes through the `SHARED` file.
    let shared: SharedCounters
    /// Where slow lock waits and catch-ups are told.
    let events: StoreEvents
}
