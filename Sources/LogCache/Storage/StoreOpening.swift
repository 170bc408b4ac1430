#if canImport(Glibc)
import Glibc
#endif

/// Opening a store: creating it when new, reading the manifest (converting a store of an
/// earlier format), recovering the index (``IndexLoader/recover(segment:active:)``) and
/// removing files a crash left behind.
enum StoreOpening {
    /// The name of the lock file every open handle holds shared (fsck and repair take it
    /// exclusively, so they never run beside an open store).
    static let lockFileName = "LOCK"
    /// Files of the store that are neither segments, index files nor the manifest.
    static let controlFiles: Set<String> = [
        lockFileName, StoreLocks.appendFileName, StoreLocks.compactFileName, SharedCounters.fileName,
        PolicySnapshot.fileName, "memo-locks", TraceRecorder.directoryName,
    ]

    /// Everything a `CacheStore` starts from.
    struct Opened {
        var locks: StoreLocks
        var counters: SharedCounters
        var manifest: Manifest
        /// The index recovered, the segments opened and what was found damaged (by the
        /// conversion of an older format too).
        var loaded: IndexLoader
        /// The segment records are appended to.
        var active: ActiveSegment
        /// The shared change counter as it was when loading ended.
        var sequence: UInt64
    }

    static func open(directory path: String, options: Options) throws(CacheError) -> Opened {
        let settings = try options.storeSettings()
        let dir = try Directory.openOrCreate(path)
        if !options.allowNetworkFileSystem { try FileSystemCheck.requireLocal(path) }
        // Refuse a directory of other files before creating any file of ours in it.
        let present = try dir.names()
        if !present.contains(Manifest.fileName),
           present.contains(where: { !controlFiles.contains($0) && !$0.hasSuffix(".tmp") }) {
            throw .notAStore(path: path)
        }
        let locks = try StoreLocks(dir)
        guard try locks.open.tryLockShared() else { throw .locked(path: path) }
        do throws(CacheError) {
            // The `APPEND` flock serializes opens, which create and set up `SHARED`, and keeps
            // out the handles of builds before the append mutex (they take it to append).
            try locks.append.lockExclusive()
            defer { locks.append.unlock() }
            let counters = try SharedCounters(directory: dir)
            // A store of an earlier version, and a page of the older layout, belong to an older
            // build's handles: with none open, the page is set up anew (below) and the store
            // converted holding `LOCK`, and the `APPEND` flock keeps any older build's open
            // out in between, so none can write its counters over the mutex.
            let existing = try dir.names().contains(Manifest.fileName) ? try readManifest(dir, allowingOlder: true) : nil
            // With no other handle open anywhere, nobody is using the page, and it may hold
            // what no live process will ever undo: an append mutex locked in a copy of a store
            // in use, or written back mid-hold by a machine that then crashed. Its holder's
            // thread is unknown to this system's kernel, so no robust-mutex cleanup will come;
            // locking it would wait for ever. The page holds only hints, so it is set up anew.
            if try hasStoreToItself(dir, locks: locks) {
                try counters.reinitialize()
            }
            var converted: FormatConversion.Outcome?
            if let older = existing, older.formatVersion != FormatVersion.current {
                converted = try withStoreToItself(dir, locks: locks, found: older.formatVersion) { () throws(CacheError) in
                    try FormatConversion.convert(dir, from: older, counters: counters)
                }
            } else if !counters.isCurrentLayout {
                // Alone, the page was just set up anew: an older build's handles are using it.
                throw .incompatibleFormat(path: dir.path, found: FormatVersion.current - 1, supported: FormatVersion.current)
            }
            // Loading holds the append mutex: no process appends or publishes a manifest
            // meanwhile, so a torn tail found now is a dead writer's and can be cut.
            try counters.lockAppend()
            defer { counters.unlockAppend() }
            var manifest: Manifest
            if let converted {
                manifest = converted.manifest
            } else if existing != nil {
                manifest = try readManifest(dir)
            } else {
                manifest = Manifest(generation: 1, nextSegmentID: 2, settings: settings, segments: [1], salt: .random())
                counters.intend(generation: manifest.generation)
                try dir.writeAtomically(Manifest.fileName, manifest.encoded())
            }
            // A process killed between announcing a manifest and writing it leaves the hint
            // ahead of the file; set it right while nobody can publish.
            counters.intend(generation: manifest.generation)
            var loader = IndexLoader(dir: dir, now: options.clock.now(), salt: manifest.salt)
            loader.live.reserve(entryBound(dir, segments: manifest.segments))
            for (i, id) in manifest.segments.enumerated() {
                try loader.recover(segment: id, active: i == manifest.segments.count - 1)
            }
            // Files no manifest names are leftovers of a crash, unless a compaction in another
            // process is writing them right now: only remove them when none runs.
            if try locks.compact.tryLockExclusive() {
                defer { locks.compact.unlock() }
                try removeLeftovers(dir, names: try dir.names(), manifest: manifest)
            }
            loader.live.shrinkToFit()
            guard let active = loader.active else {
                throw .corruptStore(path: path, detail: "the manifest names no active segment")
            }
            loader.tornRecords += converted?.tornRecords ?? 0
            loader.corruptRecords += converted?.corruptRecords ?? 0
            // Records a killed writer appended but never announced are announced now, so
            // that handles which had caught up before they were written read them too.
            let unannounced = try counters.keysPastAnnouncedEnd(of: active, salt: manifest.salt) ?? []
            let sequence = counters.announce(keyHashes: unannounced, end: (active.segment.id, active.length))
            // The active segment was checked whole just now.
            counters.tailInDoubt = false
            return Opened(locks: locks, counters: counters, manifest: manifest, loaded: loader, active: active,
                          sequence: sequence)
        } catch {
            locks.open.unlock()
            throw error
        }
    }

