#if canImport(Glibc)
import Glibc
#endif

/// What one segment file holds, as read record by record.
struct SegmentFindings {
    var id: UInt32
    /// The last segment of the list: the one a store appends to.
    var active: Bool
    var missing = false
    /// File length in bytes.
    var length = 0
    /// Why the header is not this segment's, if it is not.
    var headerProblem: String?
    /// Every record that passes its checksum, in log order: what an index file must list.
    var records: [IndexFileEntry] = []
    /// Records among `records` whose value does not decompress to its raw length, with their
    /// (checksummed, so trustworthy) keys.
    var undecodable: [(offset: Int, length: Int, key: [UInt8], createdAt: Int64)] = []
    /// Damaged runs between good records.
    var damaged: [SegmentScan.DamagedRange] = []
    /// End of the last good record.
    var validEnd = SegmentHeader.size
    /// Bytes after `validEnd`.
    var tornBytes = 0
    /// Why the index file does not describe the segment, if it does not.
    var indexProblem: String?
    /// Entries of an index file whose checksum is right, even if they disagree with the
    /// segment: they name the key hash of records that are damaged now.
    var indexEntries: [IndexFileEntry] = []

    var fileName: String { Segment.fileName(id) }
    var indexFileName: String { Segment.indexFileName(id) }

    /// Whether the segment must be written anew: anything but a bad tail.
    var needsRewrite: Bool {
        !missing && (headerProblem != nil || !damaged.isEmpty || !undecodable.isEmpty)
    }
}

/// A read-only examination of a store directory: the manifest, every segment it lists (or,
/// without a usable manifest, every segment file present) and every index file.
struct StoreInspection {
    let dir: Directory
    /// The manifest, when it is usable; nil means repair must rebuild it.
    var manifest: Manifest?
    /// The salt the records are checked with: the manifest's, or without a usable manifest
    /// the one most segment headers carry.
    var salt = RecordSalt.versionOne
    var segments: [SegmentFindings] = []
    /// Segment files the manifest does not list.
    var unlistedSegments: [String] = []
    /// Index files of segments not in the list.
    var strayIndexFiles: [String] = []
    /// Files left by an interrupted atomic write.
    var temporaryFiles: [String] = []
    var problems: [FsckReport.Problem] = []

    /// How often a scan reports progress.
    private static let progressStep = 4 << 20

    init(dir: Directory, progress: ((_ done: Int, _ total: Int) -> Void)?) throws(CacheError) {
        self.dir = dir
        let names = try dir.names()
        try readManifest(present: names.contains(Manifest.fileName))
        let presentSegments = names.compactMap { Segment.id(inFileName: $0, suffix: ".seg") }
            .filter { $0 < Limits.segmentIDLimit }.sorted()
        let list = manifest?.segments ?? presentSegments
        if let manifest {
            salt = manifest.salt
        } else {
            salt = try Self.commonSalt(dir, segments: presentSegments)
        }
        let listed = Set(list)
        for name in names.sorted() {
            if name.hasSuffix(".tmp") {
                temporaryFiles.append(name)
                problems.append(.init(file: name, what: "temporary file left by an interrupted write"))
            } else if let id = Segment.id(inFileName: name, suffix: ".seg"), !listed.contains(id) {
                unlistedSegments.append(name)
                problems.append(.init(file: name, what: "segment file is not listed in the manifest"))
            } else if let id = Segment.id(inFileName: name, suffix: ".idx"), !listed.contains(id) {
                strayIndexFiles.append(name)
                problems.append(.init(file: name, what: "index file of a segment the manifest does not list"))
            }
        }
        var total = 0
        for id in list {
            var st = stat()
            if stat(dir.path(Segment.fileName(id)), &st) == 0 { total += Int(st.st_size) }
        }
        var done = 0
        for (i, id) in list.enumerated() {
            var f = SegmentFindings(id: id, active: i == list.count - 1)
            try inspectSegment(&f) { progress?(done + $0, total) }
            inspectIndexFile(&f)
            done += f.length
            progress?(done, total)
            segments.append(f)
        }
    }

