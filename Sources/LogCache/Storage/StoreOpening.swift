#if canImport(Glibc)
import Glibc
#endif

/// Opening a store: creating it when new, reading the manifest, rebuilding the index from
/// index files (scanning segments whose index file is missing, stale or damaged), cutting
/// a torn tail off the active segment and removing files a crash left behind.
enum StoreOpening {
    /// The name of the lock file inside the store directory.
    static let lockFileName = "LOCK"

    /// Everything a `CacheStore` starts from.
    struct Opened {
        var directory: Directory
        var lock: FileLock
        var manifest: Manifest
        var active: ActiveSegment
        var live: LiveSet
        var segments: [UInt32: Segment]
        var diskBytes: Int
        var tornRecords: Int
        var corruptRecords: Int
    }

    static func open(directory path: String, options: Options) throws(CacheError) -> Opened {
        let settings = try options.storeSettings()
        let dir = try Directory.openOrCreate(path)
        let names = try dir.names()
        let isStore = names.contains(Manifest.fileName)
        if !isStore, names.contains(where: { $0 != lockFileName && !$0.hasSuffix(".tmp") }) {
            throw .notAStore(path: path)
        }
        let lock = try FileLock(path: dir.path(lockFileName))
        guard try lock.tryLockExclusive() else { throw .locked(path: path) }
        let manifest: Manifest
        if isStore {
            manifest = try readManifest(dir)
        } else {
            manifest = Manifest(generation: 1, nextSegmentID: 2, settings: settings, segments: [1])
            try dir.writeAtomically(Manifest.fileName, manifest.encoded())
        }
        var loader = Loader(dir: dir, now: options.clock.now())
        for (i, id) in manifest.segments.enumerated() {
            try loader.load(segment: id, active: i == manifest.segments.count - 1)
        }
        try removeLeftovers(dir, names: try dir.names(), manifest: manifest)
        loader.live.shrinkToFit()
        guard let active = loader.active else {
            throw .corruptStore(path: path, detail: "the manifest names no active segment")
        }
        return Opened(
            directory: dir, lock: lock, manifest: manifest, active: active, live: loader.live,
            segments: loader.segments, diskBytes: loader.diskBytes,
            tornRecords: loader.tornRecords, corruptRecords: loader.corruptRecords)
    }

    static func readManifest(_ dir: Directory) throws(CacheError) -> Manifest {
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
                try dir.remove(name)
            }
        }
    }

    /// Builds the index segment by segment, oldest first, so later records override earlier ones.
    private struct Loader {
        let dir: Directory
        let now: Int64
        var live = LiveSet()
        var segments: [UInt32: Segment] = [:]
        var active: ActiveSegment?
        var diskBytes = 0
        var tornRecords = 0
        var corruptRecords = 0

        init(dir: Directory, now: Int64) {
            self.dir = dir
            self.now = now
        }

        mutating func load(segment id: UInt32, active isActive: Bool) throws(CacheError) {
            let path = dir.path(Segment.fileName(id))
            let file: File
            do {
                file = try File.open(path, flags: isActive ? O_RDWR | O_CREAT : O_RDONLY)
            } catch .io(_, _, ENOENT) {
                // A sealed segment gone missing: its records are lost, the rest of the store is not.
                corruptRecords += 1
                return
            }
            var length = try file.size()
            if length < SegmentHeader.size {
                // Only the active segment can be this short: created, and cut off before its
                // header reached the disk. Nothing was written to it yet.
                guard isActive else { throw .corruptStore(path: path, detail: "segment is shorter than its header") }
                try file.write(SegmentHeader(segmentID: id).encoded(), at: 0)
                try file.truncate(to: SegmentHeader.size)
                length = SegmentHeader.size
            }
            let header = try file.read(count: SegmentHeader.size, at: 0)
            if let h = header.withUnsafeBytes({ SegmentHeader.decode($0) }) {
                guard h.formatVersion == FormatVersion.current else {
                    throw .incompatibleFormat(path: path, found: h.formatVersion, supported: FormatVersion.current)
                }
                guard h.segmentID == id else {
                    throw .corruptStore(path: path, detail: "file holds segment \(h.segmentID), not \(id)")
                }
            } else {
                corruptRecords += 1
            }
            let segment = Segment(id: id, file: file)
            segments[id] = segment

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
                let outcome = try segment.scan(from: scanFrom, length: length) { e in
                    apply(e, segment: id)
                    e.encode(into: &scanned)
                }
                corruptRecords += outcome.damaged.count
                validEnd = outcome.validEnd
                if outcome.tornBytes > 0 {
                    tornRecords += 1
                    // Only the active segment is cut: sealed segments never change.
                    if isActive { try file.truncate(to: validEnd) }
                }
                if !isActive {
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

        /// Applies one record, in log order, to the index.
        private mutating func apply(_ e: IndexFileEntry, segment: UInt32) {
            switch e.kind {
            case .value where e.expiresAt == 0 || e.expiresAt > now:
                let entry = IndexEntry(keyHash: e.keyHash, segment: segment, offset: e.offset, length: e.length,
                                       expiresAt: e.expiresAt)
                live.put(entry, expiresAt: e.expiresAt)
            case .value, .tombstone, .eviction:
                // A tombstone, or a newer value that has already expired, hides every older value.
                live.remove(hash: e.keyHash)
            }
        }
    }
}