    /// Runs `body` holding the open lock exclusively (no handle of an older build may be
    /// using the store's files meanwhile), then shared again like any handle's; refused as a
    /// store of format version `found` that this build converts once no other process has it
    /// open.
    /// Whether no other handle, in any process, has the store open: `LOCK` can be taken
    /// exclusively. The shared hold this handle had is taken again before returning; a
    /// conversion of the lock that fails may drop it, and if it cannot be had back an
    /// exclusive holder (fsck, repair) has come in meanwhile.
    private static func hasStoreToItself(_ dir: Directory, locks: StoreLocks) throws(CacheError) -> Bool {
        let alone = try locks.open.tryLockExclusive()
        guard try locks.open.tryLockShared() else { throw .locked(path: dir.path) }
        return alone
    }

    private static func withStoreToItself<R>(
        _ dir: Directory, locks: StoreLocks, found: UInt32, _ body: () throws(CacheError) -> R
    ) throws(CacheError) -> R {
        // flock converts a shared lock in place; a failed attempt may leave none held.
        guard try locks.open.tryLockExclusive() else {
            _ = try locks.open.tryLockShared()
            throw .incompatibleFormat(path: dir.path, found: found, supported: FormatVersion.current)
        }
        defer { _ = try? locks.open.tryLockShared() }
        return try body()
    }

    /// Reads and checks the manifest; one of an earlier format version is refused unless
    /// `allowingOlder` (opening, which converts it).
    static func readManifest(_ dir: Directory, allowingOlder: Bool = false) throws(CacheError) -> Manifest {
        let path = dir.path(Manifest.fileName)
        let file = try File.open(path, flags: O_RDONLY)
        // The length is checked before anything is allocated for it: a hostile or damaged
        // manifest may claim (or, sparse, be) any size.
        let size = try file.size()
        guard size <= Manifest.maxFileLength else {
            throw .corruptStore(path: path, detail: "the manifest is \(size) bytes long, more than any manifest can be")
        }
        let bytes = try file.read(count: size, at: 0)
        switch bytes.withUnsafeBytes({ Manifest.decode($0) }) {
        case .success(let m):
            guard m.formatVersion == FormatVersion.current || allowingOlder else {
                throw .incompatibleFormat(path: dir.path, found: m.formatVersion, supported: FormatVersion.current)
            }
            return m
        case .failure(.unsupportedVersion(let v)):
            throw .incompatibleFormat(path: dir.path, found: v, supported: FormatVersion.current)
        case .failure(let defect):
            throw .corruptStore(path: path, detail: defect.description)
        }
    }

    /// How many records the index files of `segments` list at most, from the files' sizes
    /// alone: what the index is sized for before loading, so that it does not grow by
    /// doubling on the way. A bound, not a count (rewritten and removed keys are in it), and
    /// never more than the segment files could hold, whatever an index file's size says.
    private static func entryBound(_ dir: Directory, segments: [UInt32]) -> Int {
        var bound = 0
        for id in segments {
            guard let indexBytes = dir.fileSize(Segment.indexFileName(id)),
                  let segmentBytes = dir.fileSize(Segment.fileName(id)) else { continue }
            let listed = max(0, indexBytes - IndexFile.headerSize - 4) / IndexFileEntry.size
            bound += min(listed, max(0, segmentBytes - SegmentHeader.size) / RecordHeader.size)
        }
        return min(bound, Int(UInt32.max) - 1)
    }

    /// Removes segment and index files the manifest does not name (left by a crash between
    /// creating a segment and publishing it) and temporary files of interrupted atomic writes.
    private static func removeLeftovers(_ dir: Directory, names: [String], manifest: Manifest) throws(CacheError) {
        let live = Set(manifest.segments)
        for name in names {
            let id = Segment.id(inFileName: name, suffix: ".seg") ?? Segment.id(inFileName: name, suffix: ".idx")
            if name.hasSuffix(".tmp") ? !PendingSeal.isLiveSealTemporary(name) : (id.map { !live.contains($0) } ?? false) {
                try dir.removeLeftover(name)
            }
        }
    }
}
