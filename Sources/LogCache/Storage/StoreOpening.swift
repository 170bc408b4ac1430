#if canImport(Glibc)
import Glibc
#endif

/// Opening a store: creating it when new, reading the manifest, rebuilding the index from
/// index files (scanning segments whose index file is missing, stale or damaged), cutting
/// a torn tail off the active segment and removing files a crash left behind.
enum StoreOpening {
    /// The name of the lock file every open handle holds shared (fsck and repair take it
    /// exclusively, so they never run beside an open store).
    static let lockFileName = "LOCK"
    /// Files of the store that are neither segments, index files nor the manifest.
    static let controlFiles: Set<String> = [
        lockFileName, StoreLocks.appendFileName, StoreLocks.compactFileName, SharedCounters.fileName,
        PolicySnapshot.fileName, "memo-locks",
    ]

    /// Everything a `CacheStore` starts from.
    struct Opened {
        var directory: Directory
        var locks: StoreLocks
        var counters: SharedCounters
        var manifest: Manifest
        var active: ActiveSegment
        var live: LiveSet
        var segments: [UInt32: Segment]
        var diskBytes: Int
        var tornRecords: Int
        var corruptRecords: Int
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
            // Loading holds the append lock: no process appends or publishes a manifest
            // meanwhile, so a torn tail found now is a dead writer's and can be cut.
            try locks.append.lockExclusive()
            defer { locks.append.unlock() }
            let counters = try SharedCounters(directory: dir)
            var manifest: Manifest
            var converted: FormatConversion.Outcome?
            if try dir.names().contains(Manifest.fileName) {
                manifest = try readManifest(dir, allowingOlder: true)
            } else {
                manifest = Manifest(generation: 1, nextSegmentID: 2, settings: settings, segments: [1], salt: .random())
                counters.intend(generation: manifest.generation)
                try dir.writeAtomically(Manifest.fileName, manifest.encoded())
            }
            if manifest.formatVersion != FormatVersion.current {
                let outcome = try convert(dir, from: manifest, locks: locks, counters: counters)
                manifest = outcome.manifest
                converted = outcome
            }
            // A process killed between announcing a manifest and writing it leaves the hint
            // ahead of the file; set it right while nobody can publish.
            counters.intend(generation: manifest.generation)
            var loader = Loader(dir: dir, now: options.clock.now(), repair: true, salt: manifest.salt)
            for (i, id) in manifest.segments.enumerated() {
                try loader.load(segment: id, active: i == manifest.segments.count - 1)
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
            return Opened(
                directory: dir, locks: locks, counters: counters, manifest: manifest, active: active,
                live: loader.live, segments: loader.segments, diskBytes: loader.diskBytes,
                tornRecords: loader.tornRecords + (converted?.tornRecords ?? 0),
                corruptRecords: loader.corruptRecords + (converted?.corruptRecords ?? 0),
                // Records a killed writer appended but never announced are announced now, so
                // that handles which had caught up before they were written read them too.
                sequence: counters.announce(keyHashes: try counters.keysPastAnnouncedEnd(of: active, salt: manifest.salt) ?? [],
                                            end: (active.segment.id, active.length)))
        } catch {
            locks.open.unlock()
            throw error
        }
    }