    // MARK: Manifest

    /// Reads the manifest; a damaged one is a problem to report, but one of another format
    /// version is a store this build must not touch, so that one throws.
    private mutating func readManifest(present: Bool) throws(CacheError) {
        guard present else { return manifestUnusable("the manifest is missing") }
        do throws(CacheError) {
            // The same checks as an open: the length before anything is read, then the bytes.
            manifest = try StoreOpening.readManifest(dir)
        } catch .incompatibleFormat(let path, let found, let supported) {
            throw .incompatibleFormat(path: path, found: found, supported: supported)
        } catch .corruptStore(_, let detail) {
            manifestUnusable(detail)
        } catch {
            manifestUnusable("cannot be read: \(error)")
        }
    }

    private mutating func manifestUnusable(_ why: String) {
        problems.append(.init(file: Manifest.fileName, what: why))
    }

    /// The salt most segment headers of the current version carry: with the manifest lost,
    /// the store's own salt, unless most of its segments' headers are damaged too. Segments
    /// of an earlier version only make it a store this build must not repair: their records
    /// would all fail a salted check and be taken out.
    private static func commonSalt(_ dir: Directory, segments: [UInt32]) throws(CacheError) -> RecordSalt {
        var votes: [UInt64: Int] = [:]
        var older: UInt32?
        for id in segments {
            guard let file = try? File.open(dir.path(Segment.fileName(id)), flags: O_RDONLY),
                  let bytes = try? file.read(count: SegmentHeader.size, at: 0),
                  let h = bytes.withUnsafeBytes({ SegmentHeader.decode($0) })
            else { continue }
            if FormatVersion.inPlace.contains(h.formatVersion) {
                votes[h.salt.value, default: 0] += 1
            } else if h.formatVersion < FormatVersion.current {
                older = h.formatVersion
            }
        }
        if votes.isEmpty, let older {
            throw .incompatibleFormat(path: dir.path, found: older, supported: FormatVersion.current)
        }
        return votes.max { $0.value < $1.value }.map { RecordSalt($0.key) } ?? .random()
    }

    // MARK: Segments

    private mutating func inspectSegment(_ f: inout SegmentFindings, progress: (Int) -> Void) throws(CacheError) {
        let name = f.fileName
        let file: File
        do {
            file = try File.open(dir.path(name), flags: O_RDONLY)
        } catch .io(_, _, ENOENT) {
            f.missing = true
            problems.append(.init(file: name, what: f.active
                ? "the active segment listed in the manifest is missing"
                : "segment listed in the manifest is missing"))
            return
        }
        f.length = try file.size()
        guard f.length >= SegmentHeader.size else {
            let problem = "segment is \(f.length) bytes long, shorter than its \(SegmentHeader.size)-byte header"
            f.headerProblem = problem
            f.validEnd = f.length
            problems.append(.init(file: name, offset: 0, what: problem))
            return
        }
        let mapped = try MappedFile(file, length: f.length)
        let bytes = mapped.bytes
        let header = UnsafeRawBufferPointer(rebasing: bytes[0..<SegmentHeader.size])
        f.headerProblem = SegmentHeader.check(header, segmentID: f.id, salt: salt)?.description
        if let p = f.headerProblem { problems.append(.init(file: name, offset: 0, what: p)) }

        var records: [IndexFileEntry] = []
        var undecodable = f.undecodable
        var nextReport = Self.progressStep
        // A file longer than 4 GiB (a real segment is at most 1 GiB and one record) is damage
        // past that point.
        let outcome = SegmentScan.scanSegment(bytes, from: SegmentHeader.size, salt: salt) { offset, h, record in
            let key = RecordCoding.key(of: h, in: record)
            records.append(IndexFileEntry(header: h, record: record, offset: offset))
            if h.kind == .value, h.codec != .none,
               RecordReader.value(of: h, in: record) == nil {
                undecodable.append((offset, h.totalLength, [UInt8](key), h.createdAt))
            }
            if offset >= nextReport {
                progress(offset)
                nextReport = offset + Self.progressStep
            }
        }
        f.records = records
        f.undecodable = undecodable
        f.damaged = outcome.damaged
        f.validEnd = outcome.validEnd
        f.tornBytes = outcome.tornBytes
        for d in outcome.damaged {
            problems.append(.init(file: name, offset: d.offset, what: "\(d.length) damaged bytes hold no good record"))
        }
        for u in undecodable {
            problems.append(.init(file: name, offset: u.offset, what: "record value does not decompress to its raw length"))
        }
        if f.tornBytes > 0 {
            problems.append(.init(file: name, offset: outcome.validEnd,
                                  what: "\(f.tornBytes) bytes after the last good record (a torn or garbled tail)"))
        }
    }

    // MARK: Index files

    /// Compares a segment's index file with the records just read: every entry must describe
    /// the good record at its offset, and every good record it covers must be listed.
    private mutating func inspectIndexFile(_ f: inout SegmentFindings) {
        guard !f.missing else { return }
        let name = f.indexFileName
        guard dir.exists(name) else {
            // The active segment's index file is written when the store closes; after a
            // crash it is missing or stale, and opening scans the segment instead.
            if !f.active {
                f.indexProblem = "index file is missing"
                problems.append(.init(file: name, what: "index file is missing"))
            }
            return
        }
        if let problem = indexFileProblem(&f) {
            f.indexProblem = problem
            problems.append(.init(file: name, what: problem))
        }
    }

    private func indexFileProblem(_ f: inout SegmentFindings) -> String? {
        let mapped: MappedFile
        do { mapped = try MappedFile(path: dir.path(f.indexFileName)) } catch { return "cannot be read: \(error)" }
        let header: (segmentID: UInt32, coveredLength: UInt64, count: Int)
        switch IndexFile.validate(mapped.bytes) {
        case .failure(let defect): return defect.description
        case .success(let h): header = h
        }
        guard header.segmentID == f.id else { return "index file is for segment \(header.segmentID)" }
        var entries: [IndexFileEntry] = []
        entries.reserveCapacity(header.count)
        let decoded = IndexFile.forEachEntry(mapped.bytes, coveredLength: header.coveredLength, count: header.count) {
            entries.append($0)
        }
        f.indexEntries = entries
        if case .failure(let defect) = decoded { return defect.description }
        let covered = header.coveredLength
        guard covered >= UInt64(SegmentHeader.size) else { return "index file covers \(covered) bytes, less than the header" }
        guard covered <= UInt64(f.length) else {
            return "index file covers \(covered) bytes but the segment is \(f.length) bytes long"
        }
        if !f.active, covered < UInt64(f.length) {
            return "index file covers only \(covered) of the sealed segment's \(f.length) bytes"
        }
        var good: [UInt32: IndexFileEntry] = [:]
        for r in f.records where UInt64(r.offset) + UInt64(r.length) <= covered { good[r.offset] = r }
        var matched = 0
        var wrong = 0
        var firstWrong: UInt32?
        var previous: UInt32?
        for e in entries {
            if good[e.offset] == e, previous.map({ $0 < e.offset }) ?? true {
                matched += 1
            } else {
                wrong += 1
                if firstWrong == nil { firstWrong = e.offset }
            }
            previous = e.offset
        }
        let unlisted = good.count - matched
        guard wrong > 0 || unlisted > 0 else { return nil }
        var parts: [String] = []
        if wrong > 0 { parts.append("\(counted(wrong, "entry", "entries")) match no good record (the first at offset \(firstWrong ?? 0))") }
        if unlisted > 0 { parts.append(unlisted == 1 ? "1 good record is not listed" : "\(unlisted) good records are not listed") }
        return "index file disagrees with its segment: " + parts.joined(separator: ", ")
    }
}