    /// Converts a store of an earlier format version, which needs the store to itself: the
    /// open lock is taken exclusively for the conversion (no handle of an older build may
    /// be reading the old files), then shared again like any handle's.
    private static func convert(
        _ dir: Directory, from old: Manifest, locks: StoreLocks, counters: SharedCounters
    ) throws(CacheError) -> FormatConversion.Outcome {
        // flock converts a shared lock in place; a failed attempt may leave none held.
        guard try locks.open.tryLockExclusive() else {
            _ = try locks.open.tryLockShared()
            throw .incompatibleFormat(path: dir.path, found: old.formatVersion, supported: FormatVersion.current)
        }
        defer { _ = try? locks.open.tryLockShared() }
        return try FormatConversion.convert(dir, from: old, counters: counters)
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

    /// Removes segment and index files the manifest does not name (left by a crash between
    /// creating a segment and publishing it) and temporary files of interrupted atomic writes.
    private static func removeLeftovers(_ dir: Directory, names: [String], manifest: Manifest) throws(CacheError) {
        let live = Set(manifest.segments)
        for name in names {
            let id = Segment.id(inFileName: name, suffix: ".seg") ?? Segment.id(inFileName: name, suffix: ".idx")
            if name.hasSuffix(".tmp") || (id.map { !live.contains($0) } ?? false) {
                try dir.removeLeftover(name)
            }
        }
    }

    /// Builds the index segment by segment, oldest first, so later records override earlier ones.
    ///
    /// With `repair` (at open, under the append lock) it also cuts a torn tail off the active
    /// segment and rewrites missing or stale index files. Without it (catching up with other
    /// processes) it changes no file: a "torn" tail may be another process's append in
    /// progress, and a missing file one that a compaction has just replaced.
    struct Loader {
        let dir: Directory
        let now: Int64
        let repair: Bool
        /// The store's record salt, from its manifest.
        let salt: RecordSalt
        var live = LiveSet()
        var segments: [UInt32: Segment] = [:]
        var active: ActiveSegment?
        var diskBytes = 0
        var tornRecords = 0
        var corruptRecords = 0

        init(dir: Directory, now: Int64, repair: Bool, salt: RecordSalt) {
            self.dir = dir
            self.now = now
            self.repair = repair
            self.salt = salt
        }

        /// Opens a segment file; nil (and counted as damage) when a sealed one is missing at open.
        func openFile(_ id: UInt32, active isActive: Bool) throws(CacheError) -> File? {
            do {
                // Only at open may a missing active segment be created: catching up, a missing
                // one was just replaced (a compaction, removeAll), and creating it would leave a
                // stray file.
                let flags = isActive ? (repair ? O_RDWR | O_CREAT : O_RDWR) : O_RDONLY
                return try File.open(dir.path(Segment.fileName(id)), flags: flags)
            } catch .io(let op, let path, ENOENT) {
                // Catching up: the file was replaced by a compaction since the manifest was read.
                guard repair else { throw .io(operation: op, path: path, errno: ENOENT) }
                // At open, a sealed segment gone missing: its records are lost, the rest are not.
                return nil
            }
        }

        mutating func load(segment id: UInt32, active isActive: Bool) throws(CacheError) {
            guard let file = try openFile(id, active: isActive) else {
                corruptRecords += 1
                return
            }
            try load(segment: id, file: file, active: isActive)
        }

        /// Loads a segment from an open file, from its start.
        mutating func load(segment id: UInt32, file: File, active isActive: Bool) throws(CacheError) {
            let path = dir.path(Segment.fileName(id))
            var length = try file.size()
            if length < SegmentHeader.size {
                // Only the active segment can be this short: created, and cut off before its
                // header reached the disk. Nothing was written to it yet.
                guard isActive else { throw .corruptStore(path: path, detail: "segment is shorter than its header") }
                guard repair else {
                    // Another process is creating it; it holds nothing yet.
                    segments[id] = Segment(id: id, file: file)
                    active = ActiveSegment(segment: Segment(id: id, file: file), length: SegmentHeader.size)
                    return
                }
                try file.write(SegmentHeader(segmentID: id, salt: salt).encoded(), at: 0)
                try file.truncate(to: SegmentHeader.size)
                length = SegmentHeader.size
            }
            let header = try file.read(count: SegmentHeader.size, at: 0)
            switch header.withUnsafeBytes({ SegmentHeader.check($0, segmentID: id, salt: salt) }) {
            case nil:
                break
            case .damaged:
                corruptRecords += 1
            case .formatVersion(let v):
                throw .incompatibleFormat(path: path, found: v, supported: FormatVersion.current)
            case .segment(let other, _):
                throw .corruptStore(path: path, detail: "file holds segment \(other), not \(id)")
            case .salt:
                // Records salted for another store would all fail their checksums, and the
                // active segment would be cut as if torn: refuse the file instead.
                throw .corruptStore(path: path, detail: "segment belongs to another store (its salt is not the manifest's)")
            }
            let segment = Segment(id: id, file: file)
            segments[id] = segment
            try loadRecords(segment, length: length, active: isActive)
        }

        /// Applies the records of a segment whose header has been checked.
        private mutating func loadRecords(_ segment: Segment, length: Int, active isActive: Bool) throws(CacheError) {
            let id = segment.id
            var scanFrom = SegmentHeader.size
            // Entries already listed by a good index file that covers only part of the segment:
            // kept so that a rebuilt index file lists them too.
            var indexed = ByteWriter()
            if let mapped = try? MappedFile(path: dir.path(Segment.indexFileName(id))),
               case .success(let header) = IndexFile.validate(mapped.bytes),
               header.segmentID == id, header.coveredLength <= UInt64(length),
               header.coveredLength >= UInt64(SegmentHeader.size) {
                // Two passes: an impossible entry halfway through makes the whole file unusable
                // (the segment is scanned instead), so nothing is applied before all are checked.
                let keepBytes = header.coveredLength < UInt64(length) && !isActive
                let covered = header.coveredLength
                if case .success = IndexFile.forEachEntry(mapped.bytes, coveredLength: covered, count: header.count, { _ in }) {
                    _ = IndexFile.forEachEntry(mapped.bytes, coveredLength: covered, count: header.count) { e in
                        apply(e, segment: id)
                        if keepBytes { e.encode(into: &indexed) }
                    }
                    scanFrom = Int(header.coveredLength)
                    if !isActive { diskBytes += mapped.bytes.count }
                }
            }
            var validEnd = length
            if scanFrom < length {
                var scanned = ByteWriter()
                let outcome: SegmentScan.Outcome
                if isActive {
                    // Another process may cut the active segment while it is read (catching up
                    // holds no lock): it is never mapped, as pages past a new end raise SIGBUS.
                    outcome = try segment.scanTail(from: scanFrom, to: length, salt: salt) { e in
                        apply(e, segment: id)
                        e.encode(into: &scanned)
                    }
                } else {
                    outcome = try segment.scan(from: scanFrom, length: length, salt: salt) { e in
                        apply(e, segment: id)
                        e.encode(into: &scanned)
                    }
                }
                corruptRecords += outcome.damaged.count
                validEnd = outcome.validEnd
                if outcome.tornBytes > 0 {
                    tornRecords += 1
                    // Only the active segment is cut: sealed segments never change.
                    if isActive && repair { validEnd = try segment.cutTornTail(at: validEnd, salt: salt) }
                }
                if !isActive && repair {
                    // Rebuild the missing or stale index file so the next open need not scan.
                    indexed.append(scanned.bytes)
                    let rebuilt = IndexFile.encode(segmentID: id, coveredLength: UInt64(length), entryBytes: indexed.bytes)
                    try dir.writeAtomically(Segment.indexFileName(id), rebuilt)
                    diskBytes += rebuilt.count
                }
            }
            if isActive {
                active = ActiveSegment(segment: segment, length: validEnd)
                diskBytes += validEnd
            } else {
                diskBytes += length
            }
        }

        /// Applies the records of the active segment in `start ..< end` (appended by other
        /// processes since this one last looked); returns the end of the last good record.
        mutating func loadTail(of segment: Segment, from start: Int, to end: Int) throws(CacheError) -> Int {
            let outcome = try segment.scanTail(from: start, to: end, salt: salt) { e in apply(e, segment: segment.id) }
            corruptRecords += outcome.damaged.count
            diskBytes += outcome.validEnd - start
            return outcome.validEnd
        }

        /// Applies one record, in log order, to the index.
        private mutating func apply(_ e: IndexFileEntry, segment: UInt32) {
            switch e.kind {
            case .value where e.expiresAt == 0 || e.expiresAt > now:
                let entry = IndexEntry(keyHash: e.keyHash, segment: segment, offset: e.offset, length: e.length,
                                       expiresAt: e.expiresAt)
                live.put(entry, expiresAt: e.expiresAt)
            case .value:
                // A newer value that has already expired hides every older value.
                live.remove(hash: e.keyHash)
            case .tombstone, .eviction:
                live.remove(hash: e.keyHash)
                live.addTombstoneBytes(Int(e.length), segment: segment)
            }
        }
    }
}
